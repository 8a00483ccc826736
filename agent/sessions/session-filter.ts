/**
 * The filter of `DisconnectAll`, `LogoffAll` and `SendMessage`: a user name pattern (`*` and `?`, case-insensitive), a set of
 * states and a minimum idle time. Validation and matching are pure so they are unit-tested alone.
 */
import type { Duration } from "../../proto/gen/google/protobuf/duration.js";
import { SessionState, type SessionFilter } from "../../proto/gen/wms/v1/wms_session.js";
import { idleMsAt, type BackendSession } from "./backend.js";
import { invalidArgument } from "../server/rpc-error.js";
import { compileWildcard, type WildcardPattern } from "../../common/wildcard.js";

/** Longest accepted user name pattern: a 15-character domain, `\` and a 104-character UPN prefix fit. */
export const MAX_PATTERN_LENGTH = 256;

/** Characters Windows never allows in a user or domain name (`*` and `?` are the wildcards). */
const FORBIDDEN_IN_PATTERN = /["/[\]:;|=,+<>\p{Cc}]/u;

/** A validated filter, ready to match sessions. */
export interface CompiledFilter {
  /** Whether a session matches every part of the filter. */
  matches(session: BackendSession): boolean;
  /** A short description for logs, e.g. `user=stu* states=ACTIVE,IDLE idle>=600s`. */
  readonly description: string;
}

/**
 * Checks a request's filter and compiles it. An absent filter matches everything. Idle time is
 * computed from each session's last input at the moment it is matched, by `now`; a session whose
 * last input is unknown is never idle (it matches a minimum idle time of 0 only).
 * @throws RpcError `INVALID_ARGUMENT` naming the field at fault.
 */
export function compileFilter(
  filter: SessionFilter | undefined,
  now: () => number = Date.now,
): CompiledFilter {
  const pattern = filter?.userNamePattern ?? "";
  const states = filter?.states ?? [];
  const minIdleMs = durationToMs(filter?.minIdleTime, "filter.min_idle_time");
  const userPattern = pattern === "" ? undefined : compilePattern(pattern);
  for (const [index, state] of states.entries()) {
    if (!Number.isInteger(state) || state < SessionState.ACTIVE || state > SessionState.INIT) {
      throw invalidArgument(
        `filter.states[${index}]: ${String(state)} is not a session state (1..10, ACTIVE..INIT)`,
      );
    }
  }
  const stateSet = new Set<SessionState>(states);
  const parts: string[] = [];
  if (pattern !== "") parts.push(`user=${pattern}`);
  if (stateSet.size > 0)
    parts.push(`states=${[...stateSet].map((s) => SessionState[s]).join(",")}`);
  if (minIdleMs !== undefined) parts.push(`idle>=${minIdleMs / 1000}s`);
  return {
    description: parts.length === 0 ? "all" : parts.join(" "),
    matches(session) {
      if (stateSet.size > 0 && !stateSet.has(session.state)) return false;
      if (minIdleMs !== undefined && minIdleMs > 0) {
        const idleMs = idleMsAt(session, now());
        if (idleMs === undefined || idleMs < minIdleMs) return false;
      }
      if (userPattern !== undefined) {
        const qualified =
          session.domainName === ""
            ? session.userName
            : `${session.domainName}\\${session.userName}`;
        if (!userPattern.test(session.userName) && !userPattern.test(qualified)) return false;
      }
      return true;
    },
  };
}

/**
 * Checks a wildcard pattern (`*` any run, `?` one character, case-insensitive) and compiles it
 * into a matcher whose work is bounded by name length × pattern length (see `wildcard.ts`): a
 * hostile pattern such as `*?*?*?…!` costs no more than any other.
 * @throws RpcError `INVALID_ARGUMENT` for patterns no user name could match.
 */
export function compilePattern(pattern: string): WildcardPattern {
  const where = "filter.user_name_pattern";
  if ([...pattern].length > MAX_PATTERN_LENGTH) {
    throw invalidArgument(`${where}: longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  const bad = FORBIDDEN_IN_PATTERN.exec(pattern);
  if (bad !== null) {
    throw invalidArgument(
      `${where}: character ${JSON.stringify(bad[0])} cannot appear in a Windows user name`,
    );
  }
  if (pattern.split("\\").length > 2) {
    throw invalidArgument(`${where}: at most one "\\" (DOMAIN\\user)`);
  }
  return compileWildcard(pattern);
}

/**
 * Most seconds a protobuf `Duration` may hold (about 10,000 years, as `duration.proto` defines
 * it); in milliseconds it is still an exact number.
 */
export const MAX_DURATION_SECONDS = 315_576_000_000;

/**
 * A protobuf `Duration` in milliseconds; `undefined` when unset.
 * @throws RpcError `INVALID_ARGUMENT` for negative, out of range or malformed durations.
 */
export function durationToMs(duration: Duration | undefined, field: string): number | undefined {
  if (duration === undefined) return undefined;
  const { seconds, nanos } = duration;
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw invalidArgument(`${field}: seconds must be a non-negative integer, got ${seconds}`);
  }
  if (seconds > MAX_DURATION_SECONDS) {
    throw invalidArgument(
      `${field}: seconds must be at most ${MAX_DURATION_SECONDS} (the range of a protobuf Duration), got ${seconds}`,
    );
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw invalidArgument(`${field}: nanos must be within 0..999999999, got ${nanos}`);
  }
  return seconds * 1000 + Math.floor(nanos / 1_000_000);
}
