/**
 * The `simulated` session backend: a MultiPoint host in memory (DESIGN section 4), the default
 * off Windows and the backend of every test and benchmark.
 *
 * It behaves as Remote Desktop Services does where the agent can tell the difference: sessions in
 * id order, 7022 for unknown sessions, 7045 for listeners and sessions that are down, initialising
 * or resetting, success for a session that is already disconnected, client name cleared on
 * disconnect, 1722 while the service is stopped. A process's session is the
 * `WMSFLEET_SIM_SESSION` variable of that real process (`/proc/<pid>/environ`), so protection of
 * the caller's session works end to end with real processes on Linux.
 */
import { isSessionId } from "../../common/session-id.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import {
  Win32Error,
  type BackendSession,
  type DisconnectOptions,
  type SessionBackend,
} from "../sessions/backend.js";
import { Win32 } from "../sessions/win32-errors.js";
import { sessionFromEnviron } from "./environ-sessions.js";
import { defaultSimFixture, type SimFixture, type SimSession } from "./sim-fixture.js";

/** The environment variable that names a process's simulated session. */
export const SIM_SESSION_ENV = "WMSFLEET_SIM_SESSION";

/** Options of {@link createSimulatedBackend}. */
export interface SimulatedBackendOptions {
  /** The host to simulate. @default the shipped classroom ({@link defaultSimFixture}) */
  readonly fixture?: SimFixture;
  /** The clock idle times grow with, in milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Where processes' environments are read (`<procRoot>/<pid>/environ`). @default "/proc" */
  readonly procRoot?: string;
  /**
   * The agent's own environment, consulted by `agentSessionId()` for `WMSFLEET_SIM_SESSION`.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Fault injection for the disconnects of one session. */
export interface DisconnectInjection {
  /** Milliseconds each disconnect takes. @default 0 */
  readonly disconnectLatencyMs?: number;
  /** The Win32 error code disconnects fail with. @default none: disconnects succeed */
  readonly disconnectWin32Error?: number;
  /** Fail only the first N disconnects. @default all of them, while the error is set */
  readonly disconnectFailTimes?: number;
}

/** One call of `disconnectSession` that reached the backend. */
export interface DisconnectCall {
  readonly sessionId: number;
  readonly wait: boolean;
}

/** The simulated backend, with the controls tests and benchmarks drive it by. */
export interface SimulatedBackend extends SessionBackend {
  readonly name: "simulated";
  /**
   * Starts or stops the simulated Remote Desktop Services. While unavailable, `listSessions` and
   * `disconnectSession` throw `Win32Error` 1722 and `isHealthy()` is false.
   */
  setAvailable(available: boolean): void;
  /** Sets how long every `listSessions` takes, in milliseconds. */
  setListLatencyMs(latencyMs: number): void;
  /**
   * Replaces the fault injection of one session (an empty object clears it) and restarts its
   * count of failures. The session need not exist yet.
   * @throws TypeError on a negative latency or a code that is not a positive integer.
   */
  inject(sessionId: number, injection: DisconnectInjection): void;
  /** Every call of `disconnectSession` so far, in call order, including refused ones. */
  disconnectCalls(): readonly DisconnectCall[];
  /**
   * Adds a session, as a user logging on would; its idle time grows from now.
   * @throws TypeError when the id is taken or invalid.
   */
  addSession(session: SimSession): void;
  /** Removes a session, as a logoff would. Returns whether it existed. */
  removeSession(sessionId: number): boolean;
}

/**
 * Creates a simulated MultiPoint host from a fixture.
 * @throws TypeError when the fixture has invalid or duplicate session ids or bad injections.
 */
export function createSimulatedBackend(options: SimulatedBackendOptions = {}): SimulatedBackend {
  return new Simulated(options);
}

/** States in which Remote Desktop Services refuses a disconnect with 7045. */
const NOT_DISCONNECTABLE: ReadonlySet<SessionState> = new Set([
  SessionState.LISTEN,
  SessionState.DOWN,
  SessionState.INIT,
  SessionState.RESET,
]);

/** The system messages of the codes a disconnect meets, as `FormatMessage` gives them. */
const SYSTEM_MESSAGES: ReadonlyMap<number, string> = new Map([
  [Win32.ERROR_FILE_NOT_FOUND, "The system cannot find the file specified."],
  [Win32.ERROR_ACCESS_DENIED, "Access is denied."],
  [Win32.RPC_S_SERVER_UNAVAILABLE, "The RPC server is unavailable."],
  [Win32.ERROR_CTX_CLOSE_PENDING, "A close operation is pending on the session."],
  [Win32.ERROR_CTX_WINSTATION_NOT_FOUND, "The specified session cannot be found."],
  [
    Win32.ERROR_CTX_WINSTATION_BUSY,
    "The requested operation cannot be completed because the terminal connection is currently " +
      "busy processing a connect, disconnect, reset, or delete operation.",
  ],
  [Win32.ERROR_CTX_WINSTATION_ACCESS_DENIED, "The requested session access is denied."],
]);

interface LiveSession {
  readonly sessionId: number;
  state: SessionState;
  readonly userName: string;
  readonly domainName: string;
  readonly stationName: string;
  clientName: string;
  readonly logonTimeMs: number | undefined;
  readonly idleSeconds: number | undefined;
  /** The clock reading the idle time grows from. */
  readonly sinceMs: number;
}

interface Injection {
  readonly latencyMs: number;
  readonly win32Error: number | undefined;
  readonly failTimes: number | undefined;
  failures: number;
}

/** A disconnect under way; concurrent disconnects of the same session join it. */
interface Operation {
  readonly promise: Promise<void>;
  readonly timer: NodeJS.Timeout;
  readonly reject: (error: Win32Error) => void;
}

/** A `listSessions` latency under way. */
interface Delay {
  readonly timer: NodeJS.Timeout;
  readonly reject: (error: Win32Error) => void;
}

class Simulated implements SimulatedBackend {
  readonly name = "simulated";
  readonly #now: () => number;
  readonly #procRoot: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #fixtureAgentSessionId: number | undefined;
  readonly #sessions = new Map<number, LiveSession>();
  readonly #injections = new Map<number, Injection>();
  readonly #operations = new Map<number, Operation>();
  readonly #delays = new Set<Delay>();
  readonly #calls: DisconnectCall[] = [];
  #listLatencyMs: number;
  #available = true;
  #closed = false;

  constructor(options: SimulatedBackendOptions) {
    const fixture = options.fixture ?? defaultSimFixture();
    this.#now = options.now ?? Date.now;
    this.#env = options.env ?? process.env;
    if (fixture.agentSessionId !== undefined) {
      checkSessionId(fixture.agentSessionId, "fixture.agentSessionId");
    }
    this.#fixtureAgentSessionId = fixture.agentSessionId;
    this.#listLatencyMs = checkLatency(fixture.listLatencyMs ?? 0, "fixture.listLatencyMs");
    for (const session of fixture.sessions) this.addSession(session);
    this.#procRoot = options.procRoot ?? "/proc";
  }

  async listSessions(): Promise<BackendSession[]> {
    this.#checkAvailable("WTSEnumerateSessions");
    if (this.#listLatencyMs > 0) await this.#delay(this.#listLatencyMs);
    const now = this.#now();
    return [...this.#sessions.values()]
      .sort((a, b) => a.sessionId - b.sessionId)
      .map((session) => ({
        sessionId: session.sessionId,
        state: session.state,
        userName: session.userName,
        domainName: session.domainName,
        stationName: session.stationName,
        clientName: session.clientName,
        logonTime: session.logonTimeMs === undefined ? undefined : new Date(session.logonTimeMs),
        idleTimeMs:
          session.idleSeconds === undefined
            ? undefined
            : Math.round(session.idleSeconds * 1000) + Math.max(0, now - session.sinceMs),
      }));
  }

  async disconnectSession(sessionId: number, options: DisconnectOptions): Promise<void> {
    this.#calls.push({ sessionId, wait: options.wait });
    const call = `WTSDisconnectSession(${sessionId})`;
    this.#checkAvailable(call);
    const running = this.#operations.get(sessionId);
    if (running !== undefined) {
      // The OS serialises operations on one WinStation: a second disconnect rides on the first.
      if (!options.wait) return;
      running.timer.ref();
      return running.promise;
    }
    const session = this.#sessions.get(sessionId);
    if (session === undefined) throw win32Error(Win32.ERROR_CTX_WINSTATION_NOT_FOUND, call);
    if (NOT_DISCONNECTABLE.has(session.state)) {
      throw win32Error(Win32.ERROR_CTX_WINSTATION_ACCESS_DENIED, call);
    }
    const injection = this.#injections.get(sessionId);
    let failure: number | undefined;
    if (
      injection?.win32Error !== undefined &&
      (injection.failTimes === undefined || injection.failures < injection.failTimes)
    ) {
      injection.failures++;
      failure = injection.win32Error;
    }
    const latencyMs = injection?.latencyMs ?? 0;
    // Without waiting the OS still refuses at once; only the state change is left to happen.
    if (failure !== undefined && (latencyMs === 0 || !options.wait)) {
      throw win32Error(failure, call);
    }
    if (latencyMs === 0) {
      disconnect(session);
      return;
    }
    const operation = this.#start(session, latencyMs, failure, call);
    if (!options.wait) {
      operation.timer.unref();
      return;
    }
    return operation.promise;
  }

  sessionOfProcess(pid: number): Promise<number | undefined> {
    try {
      return Promise.resolve(
        sessionFromEnviron(this.#procRoot, pid, SIM_SESSION_ENV, parseSessionId),
      );
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  agentSessionId(): Promise<number> {
    const own = this.#env[SIM_SESSION_ENV];
    const parsed = own === undefined ? undefined : parseSessionId(own);
    return Promise.resolve(parsed ?? this.#fixtureAgentSessionId ?? 0);
  }

  isHealthy(): Promise<boolean> {
    return Promise.resolve(this.#available && !this.#closed);
  }

  close(): Promise<void> {
    this.#closed = true;
    const closed = (): Win32Error =>
      new Win32Error(Win32.RPC_S_SERVER_UNAVAILABLE, "the simulated backend was closed");
    for (const operation of this.#operations.values()) {
      clearTimeout(operation.timer);
      operation.reject(closed());
    }
    this.#operations.clear();
    for (const delay of this.#delays) {
      clearTimeout(delay.timer);
      delay.reject(closed());
    }
    this.#delays.clear();
    return Promise.resolve();
  }

  setAvailable(available: boolean): void {
    this.#available = available;
  }

  setListLatencyMs(latencyMs: number): void {
    this.#listLatencyMs = checkLatency(latencyMs, "listLatencyMs");
  }

  inject(sessionId: number, injection: DisconnectInjection): void {
    const where = `inject(${sessionId})`;
    const { disconnectLatencyMs, disconnectWin32Error, disconnectFailTimes } = injection;
    if (disconnectWin32Error !== undefined && !isPositiveInteger(disconnectWin32Error)) {
      throw new TypeError(`${where}: disconnectWin32Error must be a positive integer`);
    }
    if (
      disconnectFailTimes !== undefined &&
      !(Number.isSafeInteger(disconnectFailTimes) && disconnectFailTimes >= 0)
    ) {
      throw new TypeError(`${where}: disconnectFailTimes must be a non-negative integer`);
    }
    this.#injections.set(sessionId, {
      latencyMs: checkLatency(disconnectLatencyMs ?? 0, `${where}: disconnectLatencyMs`),
      win32Error: disconnectWin32Error,
      failTimes: disconnectFailTimes,
      failures: 0,
    });
  }

  disconnectCalls(): readonly DisconnectCall[] {
    return [...this.#calls];
  }

  addSession(session: SimSession): void {
    const where = `session ${session.sessionId}`;
    checkSessionId(session.sessionId, `${where}: sessionId`);
    if (this.#sessions.has(session.sessionId)) {
      throw new TypeError(`${where}: a session with this id already exists`);
    }
    if (!(session.state >= SessionState.ACTIVE && session.state <= SessionState.INIT)) {
      throw new TypeError(`${where}: state ${session.state} is not a WTS connect state`);
    }
    if (
      session.idleSeconds !== undefined &&
      !(Number.isFinite(session.idleSeconds) && session.idleSeconds >= 0)
    ) {
      throw new TypeError(`${where}: idleSeconds must be a non-negative number`);
    }
    const logonTimeMs = session.logonTime?.getTime();
    if (logonTimeMs !== undefined && Number.isNaN(logonTimeMs)) {
      throw new TypeError(`${where}: logonTime is an invalid date`);
    }
    const injection = {
      ...(session.disconnectLatencyMs !== undefined && {
        disconnectLatencyMs: session.disconnectLatencyMs,
      }),
      ...(session.disconnectWin32Error !== undefined && {
        disconnectWin32Error: session.disconnectWin32Error,
      }),
      ...(session.disconnectFailTimes !== undefined && {
        disconnectFailTimes: session.disconnectFailTimes,
      }),
    };
    if (Object.keys(injection).length > 0) this.inject(session.sessionId, injection);
    this.#sessions.set(session.sessionId, {
      sessionId: session.sessionId,
      state: session.state,
      userName: session.userName ?? "",
      domainName: session.domainName ?? "",
      stationName: session.stationName ?? "",
      clientName: session.clientName ?? "",
      logonTimeMs,
      idleSeconds: session.idleSeconds,
      sinceMs: this.#now(),
    });
  }

  removeSession(sessionId: number): boolean {
    return this.#sessions.delete(sessionId);
  }

  #checkAvailable(call: string): void {
    if (this.#closed || !this.#available) {
      throw win32Error(Win32.RPC_S_SERVER_UNAVAILABLE, call);
    }
  }

  /** Starts a disconnect that completes, or fails, when its latency has elapsed. */
  #start(
    session: LiveSession,
    latencyMs: number,
    failure: number | undefined,
    call: string,
  ): Operation {
    let resolve!: () => void;
    let reject!: (error: Win32Error) => void;
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // Callers that do not wait never see the outcome; keep their rejections from going unhandled.
    promise.catch(() => undefined);
    const timer = setTimeout(() => {
      this.#operations.delete(session.sessionId);
      if (this.#sessions.get(session.sessionId) !== session) {
        // Logged off while the disconnect was under way.
        reject(win32Error(Win32.ERROR_FILE_NOT_FOUND, call));
      } else if (failure !== undefined) {
        reject(win32Error(failure, call));
      } else {
        disconnect(session);
        resolve();
      }
    }, latencyMs);
    const operation = { promise, timer, reject };
    this.#operations.set(session.sessionId, operation);
    return operation;
  }

  #delay(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const delay: Delay = {
        timer: setTimeout(() => {
          this.#delays.delete(delay);
          resolve();
        }, ms),
        reject,
      };
      this.#delays.add(delay);
    });
  }
}

/** What Windows does to a session it disconnects: the client goes, the client name with it. */
function disconnect(session: LiveSession): void {
  session.state = SessionState.DISCONNECTED;
  session.clientName = "";
}

function win32Error(code: number, call: string): Win32Error {
  const text = SYSTEM_MESSAGES.get(code) ?? `Win32 error ${code}.`;
  return new Win32Error(code, `${call}: ${text}`);
}

/** A session id from text: a decimal uint32 other than `WTS_CURRENT_SESSION`. */
function parseSessionId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const id = Number(text);
  return isSessionId(id) ? id : undefined;
}

function checkSessionId(id: number, where: string): void {
  if (!isSessionId(id)) {
    throw new TypeError(`${where}: ${id} is not a session id (an integer 0..4294967294)`);
  }
}

function checkLatency(ms: number, where: string): number {
  if (!(Number.isFinite(ms) && ms >= 0 && ms <= 0x7fffffff)) {
    throw new TypeError(`${where}: ${ms} is not a latency in milliseconds (0..2147483647)`);
  }
  return ms;
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}
