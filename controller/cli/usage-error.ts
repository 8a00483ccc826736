/**
 * Input the command cannot act on: a bad flag, name, file, id or standard input. `wmsctl` prints
 * the message and exits with status 2 before anything is sent.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
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
} as const;
