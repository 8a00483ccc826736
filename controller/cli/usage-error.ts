/**
 * Input the command cannot act on: a bad flag, name, file, id or standard input. `wmsctl` prints
 * the message and exits with status 2 before anything is sent.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * The person interrupted the run (Ctrl-C), also where no SIGINT is raised: a prompt that reads the
 * terminal in raw mode sees Ctrl-C as a key. `wmsctl` says `interrupted` and exits 130.
 */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  /** Where: `prompt` when at the `--confirm` prompt (nothing was changed yet). */
  readonly at: "prompt" | "run";
  constructor(at: "prompt" | "run", options?: { cause?: unknown }) {
    super("interrupted", options);
    this.at = at;
  }
}

/** Exit statuses of `wmsctl` (DESIGN section 6). */
export const ExitStatus = {
  /** Everything succeeded. */
  OK: 0,
  /** Some session or host failed. */
  FAILED: 1,
  /** Usage or input error; nothing was sent. */
  USAGE: 2,
  /** The only failures were hosts that could not be reached or timed out. */
  UNREACHABLE: 3,
  /** Interrupted (Ctrl-C): 128 + SIGINT. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM: 128 + SIGTERM. */
  TERMINATED: 143,
} as const;
