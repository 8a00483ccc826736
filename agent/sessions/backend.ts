/**
 * The session backend port: everything the agent needs from the operating system's session
 * manager. Only the adapters in `backends/` touch the OS; the handlers and protection rules see
 * this interface alone.
 */
import type { SessionState } from "../../proto/gen/wms/v1/wms_session.js";

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
  /** Milliseconds since the session's last input; `undefined` when unknown. */
  readonly idleTimeMs: number | undefined;
}

/** Options of one disconnect. */
export interface DisconnectOptions {
  /**
   * Wait until the session is disconnected before returning (`WTSDisconnectSession` `bWait`).
   * With `false` the backend returns as soon as the disconnect is started.
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
