/**
 * The wire's `Session` as the API shows it ({@link ApiSession}): names instead of enum numbers,
 * ISO times, and the idle time computed now from `last_input_time` (idle time changes every
 * second and is no change on the watch stream: each reader computes it).
 */
import {
  ChangeKind,
  Outcome,
  outcomeToJSON,
  Protection,
  protectionToJSON,
  SessionState,
  sessionStateToJSON,
  type Session,
} from "../../proto/gen/wms/v1/wms_session.js";
import type { ApiSession, ApiSessionChange, ApiSessionState } from "../api/types.js";

/**
 * An enum's API names: the wire's JSON name without its prefix (`SESSION_STATE_ACTIVE` →
 * `ACTIVE`), made once per value the enum knows (every session of every answer is named: a
 * 1,000-host action names 20,000 outcomes); a value it does not know stays `UNRECOGNIZED`.
 */
function enumNames<T extends number>(
  values: Readonly<Record<string, T | string>>,
  toJSON: (value: T) => string,
  prefix: string,
): (value: T) => string {
  const names = new Map<number, string>();
  for (const value of Object.values(values)) {
    if (typeof value === "number") names.set(value, toJSON(value).replace(prefix, ""));
  }
  return (value) => names.get(value) ?? toJSON(value);
}

const stateNames = enumNames(SessionState, sessionStateToJSON, "SESSION_STATE_");
/** An outcome's API name: `DISCONNECTED`, `WOULD_LOG_OFF`, `PROTECTED`, … */
export const outcomeName = enumNames(Outcome, outcomeToJSON, "OUTCOME_");
const protectionNames = enumNames(Protection, protectionToJSON, "PROTECTION_");

/** The state's API name: `ACTIVE`, `DISCONNECTED`, … */
export function stateName(session: Session): ApiSessionState {
  return stateNames(session.state) as ApiSessionState;
}

/** A protection rule's API name (`AGENT_SESSION`, …), or null for none. */
export function protectionName(protection: Protection): string | null {
  return protection === Protection.UNSPECIFIED ? null : protectionNames(protection);
}

/**
 * Milliseconds since the session's last input: from `last_input_time` when the agent knows it,
 * else the idle time the agent reported; undefined when unknown (never idle for a filter).
 */
export function idleMs(session: Session, nowMs: number): number | undefined {
  const last = session.lastInputTime?.getTime();
  if (last !== undefined) return Math.max(0, nowMs - last);
  const idle = session.idleTime;
  return idle === undefined ? undefined : idle.seconds * 1000 + Math.floor(idle.nanos / 1e6);
}

/** The session as the API shows it, on `host`, at `nowMs`. */
export function apiSession(host: string, session: Session, nowMs: number): ApiSession {
  const idle = idleMs(session, nowMs);
  return {
    host,
    sessionId: session.sessionId,
    state: stateName(session),
    user: session.userName,
    domain: session.domainName,
    station: session.stationName,
    client: session.clientName,
    logonTime: session.logonTime?.toISOString() ?? null,
    lastInputTime: session.lastInputTime?.toISOString() ?? null,
    idleSeconds: idle === undefined ? null : Math.floor(idle / 1000),
    locked: session.locked,
    protection: protectionName(session.protection),
    note: session.note === "" ? null : session.note,
    groups: session.groupsKnown || session.userName === "" ? session.groups : null,
  };
}

/** A watch change as the API shows it. */
export function apiChange(
  host: string,
  kind: ChangeKind,
  session: Session,
  nowMs: number,
): ApiSessionChange {
  if (kind === ChangeKind.REMOVED) return { kind: "removed", host, sessionId: session.sessionId };
  return {
    kind: kind === ChangeKind.ADDED ? "added" : "changed",
    session: apiSession(host, session, nowMs),
  };
}
