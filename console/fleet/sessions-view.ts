/**
 * The wire's `Session` as the API shows it ({@link ApiSession}): names instead of enum numbers,
 * ISO times, and the idle time computed now from `last_input_time` (idle time changes every
 * second and is no change on the watch stream: each reader computes it).
 */
import {
  ChangeKind,
  Protection,
  protectionToJSON,
  sessionStateToJSON,
  type Session,
} from "../../proto/gen/wms/v1/wms_session.js";
import type { ApiSession, ApiSessionChange, ApiSessionState } from "../api/types.js";

/** The state's API name: `ACTIVE`, `DISCONNECTED`, … */
export function stateName(session: Session): ApiSessionState {
  return sessionStateToJSON(session.state).replace(/^SESSION_STATE_/, "") as ApiSessionState;
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
    protection:
      session.protection === Protection.UNSPECIFIED
        ? null
        : protectionToJSON(session.protection).replace(/^PROTECTION_/, ""),
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
