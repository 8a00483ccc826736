/**
 * The one error type of the API's handlers: a code of {@link API_ERROR_STATUS} and a message for
 * the caller. The server's error handler turns it (and fastify's own errors) into
 * `{ "error": { "code", "message" } }` with the code's status; anything else is `internal`,
 * its stack in the log and never in the answer.
 */
import { API_ERROR_STATUS, type ApiErrorBody, type ApiErrorCode } from "./types.js";

/** An error answered to the caller as it is. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.headers = headers;
  }

  /** The HTTP status of the code. */
  get status(): number {
    return API_ERROR_STATUS[this.code];
  }

  /** The response body. */
  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  /** A `bad_request` naming the field at fault. */
  static badRequest(message: string): ApiError {
    return new ApiError("bad_request", message);
  }
}
