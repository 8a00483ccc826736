/**
 * The session filter on the controller's side, with the agent's semantics (DESIGN section 2): a
 * user name pattern (`*` any run of characters, `?` one; case-insensitive; matched against the
 * user name alone and against `DOMAIN\user`), a set of states, and a minimum idle time, which an
 * unknown idle time never meets. `wmsctl get` filters with it (ListSessions has no filter), warn,
 * then act checks that a session still matches with it, and `wmsctl` checks a pattern with it
 * before anything is sent. The same rules as the agent's `compileFilter`; a unit test holds the
 * two to the same answers.
 */
import { compileWildcard, type WildcardPattern } from "../common/wildcard.js";
import type { Duration } from "../proto/gen/google/protobuf/duration.js";
import {
  SessionState,
  sessionStateToJSON,
  type Session,
  type SessionFilter,
} from "../proto/gen/wms/v1/wms_session.js";

/** The longest user name pattern the agent accepts, in characters. */
export const MAX_USER_PATTERN_CHARS = 256;

/** Characters Windows never allows in a user or domain name (`*` and `?` are the wildcards). */
const FORBIDDEN_IN_PATTERN = /["/[\]:;|=,+<>\p{Cc}]/u;

/** A checked filter. */
export interface ClientFilter {
  /** Whether the session matches every part of the filter, `idleMs` being its idle time. */
  matches(session: Session, idleMs: number | undefined): boolean;
  /**
   * Why the session does not match, in words (`"it is ACTIVE, not DISCONNECTED"`); `undefined`
   * when it matches.
   */
  mismatch(session: Session, idleMs: number | undefined): string | undefined;
  /** Whether the filter has a minimum idle time. */
  readonly minIdleMs: number | undefined;
}

/** A state's name without its prefix: `ACTIVE`, `DISCONNECTED`. */
export const stateName = (state: SessionState): string =>
  sessionStateToJSON(state).replace(/^SESSION_STATE_/, "");

/**
 * Checks a user name pattern and compiles it into a matcher whose work is bounded by name length
 * × pattern length (common/wildcard.ts, the agent's own): a pattern such as `*?*?*?…!` costs no
 * more than any other, where a regular expression would backtrack for seconds.
 * @throws TypeError for a pattern the agent refuses (too long, a character no Windows user name
 *   has, more than one `\`), naming the rule.
 */
export function compileUserPattern(pattern: string): WildcardPattern {
  if ([...pattern].length > MAX_USER_PATTERN_CHARS) {
    throw new TypeError(`user name pattern: longer than ${MAX_USER_PATTERN_CHARS} characters`);
  }
  const bad = FORBIDDEN_IN_PATTERN.exec(pattern);
  if (bad !== null) {
    throw new TypeError(
      `user name pattern: character ${JSON.stringify(bad[0])} cannot appear in a Windows user name`,
    );
  }
  if (pattern.split("\\").length > 2) {
    throw new TypeError('user name pattern: at most one "\\" (DOMAIN\\user)');
  }
  return compileWildcard(pattern);
}

/** The longest group name pattern, in characters (Windows group names have at most 256). */
export const MAX_GROUP_PATTERN_CHARS = 256;

/**
 * Checks a group name pattern (`LAB\Teachers`, `*\Staff`, `Teach*`) and compiles it with the same
 * bounded matcher as user name patterns; it is matched, without regard to case, against the whole
 * `DOMAIN\Group` name and against the group's name alone.
 * @throws TypeError for an empty or too long pattern, a character no Windows group name has, or
 *   more than one `\`, naming the rule.
 */
export function compileGroupPattern(pattern: string): WildcardPattern {
  if (pattern === "") throw new TypeError("group name pattern: empty");
  if ([...pattern].length > MAX_GROUP_PATTERN_CHARS) {
    throw new TypeError(`group name pattern: longer than ${MAX_GROUP_PATTERN_CHARS} characters`);
  }
  const bad = FORBIDDEN_IN_PATTERN.exec(pattern);
  if (bad !== null) {
    throw new TypeError(
      `group name pattern: character ${JSON.stringify(bad[0])} cannot appear in a Windows group name`,
    );
  }
  if (pattern.split("\\").length > 2) {
    throw new TypeError('group name pattern: at most one "\\" (DOMAIN\\Group)');
  }
  return compileWildcard(pattern);
}

/** What a session's groups say about a list of group patterns. */
export type GroupMembership =
  /** The user is in `group`, which `pattern` names. */
  | { readonly kind: "member"; readonly group: string; readonly pattern: string }
  /** The user is in none of the groups the patterns name (the agent knows the user's groups). */
  | { readonly kind: "not-member" }
  /** The agent does not know the user's groups: the user may be in any of them. */
  | { readonly kind: "unknown"; readonly why: string };

/**
 * Whether a session's user is in a group that one of `patterns` names (compiled by
 * {@link compileGroupPattern}). Groups the agent did not know (`groups_known` false: an older
 * agent, a token it could not read, nobody logged on) are `unknown`, never `not-member`: a
 * caller that spares members must spare these too.
 */
export function groupMembership(
  session: Session,
  patterns: readonly { readonly pattern: string; readonly matcher: WildcardPattern }[],
): GroupMembership {
  if (!session.groupsKnown) {
    return {
      kind: "unknown",
      why:
        session.note !== ""
          ? session.note
          : "the agent does not report group membership (older than groups)",
    };
  }
  for (const group of session.groups) {
    const name = group.slice(group.indexOf("\\") + 1);
    for (const { pattern, matcher } of patterns) {
      if (matcher.test(group) || matcher.test(name)) return { kind: "member", group, pattern };
    }
  }
  return { kind: "not-member" };
}

/** A protobuf `Duration` in milliseconds; `undefined` when unset. */
export function durationMs(duration: Duration | undefined): number | undefined {
  return duration === undefined
    ? undefined
    : duration.seconds * 1000 + Math.floor(duration.nanos / 1_000_000);
}

/**
 * A session's idle time as the agent answered it (`idle_time`, computed by the agent when it
 * listed the session: no clock skew), else from `last_input_time` and `nowMs` (Unix ms);
 * `undefined` when neither is known.
 */
export function idleMsOf(session: Session, nowMs: number): number | undefined {
  const idle = durationMs(session.idleTime);
  if (idle !== undefined) return idle;
  const last = session.lastInputTime?.getTime();
  return last === undefined ? undefined : Math.max(0, nowMs - last);
}

/**
 * A session's idle time now, for a view kept up to date over time (a watch): from
 * `last_input_time` and `nowMs` (Unix ms), else the `idle_time` answered with it.
 */
export function liveIdleMsOf(session: Session, nowMs: number): number | undefined {
  const last = session.lastInputTime?.getTime();
  return last === undefined ? durationMs(session.idleTime) : Math.max(0, nowMs - last);
}

/** `1h30m`, `45s`: a duration in words for messages. */
export function describeMs(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const parts: string[] = [];
  const units: [number, string][] = [
    [86_400, "d"],
    [3600, "h"],
    [60, "m"],
  ];
  let rest = seconds;
  for (const [size, unit] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join("");
}

/**
 * Checks a filter and compiles it; no filter matches every session.
 * @throws TypeError for a malformed pattern, an unknown state or a negative idle time.
 */
export function compileSessionFilter(filter: SessionFilter | undefined): ClientFilter {
  const pattern = filter?.userNamePattern ?? "";
  const user = pattern === "" ? undefined : compileUserPattern(pattern);
  const states = new Set(filter?.states ?? []);
  for (const state of states) {
    if (!Number.isInteger(state) || state < SessionState.ACTIVE || state > SessionState.INIT) {
      throw new TypeError(`session state ${String(state)} is not one of ACTIVE..INIT`);
    }
  }
  const minIdleMs = durationMs(filter?.minIdleTime);
  if (minIdleMs !== undefined && !(minIdleMs >= 0)) {
    throw new TypeError(`minimum idle time ${minIdleMs} ms is negative`);
  }
  const mismatch = (session: Session, idleMs: number | undefined): string | undefined => {
    if (states.size > 0 && !states.has(session.state)) {
      const wanted = [...states].map(stateName).join(" or ");
      return `it is ${stateName(session.state)}, not ${wanted}`;
    }
    if (minIdleMs !== undefined && minIdleMs > 0) {
      if (idleMs === undefined) return "its idle time is unknown, which is never idle";
      if (idleMs < minIdleMs) {
        return `it has been idle ${describeMs(idleMs)}, less than ${describeMs(minIdleMs)}`;
      }
    }
    if (user !== undefined) {
      const qualified =
        session.domainName === "" ? session.userName : `${session.domainName}\\${session.userName}`;
      if (!user.test(session.userName) && !user.test(qualified)) {
        return `its user ${qualified} does not match ${pattern}`;
      }
    }
    return undefined;
  };
  return {
    minIdleMs,
    mismatch,
    matches: (session, idleMs) => mismatch(session, idleMs) === undefined,
  };
}
