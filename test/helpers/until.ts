/**
 * Waiting for a condition instead of sleeping: the condition is checked now and again after every
 * `everyMs` milliseconds (0, the default: at every turn of the event loop) until it holds. The
 * test's own timeout bounds the wait; with the test's `signal`, a wait that is given up says what
 * it was waiting for.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";

/** Options of {@link until}. */
export interface UntilOptions {
  /** What is awaited, for the message of a wait given up. */
  readonly what?: string;
  /** Milliseconds between checks; 0 checks at every turn of the event loop. @default 0 */
  readonly everyMs?: number;
  /** The test's signal (`t.signal`): its abort gives up the wait. */
  readonly signal?: AbortSignal;
}

/** Resolves once `condition()` holds. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  options: UntilOptions = {},
): Promise<void> {
  const everyMs = options.everyMs ?? 0;
  while (!(await condition())) {
    if (options.signal?.aborted === true) {
      throw new Error(`gave up waiting${options.what === undefined ? "" : `: ${options.what}`}`);
    }
    await (everyMs === 0 ? nextTurn() : sleep(everyMs));
  }
}
