/**
 * The clock and timers of the simulated backend and its activity model. Injected, so that a test
 * (or a replay of a seeded activity) moves simulated time forward by itself instead of waiting for
 * real time to pass.
 */

/** A timer of a {@link SimClock}; `ref`/`unref` as Node.js timers (no-ops on a manual clock). */
export interface SimTimer {
  ref(): unknown;
  unref(): unknown;
}

/** Time and timers, in milliseconds. */
export interface SimClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once, `ms` milliseconds from now. */
  setTimeout(callback: () => void, ms: number): SimTimer;
  clearTimeout(timer: SimTimer): void;
}

/** Real time: `Date.now` and Node.js timers. */
export const realClock: SimClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** A clock that moves only when told to, for tests and replays. */
export interface ManualClock extends SimClock {
  /**
   * Moves time forward by `ms`, running every timer that falls due on the way, in order of due
   * time (timers due at the same moment in the order they were set). Timers set by those
   * callbacks run too when they fall due within the step.
   */
  advance(ms: number): void;
  /** Timers set and not yet run or cleared. */
  pending(): number;
}

interface ManualTimer extends SimTimer {
  readonly dueMs: number;
  readonly order: number;
  readonly callback: () => void;
}

/** Creates a {@link ManualClock} that starts at `startMs` (milliseconds since the epoch). */
export function createManualClock(startMs = Date.UTC(2026, 2, 10, 8, 0, 0)): ManualClock {
  let nowMs = startMs;
  let order = 0;
  const timers = new Set<ManualTimer>();
  const next = (untilMs: number): ManualTimer | undefined => {
    let first: ManualTimer | undefined;
    for (const timer of timers) {
      if (timer.dueMs > untilMs) continue;
      if (
        first === undefined ||
        timer.dueMs < first.dueMs ||
        (timer.dueMs === first.dueMs && timer.order < first.order)
      ) {
        first = timer;
      }
    }
    return first;
  };
  return {
    now: () => nowMs,
    setTimeout(callback, ms) {
      const timer: ManualTimer = {
        dueMs: nowMs + Math.max(0, ms),
        order: order++,
        callback,
        ref: () => timer,
        unref: () => timer,
      };
      timers.add(timer);
      return timer;
    },
    clearTimeout(timer) {
      timers.delete(timer as ManualTimer);
    },
    advance(ms) {
      if (!(Number.isFinite(ms) && ms >= 0)) {
        throw new RangeError(`advance: ${ms} is not a non-negative number of milliseconds`);
      }
      const untilMs = nowMs + ms;
      for (let timer = next(untilMs); timer !== undefined; timer = next(untilMs)) {
        timers.delete(timer);
        nowMs = Math.max(nowMs, timer.dueMs);
        timer.callback();
      }
      nowMs = untilMs;
    },
    pending: () => timers.size,
  };
}
