/**
 * Parsers of command-line values: session ids, counts, seconds, durations and session states.
 * Each throws a {@link UsageError} that names the flag and the value.
 */
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { MAX_SESSION_IDS, WTS_CURRENT_SESSION } from "../../common/session-id.js";
import { UsageError } from "./usage-error.js";

/**
 * A session id: a decimal uint32 other than 4294967295 (`WTS_CURRENT_SESSION`, "the caller's own
 * session" in the Win32 API, which must never reach the OS).
 */
export function parseSessionId(text: string, where: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,10}$/.test(trimmed) || Number(trimmed) > WTS_CURRENT_SESSION) {
    throw new UsageError(`${where}: "${text}" is not a session id (an integer 0..4294967294)`);
  }
  const id = Number(trimmed);
  if (id === WTS_CURRENT_SESSION) {
    throw new UsageError(
      `${where}: 4294967295 is WTS_CURRENT_SESSION ("the caller's own session"), not a session id`,
    );
  }
  return id;
}

/** Session ids from positional arguments (each may be a comma list), duplicates merged. */
export function parseSessionIds(values: readonly string[], where: string): number[] {
  const ids = values.flatMap((value) =>
    value
      .split(",")
      .filter((part) => part.trim() !== "")
      .map((part) => parseSessionId(part, where)),
  );
  const unique = [...new Set(ids)];
  if (unique.length > MAX_SESSION_IDS) {
    throw new UsageError(
      `${where}: ${unique.length} session ids; at most ${MAX_SESSION_IDS} at once`,
    );
  }
  return unique;
}

/** A whole number within bounds. */
export function parseCount(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag}: "${text}" is not an integer in ${min}..${max}`);
  }
  return Number(text);
}

/** Seconds, fractions allowed, as milliseconds. */
export function parseSecondsAsMs(text: string, flag: string): number {
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new UsageError(`${flag}: "${text}" is not a number of seconds (0 < s ≤ 86400)`);
  }
  return Math.round(seconds * 1000);
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration like `90s`, `30m`, `1h30m`, `2d` (a bare number is seconds), in seconds. */
export function parseDurationSeconds(text: string, flag: string): number {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) {
    throw new UsageError(`${flag}: "${text}" is not a duration (e.g. 90s, 30m, 1h30m, 2d)`);
  }
  let total = 0;
  for (const [, amount = "0", unit = "s"] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit] ?? 1);
  }
  return total;
}

/** Session state names as users type them: `active`, `Disconnected`, `connect-query`, … */
export function parseStates(values: readonly string[], flag: string): SessionState[] {
  const states = values.flatMap((value) => value.split(",")).filter((s) => s.trim() !== "");
  return [
    ...new Set(
      states.map((name) => {
        const key = name.trim().toUpperCase().replace(/-/g, "_");
        const state = (SessionState as unknown as Record<string, number | undefined>)[key];
        if (state === undefined || state <= 0) {
          const known = Object.keys(SessionState)
            .filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED" && k !== "UNRECOGNIZED")
            .map((k) => k.toLowerCase().replace(/_/g, "-"));
          throw new UsageError(`${flag}: unknown state "${name}" (one of ${known.join(", ")})`);
        }
        return state;
      }),
    ),
  ];
}
