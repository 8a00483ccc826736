/**
 * The session backend port: everything the agent needs from the operating system's session
 * manager. Only the adapters in `backends/` touch the OS; the handlers and protection rules see
 * this interface alone.
 */
import type {
  MessageButtons,
  MessageResponse,
  SessionState,
} from "../../proto/gen/wms/v1/wms_session.js";

/** One session as the backend sees it: the raw facts, with no protection decided yet. */
export interface BackendSession {
  readonly sessionId: number;
  readonly state: SessionState;
  readonly userName: string;
  readonly domainName: string;
  /** The WinStation name: `Console`, `RDP-Tcp#4`, `Station 3`, `RDP-Tcp` for a listener, ... */
  readonly stationName: string;
  readonly clientName: string;
  /** When the user logged on; `undefined` when nobody is logged on or it is unknown. */
  readonly logonTime: Date | undefined;
  /**
   * The time of the session's last keyboard or mouse input; `undefined` when unknown (nobody
   * logged on, or a session whose input Windows does not track). Idle time is computed from it by
   * whoever reads it, at the moment it reads it: it is never a property of the session that
   * changes by itself. Unknown is never idle.
   */
  readonly lastInputTime: Date | undefined;
  /** The session's desktop is locked (`WTSINFOEX_LEVEL1` `SessionFlags`). */
  readonly locked: boolean;
  /**
   * Set when the backend could not learn everything about this session (one of its queries
   * failed): what went wrong. The fields it could not read are then empty or unknown.
   */
  readonly note?: string;
  /**
   * The groups the logged-on user belongs to, as `DOMAIN\Group` names, sorted, at most
   * {@link MAX_SESSION_GROUPS}; `undefined` when unknown (nobody logged on, or the backend could
   * not read them: {@link note} says why). Unknown is never "in no group".
   */
  readonly groups?: readonly string[];
}

/**
 * The most groups a session's user may be reported in. A user in more is reported with its groups
 * unknown (never a list cut short, which could leave out the very group that exempts them): 200
 * is far more than a school or lab account has (a few dozen with nested domain groups), and keeps
 * a listing of 20 sessions well under a megabyte.
 */
export const MAX_SESSION_GROUPS = 200;

/**
 * Milliseconds the session has had no input at `nowMs`; `undefined` when its last input is
 * unknown. A last input in the future (clocks disagree) counts as none: 0.
 */
export function idleMsAt(session: BackendSession, nowMs: number): number | undefined {
  const last = session.lastInputTime?.getTime();
  return last === undefined ? undefined : Math.max(0, nowMs - last);
}

/** Whether a user is logged on to the session (a logon screen or a listener has no user). */
export function hasUser(session: BackendSession): boolean {
  return session.userName !== "";
}

/** Options of one disconnect. */
export interface DisconnectOptions {
  /**
   * Wait until the session is disconnected before returning (`WTSDisconnectSession` `bWait`).
   * With `false` the backend returns as soon as the disconnect is started.
   */
  readonly wait: boolean;
}

/** Options of one log-off. */
export interface LogoffOptions {
  /**
   * Wait until the session is logged off before returning (`WTSLogoffSession` `bWait`). With
   * `false` the backend returns as soon as the log-off is started.
   */
  readonly wait: boolean;
}

/** One message box (`WTSSendMessageW`). */
export interface MessageBox {
  /** The title bar text; never empty (the agent fills the default). */
  readonly title: string;
  /** The text: 1 to 4096 characters. */
  readonly text: string;
  /** The buttons; never `UNSPECIFIED` (the agent maps it to `OK`). */
  readonly buttons: MessageButtons;
  /**
   * Whole seconds the box stays on screen before it closes by itself; `undefined`: until the user
   * closes it (only without `wait`).
   */
  readonly timeoutSeconds: number | undefined;
  /**
   * Wait for the user's answer, or the timeout (`bWait`). Without it the backend returns as soon
   * as the box is shown, with `NOT_WAITED`.
   */
  readonly wait: boolean;
}

/** The backends the agent can run with. */
export type BackendName = "wts" | "simulated";

/**
 * The session manager of one host (Remote Desktop Services on Windows, an in-memory MultiPoint
 * host elsewhere).
 *
 * Failures of the OS are thrown as {@link Win32Error} so that both adapters map them to outcomes
 * in one place (`win32-errors.ts`).
 */
export interface SessionBackend {
  readonly name: BackendName;
  /** Every session of the host, in session id order. Throws `Win32Error` when unreachable. */
  listSessions(): Promise<BackendSession[]>;
  /** Disconnects one session. Throws `Win32Error` when the OS refuses. */
  disconnectSession(sessionId: number, options: DisconnectOptions): Promise<void>;
  /** Logs off one session. Throws `Win32Error` when the OS refuses. */
  logoffSession(sessionId: number, options: LogoffOptions): Promise<void>;
  /**
   * Shows a message box in one session and resolves with the user's answer, `TIMEOUT` when the
   * box closed by itself first, or `NOT_WAITED` without `wait`. Throws `Win32Error` when the OS
   * refuses.
   */
  sendMessage(sessionId: number, box: MessageBox): Promise<MessageResponse>;
  /**
   * Subscribes to the backend's own news of session changes (a logon, a lock, a disconnect, ...):
   * `listener` is called, with no detail, whenever the sessions may have changed, and the caller
   * lists them again to see what did. Returns the function that unsubscribes. Backends that
   * cannot tell leave it out; the agent then relies on its periodic re-enumeration alone.
   */
  watchChanges?(listener: () => void): () => void;
  /**
   * News of a session change that reached the agent by another way than the backend's own: the
   * Windows service's `SESSIONCHANGE` (logon, log-off, lock, unlock, connect, disconnect, with the
   * session id), which tells of locks and unlocks that `WTSWaitSystemEvent` does not. The backend
   * passes it to its {@link watchChanges} listeners, so that the watch lists the sessions again
   * at once. Backends without a change stream leave it out.
   */
  reportSessionChange?(change: { readonly kind: string; readonly sessionId: number }): void;
  /**
   * The session a process runs in (protection rule 3); `undefined` when it runs in none (never
   * on Windows; the simulated backend's processes without `WMSFLEET_SIM_SESSION`). Rejects when
   * the process is gone or cannot be asked: rule 3 then fails closed, never assumes "none".
   */
  sessionOfProcess(pid: number): Promise<number | undefined>;
  /** The session the agent's own process runs in (0 when it runs as a service). */
  agentSessionId(): Promise<number>;
  /** Whether the session manager answers; the agent is `NOT_SERVING` while it does not. */
  isHealthy(): Promise<boolean>;
  /** Releases what the backend holds (timers, handles). */
  close(): Promise<void>;
}

/** A failure reported by the OS as a Win32 error code (`GetLastError`). */
export class Win32Error extends Error {
  override readonly name = "Win32Error";
  constructor(
    /** The Win32 error code, e.g. 7022 (`ERROR_CTX_WINSTATION_NOT_FOUND`). */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
