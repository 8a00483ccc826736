/**
 * Parsers of command-line values: session ids, counts, durations and session states.
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

/** The units of a duration on the command line, in milliseconds. */
const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The forms a duration is written in, for error messages and help. */
export const DURATION_FORMS = "30s, 5m, 2h, 1d, 500ms, or combined: 1h30m";

/** How {@link parseDurationMs} reads one flag. */
export interface DurationSpec {
  /**
   * What a bare number means. Unset (the default for every duration flag), a bare number is a
   * usage error: `--min-idle 30` meant as minutes would disconnect a classroom that has been idle
   * for 30 seconds. Only a flag whose unit is in its name sets it (`--timeout SECONDS`, DESIGN
   * section 8).
   */
  readonly bareNumberUnit?: "s";
  /** Whether 0 is refused. @default false */
  readonly positive?: boolean;
  /** The largest value accepted, in milliseconds. */
  readonly maxMs: number;
}

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** `90s`, `1h30m`, `2d`: a duration for messages, in the units it reads best in. */
export function formatDurationMs(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms / 1000;
  let text = "";
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 || text === "" ? `${text}${rest}s` : text;
}

/**
 * The one parser of every duration flag: a number with a unit (`30s`, `5m`, `2h`, `1d`, `500ms`),
 * or several combined (`1h30m`), fractions allowed (`1.5h`), in milliseconds. A bare number is a
 * usage error unless the flag's unit is in its name ({@link DurationSpec.bareNumberUnit}).
 * @throws UsageError naming the flag and the value, and showing the forms.
 */
export function parseDurationMs(text: string, flag: string, spec: DurationSpec): number {
  const trimmed = text.trim().toLowerCase();
  let ms: number;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    if (spec.bareNumberUnit === undefined) {
      throw new UsageError(
        `${flag}: "${text}" has no unit; write ${trimmed}s, ${trimmed}m or ${trimmed}h ` +
          `(a duration: ${DURATION_FORMS})`,
      );
    }
    ms = Number(trimmed) * 1000;
  } else if (DURATION.test(trimmed)) {
    ms = 0;
    for (const [, amount = "0", unit = "s"] of trimmed.matchAll(DURATION_PART)) {
      ms += Number(amount) * (DURATION_UNITS_MS[unit] ?? 1000);
    }
  } else {
    const bare = spec.bareNumberUnit === undefined ? "" : ", or a number of seconds";
    throw new UsageError(`${flag}: "${text}" is not a duration (${DURATION_FORMS}${bare})`);
  }
  ms = Math.round(ms);
  if ((spec.positive === true && ms <= 0) || ms > spec.maxMs) {
    const least = spec.positive === true ? "more than 0" : "0";
    throw new UsageError(
      `${flag}: "${text}" is out of range (${least} to ${formatDurationMs(spec.maxMs)})`,
    );
  }
  return ms;
}

/**
 * `--timeout SECONDS`: a bare number is seconds, because the unit is in the flag's name (as
 * PowerShell's `-TimeoutSec`); a unit is accepted too. At most a day: a host that has not
 * answered in a day will not, and a longer value is a slip of the keyboard.
 */
export const TIMEOUT_FLAG: DurationSpec = {
  bareNumberUnit: "s",
  positive: true,
  maxMs: 86_400_000,
};

/**
 * `--min-idle DURATION`: a unit is required. At most a year: no session is idle for longer, so a
 * bigger value can only be a mistake.
 */
export const MIN_IDLE_FLAG: DurationSpec = { maxMs: 365 * 86_400_000 };

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
