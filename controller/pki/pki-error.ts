/**
 * The one error type of `controller/pki`: a name that cannot be certified, a file that exists or
 * cannot be read, a CA that is not one. Its message names the file or value; `wmsctl pki` prints
 * it and exits with status 2.
 */
export class PkiError extends Error {
  override readonly name = "PkiError";

  /** The file the error is about, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.path = options?.path;
  }

  /** Normalises a caught value: a `PkiError` as is, anything else wrapped with `context`. */
  static from(error: unknown, context: string, path?: string): PkiError {
    if (error instanceof PkiError) return error;
    const text = error instanceof Error ? error.message : String(error);
    return new PkiError(`${context}: ${text}`, {
      ...(path === undefined ? {} : { path }),
      cause: error,
    });
  }
}
