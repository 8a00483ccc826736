/**
 * The `simulated` session backend: a MultiPoint host in memory (DESIGN section 4), the default
 * off Windows and the backend of every test and benchmark.
 *
 * It behaves as Remote Desktop Services does where the agent can tell the difference: sessions in
 * id order, 7022 for unknown sessions, 7045 for listeners and sessions that are down, initialising
 * or resetting, success for a session that is already disconnected, client name cleared on
 * disconnect, 1722 while the service is stopped. A log-off ends a remote session (`RDP-Tcp#4`: it
 * is gone) and brings a local station or the console back to its logon screen (`CONNECTED`, nobody
 * logged on, same id). Only a Remote Desktop session has a last input time: Windows does not
 * track the input of console-type sessions (the console, MultiPoint stations), so theirs is
 * always unknown, as the `wts` backend reports it (issue 17). A message box is answered as the session's injection says (by default
 * nobody answers, and a waiting call ends with `TIMEOUT`). Every change of a session (a disconnect,
 * a log-off, an answer, the activity model, a test's `updateSession`) is reported to
 * `watchChanges` listeners.
 *
 * A process's session is the `WMSFLEET_SIM_SESSION` variable of that real process
 * (`/proc/<pid>/environ`), so protection of the caller's session works end to end with real
 * processes on Linux.
 */
import { isSessionId } from "../../common/session-id.js";
import { MessageResponse, SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import {
  MAX_SESSION_GROUPS,
  Win32Error,
  type BackendSession,
  type DisconnectOptions,
  type LogoffOptions,
  type MessageBox,
  type SessionBackend,
} from "../sessions/backend.js";
import { Win32 } from "../sessions/win32-errors.js";
import { sessionFromEnviron } from "./environ-sessions.js";
import { startSimActivity, type SimActivity, type SimActivityOptions } from "./sim-activity.js";
import { realClock, type SimClock, type SimTimer } from "./sim-clock.js";
import {
  defaultSimFixture,
  lastInputRefusal,
  simProtocol,
  type SimFixture,
  type SimProtocol,
  type SimSession,
  type SimSessionUpdate,
} from "./sim-fixture.js";
import {
  checkLatency,
  SESSION_INJECTION_KEYS,
  SimInjections,
  type SessionInjection,
  type SimOperation,
} from "./sim-injection.js";

export type { DisconnectInjection, SessionInjection } from "./sim-injection.js";

/** The environment variable that names a process's simulated session. */
export const SIM_SESSION_ENV = "WMSFLEET_SIM_SESSION";

/** Options of {@link createSimulatedBackend}. */
export interface SimulatedBackendOptions {
  /** The host to simulate. @default the shipped classroom ({@link defaultSimFixture}) */
  readonly fixture?: SimFixture;
  /**
   * Time and timers: latencies, message answers, the activity model, and the conversion of a
   * fixture's `idleSeconds` to a last input time. @default real time
   */
  readonly clock?: SimClock;
  /** Only the clock's reading, keeping real timers. @default `clock.now` */
  readonly now?: () => number;
  /** Where processes' environments are read (`<procRoot>/<pid>/environ`). @default "/proc" */
  readonly procRoot?: string;
  /**
   * The agent's own environment, consulted by `agentSessionId()` for `WMSFLEET_SIM_SESSION`.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Simulated people who log on, work, go idle, lock, come back and log off. @default none */
  readonly activity?: SimActivityOptions;
}

/** One call of `disconnectSession` or `logoffSession` that reached the backend. */
export interface DisconnectCall {
  readonly sessionId: number;
  readonly wait: boolean;
}

/** One call of `sendMessage` that reached the backend. */
export interface MessageCall extends MessageBox {
  readonly sessionId: number;
}

/** The simulated backend, with the controls tests and benchmarks drive it by. */
export interface SimulatedBackend extends SessionBackend {
  readonly name: "simulated";
  /**
   * Starts or stops the simulated Remote Desktop Services. While unavailable, every call that
   * would reach it throws `Win32Error` 1722 and `isHealthy()` is false.
   */
  setAvailable(available: boolean): void;
  /** Sets how long every `listSessions` takes, in milliseconds. */
  setListLatencyMs(latencyMs: number): void;
  /**
   * Replaces the fault injection of one session (an empty object clears it) and restarts its
   * counts of failures. The session need not exist yet.
   * @throws TypeError on a negative latency, a code that is not a positive integer, or an
   *   answer that is not one.
   */
  inject(sessionId: number, injection: SessionInjection): void;
  /** Every call of `disconnectSession` so far, in call order, including refused ones. */
  disconnectCalls(): readonly DisconnectCall[];
  /** Every call of `logoffSession` so far, in call order, including refused ones. */
  logoffCalls(): readonly DisconnectCall[];
  /** Every call of `sendMessage` so far, in call order, including refused ones. */
  messageCalls(): readonly MessageCall[];
  /**
   * Adds a session, as a user logging on or a new connection would.
   * @throws TypeError when the id is taken or a field is invalid.
   */
  addSession(session: SimSession): void;
  /**
   * Changes a session as a user or Windows would (lock, input, reconnect, ...).
   * @throws TypeError when there is no such session or a field is invalid.
   */
  updateSession(sessionId: number, update: SimSessionUpdate): void;
  /** Removes a session, as the end of a remote session would. Returns whether it existed. */
  removeSession(sessionId: number): boolean;
  /**
   * Ends the logon of a session as its user logging off would, with none of the injection of
   * `logoffSession`: a remote session ends, a station returns to its logon screen. Returns
   * whether somebody was logged on.
   */
  endLogon(sessionId: number): boolean;
  /** Every change of a session is reported (see {@link SessionBackend.watchChanges}). */
  watchChanges(listener: () => void): () => void;
  /** Every session as it is now (what `listSessions` answers, without latency or failures). */
  snapshot(): BackendSession[];
  /** The activity model, when one runs. */
  readonly activity: SimActivity | undefined;
}

/**
 * Creates a simulated MultiPoint host from a fixture.
 * @throws TypeError when the fixture has invalid or duplicate session ids or bad injections.
 */
export function createSimulatedBackend(options: SimulatedBackendOptions = {}): SimulatedBackend {
  return new Simulated(options);
}

/** States in which Remote Desktop Services refuses to act on a session with 7045. */
const REFUSED_STATES: ReadonlySet<SessionState> = new Set([
  SessionState.LISTEN,
  SessionState.DOWN,
  SessionState.INIT,
  SessionState.RESET,
]);

/** The system messages of the codes the simulated calls meet, as `FormatMessage` gives them. */
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
  userName: string;
  domainName: string;
  readonly stationName: string;
  /** A Remote Desktop session ends when logged off, and is the only kind with a last input. */
  readonly protocol: SimProtocol;
  clientName: string;
  logonTimeMs: number | undefined;
  /** Always `undefined` for a console-type session. */
  lastInputMs: number | undefined;
  locked: boolean;
  /** The user's groups, sorted; `undefined`: unknown (or nobody logged on). */
  groups: readonly string[] | undefined;
  /** Grows at every log-off, so that an operation started before one can tell. */
  logons: number;
}

/** An operation under way; concurrent calls of the same operation on one session join it. */
interface Operation {
  readonly promise: Promise<void>;
  readonly timer: SimTimer;
  readonly reject: (error: Win32Error) => void;
}

/** A timer that a pending call waits for: released with 1722 when the backend closes. */
interface Pending {
  readonly timer: SimTimer;
  readonly reject: (error: Win32Error) => void;
}

class Simulated implements SimulatedBackend {
  readonly name = "simulated";
  readonly activity: SimActivity | undefined;
  readonly #clock: SimClock;
  readonly #procRoot: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #fixtureAgentSessionId: number | undefined;
  readonly #sessions = new Map<number, LiveSession>();
  readonly #injections = new SimInjections();
  readonly #operations = new Map<string, Operation>();
  readonly #pending = new Set<Pending>();
  /** Answers of message boxes not waited for: cleared, not rejected, on close. */
  readonly #answers = new Set<SimTimer>();
  readonly #listeners = new Set<() => void>();
  readonly #calls = { disconnect: [] as DisconnectCall[], logoff: [] as DisconnectCall[] };
  readonly #messageCalls: MessageCall[] = [];
  #listLatencyMs: number;
  #available = true;
  #closed = false;

  constructor(options: SimulatedBackendOptions) {
    const fixture = options.fixture ?? defaultSimFixture();
    const base = options.clock ?? realClock;
    this.#clock = options.now === undefined ? base : { ...base, now: options.now };
    this.#env = options.env ?? process.env;
    if (fixture.agentSessionId !== undefined) {
      checkSessionId(fixture.agentSessionId, "fixture.agentSessionId");
    }
    this.#fixtureAgentSessionId = fixture.agentSessionId;
    this.#listLatencyMs = checkLatency(fixture.listLatencyMs ?? 0, "fixture.listLatencyMs");
    for (const session of fixture.sessions) this.addSession(session);
    this.#procRoot = options.procRoot ?? "/proc";
    this.activity =
      options.activity === undefined
        ? undefined
        : startSimActivity(this, { ...options.activity, clock: this.#clock });
  }

  async listSessions(): Promise<BackendSession[]> {
    this.#checkAvailable("WTSEnumerateSessions");
    if (this.#listLatencyMs > 0) await this.#delay(this.#listLatencyMs);
    return this.snapshot();
  }

  snapshot(): BackendSession[] {
    return [...this.#sessions.values()]
      .sort((a, b) => a.sessionId - b.sessionId)
      .map((session) => ({
        sessionId: session.sessionId,
        state: session.state,
        userName: session.userName,
        domainName: session.domainName,
        stationName: session.stationName,
        clientName: session.clientName,
        logonTime: toDate(session.logonTimeMs),
        lastInputTime: toDate(session.lastInputMs),
        locked: session.locked,
        ...(session.groups === undefined ? {} : { groups: [...session.groups] }),
        ...(session.groups === undefined && session.userName !== ""
          ? { note: GROUPS_UNKNOWN_NOTE }
          : {}),
      }));
  }

  disconnectSession(sessionId: number, options: DisconnectOptions): Promise<void> {
    this.#calls.disconnect.push({ sessionId, wait: options.wait });
    return this.#operate("disconnect", sessionId, options.wait, (session) => {
      // What Windows does to a session it disconnects: the client goes, the client name with it.
      session.state = SessionState.DISCONNECTED;
      session.clientName = "";
      this.#changed();
    });
  }

  logoffSession(sessionId: number, options: LogoffOptions): Promise<void> {
    this.#calls.logoff.push({ sessionId, wait: options.wait });
    return this.#operate("logoff", sessionId, options.wait, (session) => this.#endLogon(session));
  }

  async sendMessage(sessionId: number, box: MessageBox): Promise<MessageResponse> {
    this.#messageCalls.push({ sessionId, ...box });
    const call = `WTSSendMessageW(${sessionId})`;
    this.#checkAvailable(call);
    const session = this.#actionable(sessionId, call);
    const fault = this.#injections.take("message", sessionId);
    if (fault.latencyMs > 0) await this.#delay(fault.latencyMs);
    if (fault.win32Error !== undefined) throw win32Error(fault.win32Error, call);
    if (this.#sessions.get(sessionId) !== session) {
      throw win32Error(Win32.ERROR_FILE_NOT_FOUND, call);
    }
    const answer = this.#injections.answer(sessionId, box.buttons);
    const timeoutMs = box.timeoutSeconds === undefined ? undefined : box.timeoutSeconds * 1000;
    const answered =
      answer !== undefined && (timeoutMs === undefined || answer.delayMs < timeoutMs);
    const logons = session.logons;
    const input = () => {
      // The user clicked: that is input, unless the session was logged off meanwhile (or is one
      // whose input Windows does not track).
      if (
        this.#sessions.get(sessionId) === session &&
        session.logons === logons &&
        session.protocol === "rdp"
      ) {
        session.lastInputMs = this.#clock.now();
        this.#changed();
      }
    };
    if (!box.wait) {
      if (answered) {
        const timer = this.#clock.setTimeout(() => {
          this.#answers.delete(timer);
          input();
        }, answer.delayMs);
        timer.unref();
        this.#answers.add(timer);
      }
      return MessageResponse.NOT_WAITED;
    }
    if (answered) {
      await this.#delay(answer.delayMs, input);
      return answer.response;
    }
    if (timeoutMs === undefined) {
      // WTSSendMessageW waits for ever here; the agent never asks for it.
      throw new TypeError(`${call}: waiting needs a timeout`);
    }
    await this.#delay(timeoutMs);
    return MessageResponse.TIMEOUT;
  }

  watchChanges(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.activity?.stop();
    this.#listeners.clear();
    const closed = (): Win32Error =>
      new Win32Error(Win32.RPC_S_SERVER_UNAVAILABLE, "the simulated backend was closed");
    for (const operation of this.#operations.values()) {
      this.#clock.clearTimeout(operation.timer);
      operation.reject(closed());
    }
    this.#operations.clear();
    for (const pending of this.#pending) {
      this.#clock.clearTimeout(pending.timer);
      pending.reject(closed());
    }
    this.#pending.clear();
    for (const timer of this.#answers) this.#clock.clearTimeout(timer);
    this.#answers.clear();
    return Promise.resolve();
  }

  setAvailable(available: boolean): void {
    this.#available = available;
  }

  setListLatencyMs(latencyMs: number): void {
    this.#listLatencyMs = checkLatency(latencyMs, "listLatencyMs");
  }

  inject(sessionId: number, injection: SessionInjection): void {
    this.#injections.set(sessionId, injection);
  }

  disconnectCalls(): readonly DisconnectCall[] {
    return [...this.#calls.disconnect];
  }

  logoffCalls(): readonly DisconnectCall[] {
    return [...this.#calls.logoff];
  }

  messageCalls(): readonly MessageCall[] {
    return [...this.#messageCalls];
  }

  addSession(session: SimSession): void {
    const where = `session ${session.sessionId}`;
    checkSessionId(session.sessionId, `${where}: sessionId`);
    if (this.#sessions.has(session.sessionId)) {
      throw new TypeError(`${where}: a session with this id already exists`);
    }
    checkState(session.state, where);
    if (
      session.idleSeconds !== undefined &&
      !(Number.isFinite(session.idleSeconds) && session.idleSeconds >= 0)
    ) {
      throw new TypeError(`${where}: idleSeconds must be a non-negative number`);
    }
    if (session.idleSeconds !== undefined && session.lastInputTime !== undefined) {
      throw new TypeError(`${where}: give lastInputTime or idleSeconds, not both`);
    }
    const protocol = simProtocol(session);
    const refusal = lastInputRefusal(protocol);
    if (refusal !== undefined && (session.idleSeconds ?? session.lastInputTime) !== undefined) {
      throw new TypeError(`${where}: ${refusal}`);
    }
    const logonTimeMs = checkDate(session.logonTime, `${where}: logonTime`);
    const lastInputMs =
      session.idleSeconds === undefined
        ? checkDate(session.lastInputTime, `${where}: lastInputTime`)
        : this.#clock.now() - Math.round(session.idleSeconds * 1000);
    if (SESSION_INJECTION_KEYS.some((key) => session[key] !== undefined)) {
      this.inject(session.sessionId, session);
    }
    this.#sessions.set(session.sessionId, {
      sessionId: session.sessionId,
      state: session.state,
      userName: session.userName ?? "",
      domainName: session.domainName ?? "",
      stationName: session.stationName ?? "",
      protocol,
      clientName: session.clientName ?? "",
      logonTimeMs,
      lastInputMs,
      locked: session.locked ?? false,
      groups: checkGroups(session.groups, session.userName ?? "", `${where}: groups`),
      logons: 0,
    });
    this.#changed();
  }

  updateSession(sessionId: number, update: SimSessionUpdate): void {
    const where = `updateSession(${sessionId})`;
    const session = this.#sessions.get(sessionId);
    if (session === undefined) throw new TypeError(`${where}: no session with this id`);
    if (update.state !== undefined) checkState(update.state, where);
    const refusal = lastInputRefusal(session.protocol);
    if (
      refusal !== undefined &&
      update.lastInputTime !== undefined &&
      update.lastInputTime !== null
    ) {
      throw new TypeError(`${where}: ${refusal}`);
    }
    const logonTimeMs =
      update.logonTime === undefined
        ? session.logonTimeMs
        : checkDate(update.logonTime ?? undefined, `${where}: logonTime`);
    const lastInputMs =
      update.lastInputTime === undefined
        ? session.lastInputMs
        : checkDate(update.lastInputTime ?? undefined, `${where}: lastInputTime`);
    const hadUser = session.userName !== "";
    const userName = update.userName ?? session.userName;
    const groups =
      update.groups !== undefined
        ? checkGroups(update.groups, userName, `${where}: groups`)
        : userName !== session.userName ||
            session.domainName !== (update.domainName ?? session.domainName)
          ? checkGroups(undefined, userName, `${where}: groups`)
          : session.groups;
    session.groups = groups;
    session.state = update.state ?? session.state;
    session.userName = update.userName ?? session.userName;
    session.domainName = update.domainName ?? session.domainName;
    session.clientName = update.clientName ?? session.clientName;
    session.logonTimeMs = logonTimeMs;
    session.lastInputMs = lastInputMs;
    session.locked = update.locked ?? session.locked;
    if (hadUser && session.userName === "") session.logons++;
    this.#changed();
  }

  removeSession(sessionId: number): boolean {
    const removed = this.#sessions.delete(sessionId);
    if (removed) this.#changed();
    return removed;
  }

  #checkAvailable(call: string): void {
    if (this.#closed || !this.#available) {
      throw win32Error(Win32.RPC_S_SERVER_UNAVAILABLE, call);
    }
  }

  /** The session, when an operation may act on it; throws 7022 or 7045 as Windows does. */
  #actionable(sessionId: number, call: string): LiveSession {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) throw win32Error(Win32.ERROR_CTX_WINSTATION_NOT_FOUND, call);
    if (REFUSED_STATES.has(session.state)) {
      throw win32Error(Win32.ERROR_CTX_WINSTATION_ACCESS_DENIED, call);
    }
    return session;
  }

  /**
   * A disconnect or a log-off: refused at once as Windows would, or done by `effect` when its
   * latency has elapsed. Without `wait` only the refusals are reported.
   */
  #operate(
    operation: Exclude<SimOperation, "message">,
    sessionId: number,
    wait: boolean,
    effect: (session: LiveSession) => void,
  ): Promise<void> {
    const call = `${operation === "disconnect" ? "WTSDisconnectSession" : "WTSLogoffSession"}(${sessionId})`;
    try {
      this.#checkAvailable(call);
      const running = this.#operations.get(`${operation}:${sessionId}`);
      if (running !== undefined) {
        // The OS serialises operations on one WinStation: a second call rides on the first.
        if (!wait) return Promise.resolve();
        running.timer.ref();
        return running.promise;
      }
      const session = this.#actionable(sessionId, call);
      const fault = this.#injections.take(operation, sessionId);
      // Without waiting the OS still refuses at once; only the state change is left to happen.
      if (fault.win32Error !== undefined && (fault.latencyMs === 0 || !wait)) {
        throw win32Error(fault.win32Error, call);
      }
      if (fault.latencyMs === 0) {
        effect(session);
        return Promise.resolve();
      }
      const started = this.#start(operation, session, fault, call, effect);
      if (!wait) {
        started.timer.unref();
        return Promise.resolve();
      }
      return started.promise;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Starts an operation that completes, or fails, when its latency has elapsed. */
  #start(
    operation: SimOperation,
    session: LiveSession,
    fault: { latencyMs: number; win32Error: number | undefined },
    call: string,
    effect: (session: LiveSession) => void,
  ): Operation {
    let resolve!: () => void;
    let reject!: (error: Win32Error) => void;
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // Callers that do not wait never see the outcome; keep their rejections from going unhandled.
    promise.catch(() => undefined);
    const key = `${operation}:${session.sessionId}`;
    const logons = session.logons;
    const timer = this.#clock.setTimeout(() => {
      this.#operations.delete(key);
      if (this.#sessions.get(session.sessionId) !== session || session.logons !== logons) {
        // Logged off (or ended) while the operation was under way.
        reject(win32Error(Win32.ERROR_FILE_NOT_FOUND, call));
      } else if (fault.win32Error !== undefined) {
        reject(win32Error(fault.win32Error, call));
      } else {
        effect(session);
        resolve();
      }
    }, fault.latencyMs);
    const started = { promise, timer, reject };
    this.#operations.set(key, started);
    return started;
  }

  endLogon(sessionId: number): boolean {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.userName === "") return false;
    this.#endLogon(session);
    return true;
  }

  /** Ends a session's logon: a remote session ends, a station returns to its logon screen. */
  #endLogon(session: LiveSession): void {
    if (session.protocol === "rdp") {
      this.#sessions.delete(session.sessionId);
    } else {
      session.state = SessionState.CONNECTED;
      session.userName = "";
      session.domainName = "";
      session.logonTimeMs = undefined;
      session.lastInputMs = undefined;
      session.locked = false;
      session.groups = undefined;
    }
    session.logons++;
    this.#changed();
  }

  /** Tells every `watchChanges` listener that the sessions changed. */
  #changed(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the host goes on.
      }
    }
  }

  /** Waits `ms` by the clock; `then` runs when the time comes, at that moment of the clock. */
  #delay(ms: number, then?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = {
        timer: this.#clock.setTimeout(() => {
          this.#pending.delete(pending);
          then?.();
          resolve();
        }, ms),
        reject,
      };
      this.#pending.add(pending);
    });
  }
}

function toDate(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
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

function checkState(state: SessionState, where: string): void {
  if (!(state >= SessionState.ACTIVE && state <= SessionState.INIT)) {
    throw new TypeError(`${where}: state ${state} is not a WTS connect state`);
  }
}

/** The note of a simulated session whose user's groups are unknown (`groups: null`). */
export const GROUPS_UNKNOWN_NOTE =
  "groups unknown: the simulated session was given none it can tell (groups: null)";

/**
 * A session's groups as kept: sorted, without repeats; `[]` for a user without `groups`,
 * `undefined` for `null` (unknown) or a session without user.
 */
function checkGroups(
  groups: readonly string[] | null | undefined,
  userName: string,
  where: string,
): readonly string[] | undefined {
  if (userName === "") {
    if (groups !== undefined && groups !== null && groups.length > 0) {
      throw new TypeError(`${where}: only a session with a user has groups`);
    }
    return undefined;
  }
  if (groups === null) return undefined;
  if (groups === undefined) return [];
  if (groups.length > MAX_SESSION_GROUPS) {
    throw new TypeError(`${where}: at most ${MAX_SESSION_GROUPS} groups, got ${groups.length}`);
  }
  for (const group of groups) {
    if (typeof group !== "string" || group === "") {
      throw new TypeError(`${where}: a group name is a non-empty string (DOMAIN\\Group)`);
    }
  }
  return [...new Set(groups)].sort();
}

function checkDate(date: Date | undefined, where: string): number | undefined {
  const ms = date?.getTime();
  if (ms !== undefined && Number.isNaN(ms)) throw new TypeError(`${where}: an invalid date`);
  return ms;
}
