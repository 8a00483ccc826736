/**
 * The sessions this agent logged off recently, so that log-off is idempotent: a retry of a log-off
 * that succeeded finds the session gone (a remote session ends) or back at its logon screen (a
 * station), and is answered `ALREADY_LOGGED_OFF`, a success with nothing to do, instead of
 * `NOT_FOUND` or `NOT_DISCONNECTABLE`. Bounded in entries and in age.
 */
import type { BackendSession } from "./backend.js";

/**
 * Most sessions remembered.
 * @default 1024 — four times the largest host (256 sessions); a retry comes within seconds
 */
export const DEFAULT_LOGOFF_MEMORY_ENTRIES = 1024;

/**
 * How long a log-off is remembered, in milliseconds.
 * @default 600000 (10 minutes) — longer than any client's retries, short enough that a session
 *   id reused by a new station hours later is not mistaken for the one logged off
 */
export const DEFAULT_LOGOFF_MEMORY_MS = 10 * 60_000;

/** One remembered log-off. */
export interface RememberedLogoff {
  /** The session as it was just before it was logged off. */
  readonly session: BackendSession;
  /** When it was logged off (milliseconds since the epoch). */
  readonly atMs: number;
}

/** Options of {@link createLogoffMemory}. */
export interface LogoffMemoryOptions {
  /** @default {@link DEFAULT_LOGOFF_MEMORY_ENTRIES} */
  readonly maxEntries?: number;
  /** @default {@link DEFAULT_LOGOFF_MEMORY_MS} */
  readonly maxAgeMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The recent log-offs of one agent. */
export interface LogoffMemory {
  /** Notes that `session` was logged off now (replacing an earlier note for its id). */
  remember(session: BackendSession): void;
  /** The log-off of `sessionId` remembered, if it is recent enough. */
  recall(sessionId: number): RememberedLogoff | undefined;
  /** How many log-offs are remembered. */
  size(): number;
}

/**
 * Creates an empty memory.
 * @throws TypeError when a bound is not a positive integer.
 */
export function createLogoffMemory(options: LogoffMemoryOptions = {}): LogoffMemory {
  const maxEntries = options.maxEntries ?? DEFAULT_LOGOFF_MEMORY_ENTRIES;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_LOGOFF_MEMORY_MS;
  const now = options.now ?? Date.now;
  for (const [name, value] of [
    ["maxEntries", maxEntries],
    ["maxAgeMs", maxAgeMs],
  ] as const) {
    if (!(Number.isSafeInteger(value) && value > 0)) {
      throw new TypeError(`logoff memory: ${name} must be a positive integer, got ${value}`);
    }
  }
  // A Map iterates in insertion order: the first entry is always the oldest.
  const entries = new Map<number, RememberedLogoff>();
  const expire = (nowMs: number) => {
    for (const [id, entry] of entries) {
      if (nowMs - entry.atMs < maxAgeMs) break;
      entries.delete(id);
    }
  };
  return {
    remember(session) {
      const nowMs = now();
      expire(nowMs);
      entries.delete(session.sessionId);
      entries.set(session.sessionId, { session, atMs: nowMs });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    recall(sessionId) {
      expire(now());
      return entries.get(sessionId);
    },
    size: () => entries.size,
  };
}
