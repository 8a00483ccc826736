/**
 * What the UI shows, as the views use it: a host and a session with times in milliseconds since
 * the epoch, names ready to display. console/ui/api/fleet-api.ts makes these from the API's
 * types (console/api/types.ts); nothing else of the UI sees the wire form.
 */
import { SESSION_STATES, type ApiHostStatus, type ApiSessionState } from "../api/types.js";

/** A host's status as the console sees it (DESIGN section 9). */
export type HostStatus = ApiHostStatus;

/** Every host status, in the order the overview sorts them by severity. */
export const HOST_STATUSES: readonly HostStatus[] = [
  "unreachable",
  "denied",
  "draining",
  "unknown",
  "online",
];

/** One host of the fleet. */
export interface HostView {
  /** The host's FQDN, its identity. */
  readonly name: string;
  readonly status: HostStatus;
  /** Why the host is not online, in the console's words. */
  readonly reason?: string | undefined;
  /** Where the agent is dialled, `ADDRESS:PORT`. */
  readonly address?: string | undefined;
  /** Since when the host has had its status (ms since the epoch). */
  readonly sinceMs?: number | undefined;
  /** The agent's version and backend, once it answered. */
  readonly version?: string | undefined;
  readonly backend?: string | undefined;
  /** When the agent last answered (ms since the epoch). */
  readonly lastAnswerMs?: number | undefined;
  /** When its status or one of its sessions last changed (ms since the epoch). */
  readonly lastChangeMs?: number | undefined;
}

/** Session states as the agent names them, without the `SESSION_STATE_` prefix. */
export { SESSION_STATES };

/** A session state's name. */
export type SessionStateName = ApiSessionState;

/** One session of one host. */
export interface SessionView {
  /** `host#id`: unique in the fleet. */
  readonly key: string;
  readonly host: string;
  readonly sessionId: number;
  readonly user: string;
  readonly domain: string;
  readonly state: SessionStateName;
  readonly locked: boolean;
  /** Last keyboard or mouse input (ms since the epoch); the idle time is counted from it. */
  readonly lastInputMs?: number | undefined;
  /** Idle time as the console computed it, and when (for sessions without a last input time). */
  readonly idleMs?: number | undefined;
  readonly idleAtMs?: number | undefined;
  readonly station: string;
  readonly client: string;
  readonly logonMs?: number | undefined;
  /** Why the agent will never act on this session (its protection rule), if it will not. */
  readonly protection?: string | undefined;
  /** What the agent could not learn about the session, if anything. */
  readonly note?: string | undefined;
  /**
   * The groups of its user (`DOMAIN\Group`, sorted); empty when nobody is logged on; `null` when
   * the agent could not read them (the note says why).
   */
  readonly groups: readonly string[] | null;
}

/** The key of a session in the fleet. */
export function sessionKey(host: string, sessionId: number): string {
  return `${host}#${sessionId}`;
}

/** A session's idle time at `nowMs`, or `undefined` when the agent does not know it. */
export function idleMsAt(session: SessionView, nowMs: number): number | undefined {
  if (session.lastInputMs !== undefined) return Math.max(0, nowMs - session.lastInputMs);
  if (session.idleMs === undefined) return undefined;
  return session.idleMs + Math.max(0, nowMs - (session.idleAtMs ?? nowMs));
}

/** `DOMAIN\user`, or the user alone; empty for a session nobody is logged on to. */
export function qualifiedUser(session: SessionView): string {
  if (session.user === "") return "";
  return session.domain === "" ? session.user : `${session.domain}\\${session.user}`;
}

/**
 * A protection rule in words (`PROTECTION_SERVICES_SESSION` → `services session`); `undefined`
 * for none.
 */
export function protectionWords(protection: string | undefined): string | undefined {
  if (protection === undefined || protection === "" || /UNSPECIFIED$/.test(protection)) {
    return undefined;
  }
  return protection
    .replace(/^PROTECTION_/, "")
    .toLowerCase()
    .replaceAll("_", " ");
}
