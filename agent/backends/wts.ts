/**
 * The production session backend: Remote Desktop Services through `wtsapi32.dll` and
 * `kernel32.dll`, called with the FFI library koffi (DESIGN section 4).
 *
 * The DLLs' functions and types are declared in `common/native/` (wtsapi32, kernel32), and
 * loaded by {@link createWtsBackend}, so that importing this module on Linux loads no native code.
 * Calls that go to the Remote Desktop Services RPC server (enumerate, query, disconnect) run on
 * koffi's worker threads, so that a slow or hung `TermService` never blocks
 * the event loop; `ProcessIdToSessionId` and `GetCurrentProcessId` only read the process table and
 * run synchronously.
 *
 * Failures are thrown as `Win32Error(GetLastError(), text)`; what each code means is decided in
 * `../win32-errors.ts` alone.
 */
import { release } from "node:os";
import { loadAdvapi32, type Advapi32 } from "../../common/native/advapi32.js";
import { loadKernel32, type Kernel32 } from "../../common/native/kernel32.js";
import type { NativeFunction } from "../../common/native/koffi.js";
import { WTSINFOW_SIZE, loadWtsapi32, type Wtsapi32 } from "../../common/native/wtsapi32.js";
import { WTS_CURRENT_SESSION, isSessionId } from "../../common/session-id.js";
import {
  MessageButtons,
  MessageResponse,
  SessionState,
} from "../../proto/gen/wms/v1/wms_session.js";
import type {
  BackendSession,
  DisconnectOptions,
  LogoffOptions,
  MessageBox,
  SessionBackend,
} from "../sessions/backend.js";
import { MAX_SESSION_GROUPS, Win32Error } from "../sessions/backend.js";
import { win32ErrorMeaning } from "../sessions/win32-errors.js";

/** Options of {@link createWtsBackend}. */
export interface WtsBackendOptions {
  /**
   * The DLL that implements the WTS API. A bare name is looked up by Windows' usual DLL search
   * order; a path loads that file.
   * @default "wtsapi32.dll"
   */
  readonly wtsapi32?: string;
  /**
   * How long to wait before calling `WTSWaitSystemEvent` again after it failed (Remote Desktop
   * Services restarting): long enough not to spin against a stopped service, short enough that
   * the news resumes well before the agent's periodic re-enumeration (30 s) would notice.
   * @default 5000
   */
  readonly eventRetryDelayMs?: number;
  /**
   * WTS calls (enumerate, query, disconnect, log off, message) on libuv's pool at once; more wait
   * for a slot. A slot is held until the native call returns, even after its caller stopped
   * waiting, so that a hung Remote Desktop Services can never take every thread of the pool.
   * @default {@link wtsConcurrencyFor}(the pool's size)
   */
  readonly maxConcurrentCalls?: number;
  /**
   * Milliseconds a caller waits for a WTS call (its slot included) before it gets
   * `Win32Error` 1460 (`FAILED`, backend unavailable: health turns `NOT_SERVING`); the call may
   * still complete, and what it allocated is freed then. A message that waits for its answer
   * gets its own timeout on top. `WTSWaitSystemEvent` has none: it is meant to block, and is
   * released with `WTS_EVENT_FLUSH`.
   * @default 30000 — `WTSDisconnectSession` with `bWait` takes seconds on a loaded host; past 30 s
   *   Remote Desktop Services is hung, not slow, and callers (10 s deadline by default) are gone.
   */
  readonly callTimeoutMs?: number;
}

/** Default of {@link WtsBackendOptions.eventRetryDelayMs}. */
export const DEFAULT_EVENT_RETRY_DELAY_MS = 5000;

/**
 * Threads of libuv's pool that WTS calls leave free: the service dispatcher holds one for the
 * service's life, `WTSWaitSystemEvent` one while anyone watches, and audit writes (`fdatasync`),
 * log writes, DNS and the TCP table need the rest to get a thread at once even while every WTS
 * call hangs.
 */
export const THREADS_KEPT_FROM_WTS = 4;

/**
 * The WTS calls in flight at once for a pool of `poolSize` threads (`UV_THREADPOOL_SIZE`, 4 by
 * default): the pool less {@link THREADS_KEPT_FROM_WTS}, at least 1. 12 in the service (pool 16).
 */
export function wtsConcurrencyFor(poolSize: number): number {
  return Math.max(1, poolSize - THREADS_KEPT_FROM_WTS);
}

/** libuv's pool size as this process set it: `UV_THREADPOOL_SIZE` (1..1024), else 4. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env["UV_THREADPOOL_SIZE"]);
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : 4;
}

/** Default of {@link WtsBackendOptions.callTimeoutMs}. */
export const DEFAULT_WTS_CALL_TIMEOUT_MS = 30_000;

const WTS_CURRENT_SERVER_HANDLE = null;
/** `WTS_INFO_CLASS` values. */
const WTSUserName = 5;
const WTSDomainName = 7;
const WTSClientName = 10;
const WTSClientProtocolType = 16;
const WTSSessionInfo = 24;
const WTSSessionInfoEx = 25;
/** `WTSINFOEXW`: `Level` (DWORD), padding, then `WTSINFOEX_LEVEL1_W` at 8, 232 bytes in all. */
export const WTSINFOEXW_SIZE = 232;
/** Offset of `WTSINFOEX_LEVEL1_W.SessionFlags` in `WTSINFOEXW`. */
export const WTSINFOEXW_SESSION_FLAGS_OFFSET = 16;
/** `WTSWaitSystemEvent` masks: every event, and the flush that releases every waiter. */
const WTS_EVENT_ALL = 0x7fffffff;
const WTS_EVENT_FLUSH = 0x80000000;
/** `WTSClientProtocolType` of a Remote Desktop (RDP) session; 0 is the console, 1 ICA. */
const WTS_PROTOCOL_TYPE_RDP = 2;
/** What `ProcessIdToSessionId` says of a process id that names no process (any more). */
const ERROR_INVALID_PARAMETER = 87;

const WINSTATIONNAME_LENGTH = 32;
const DOMAIN_LENGTH = 17;
const USERNAME_LENGTH = 20;
/** `TokenGroups`: the `TOKEN_INFORMATION_CLASS` of a token's groups (`TOKEN_GROUPS`). */
const TOKEN_GROUPS_CLASS = 2;
/** `SE_GROUP_LOGON_ID`: the logon session's own SID, which is no group anybody names. */
const SE_GROUP_LOGON_ID = 0xc0000000;
const ERROR_INSUFFICIENT_BUFFER = 122;
/** `TOKEN_GROUPS` read first into this many bytes: a user in a few dozen groups fits. */
const TOKEN_GROUPS_FIRST_BYTES = 4096;
/**
 * The largest `TOKEN_GROUPS` the backend reads: {@link MAX_SESSION_GROUPS} groups take 16 bytes
 * each plus a SID of at most 68 bytes, about 17 KB; a token that needs more is a user in more
 * groups than are reported, whose groups are then unknown.
 */
export const MAX_TOKEN_GROUPS_BYTES = 65_536;
/** Room for an account or domain name in characters: Windows names have at most 256, then NUL. */
const ACCOUNT_NAME_CHARS = 257;
/** `TOKEN_GROUPS` on x64: `GroupCount`, padding, then `SID_AND_ATTRIBUTES` of 16 bytes each. */
const TOKEN_GROUPS_HEADER_BYTES = 8;
const SID_AND_ATTRIBUTES_BYTES = 16;

/** 100-nanosecond intervals between 1601-01-01 and 1970-01-01 (FILETIME to Unix epoch). */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

/**
 * Creates the `wts` backend. Rejects on any platform but Windows, and when the DLLs or their
 * functions cannot be loaded.
 */
export async function createWtsBackend(options: WtsBackendOptions = {}): Promise<SessionBackend> {
  if (process.platform !== "win32") {
    throw new Error("the wts backend needs Windows; use --backend simulated");
  }
  const api = await loadApi(options.wtsapi32 ?? "wtsapi32.dll");
  const eventRetryDelayMs = options.eventRetryDelayMs ?? DEFAULT_EVENT_RETRY_DELAY_MS;
  if (!Number.isInteger(eventRetryDelayMs) || eventRetryDelayMs < 1) {
    throw new RangeError(`eventRetryDelayMs must be a positive integer, got ${eventRetryDelayMs}`);
  }
  const maxConcurrentCalls = options.maxConcurrentCalls ?? wtsConcurrencyFor(threadPoolSize());
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_WTS_CALL_TIMEOUT_MS;
  for (const [name, value] of [
    ["maxConcurrentCalls", maxConcurrentCalls],
    ["callTimeoutMs", callTimeoutMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }
  return new WtsBackend(api, { eventRetryDelayMs, maxConcurrentCalls, callTimeoutMs });
}

/** The native functions the backend calls: one `wtsapi32`, `kernel32.dll` and two of `advapi32`. */
type WtsApi = Wtsapi32 & Kernel32 & Pick<Advapi32, "GetTokenInformation" | "LookupAccountSidW">;

async function loadApi(wtsapi32: string): Promise<WtsApi> {
  const [wts, kernel32, advapi32] = await Promise.all([
    loadWtsapi32(wtsapi32),
    loadKernel32(),
    loadAdvapi32(),
  ]);
  return {
    ...wts,
    ...kernel32,
    GetTokenInformation: advapi32.GetTokenInformation,
    LookupAccountSidW: advapi32.LookupAccountSidW,
  };
}

/**
 * The groups of a `TOKEN_GROUPS` buffer as SID pointers, without the logon SID; `note` when the
 * buffer cannot be what it claims (a count beyond its bytes).
 */
export function tokenGroupEntries(
  buffer: Buffer,
  sidAt: (offset: number) => unknown,
): { readonly sids: unknown[] } | { readonly note: string } {
  const count = buffer.readUInt32LE(0);
  if (TOKEN_GROUPS_HEADER_BYTES + count * SID_AND_ATTRIBUTES_BYTES > buffer.length) {
    return { note: `TOKEN_GROUPS claims ${count} groups in ${buffer.length} bytes` };
  }
  const sids: unknown[] = [];
  for (let index = 0; index < count; index++) {
    const at = TOKEN_GROUPS_HEADER_BYTES + index * SID_AND_ATTRIBUTES_BYTES;
    const attributes = buffer.readUInt32LE(at + 8);
    if ((attributes & SE_GROUP_LOGON_ID) >>> 0 === SE_GROUP_LOGON_ID) continue;
    sids.push(sidAt(at));
  }
  return { sids };
}

/** What `WTSEnumerateSessionsW` says of one session. */
interface EnumeratedSession {
  readonly sessionId: number;
  readonly stationName: string;
  readonly wtsState: number;
}

class WtsBackend implements SessionBackend {
  readonly name = "wts";
  #closed = false;
  readonly #listeners = new Set<() => void>();
  /** The event loop's current `WTSWaitSystemEvent`, settled when it returns; `undefined` when idle. */
  #waiting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Whether `SessionFlags` 0 means unlocked (Windows 7 / Server 2008 R2, version 6.1). */
  readonly #lockFlagReversed = lockFlagReversed(release());

  /**
   * Each logon's groups once read, by session id, logon time and user (a logon's groups do not
   * change): read again only for a new logon; forgotten when its session is no longer listed.
   */
  readonly #groupsOfLogon = new Map<string, readonly string[]>();

  /** Free slots for WTS calls, and the callers waiting for one (FIFO). */
  #freeSlots: number;
  readonly #slotWaiters: (() => void)[] = [];

  constructor(
    private readonly api: WtsApi,
    private readonly options: Required<
      Pick<WtsBackendOptions, "eventRetryDelayMs" | "maxConcurrentCalls" | "callTimeoutMs">
    >,
  ) {
    this.#freeSlots = options.maxConcurrentCalls;
  }

  /** Slots in use and callers waiting, for tests and the log. */
  get callSlots(): { inUse: number; waiting: number; max: number } {
    const max = this.options.maxConcurrentCalls;
    return { inUse: max - this.#freeSlots, waiting: this.#slotWaiters.length, max };
  }

  async listSessions(): Promise<BackendSession[]> {
    this.#assertOpen();
    const sessions: BackendSession[] = [];
    const logons = new Set<string>();
    for (const enumerated of await this.#enumerate()) {
      const session = await this.#describe(enumerated, logons);
      // undefined: the session ended between the enumeration and the query.
      if (session !== undefined) sessions.push(session);
    }
    for (const key of this.#groupsOfLogon.keys()) {
      if (!logons.has(key)) this.#groupsOfLogon.delete(key);
    }
    return sessions.sort((a, b) => a.sessionId - b.sessionId);
  }

  disconnectSession(sessionId: number, options: DisconnectOptions): Promise<void> {
    return this.#endSession("WTSDisconnectSession", sessionId, options.wait);
  }

  logoffSession(sessionId: number, options: LogoffOptions): Promise<void> {
    return this.#endSession("WTSLogoffSession", sessionId, options.wait);
  }

  /**
   * Disconnects or logs off one session. The two calls take the same arguments (the server, the
   * session, `bWait`) and fail alike: a zero result, with the reason in the last error.
   */
  async #endSession(
    call: "WTSDisconnectSession" | "WTSLogoffSession",
    sessionId: number,
    wait: boolean,
  ): Promise<void> {
    this.#assertOpen();
    assertSessionId(sessionId);
    const what = `${call}(${sessionId})`;
    const { result, lastError } = await this.#callWts(
      what,
      this.options.callTimeoutMs,
      undefined,
      this.api[call],
      WTS_CURRENT_SERVER_HANDLE,
      sessionId,
      wait ? 1 : 0,
    );
    if (result === 0) throw win32Error(what, lastError);
  }

  async sendMessage(sessionId: number, box: MessageBox): Promise<MessageResponse> {
    this.#assertOpen();
    assertSessionId(sessionId);
    const style = MESSAGE_BOX_STYLES.get(box.buttons);
    if (style === undefined) throw new RangeError(`not a MessageButtons value: ${box.buttons}`);
    const response: [number] = [0];
    // Lengths are in bytes, without a terminating NUL; koffi passes the strings as UTF-16.
    // A message that waits is answered within its own timeout (or when the user answers).
    const waitMs = box.wait ? (box.timeoutSeconds ?? 0) * 1000 : 0;
    const { result, lastError } = await this.#callWts(
      `WTSSendMessageW(${sessionId})`,
      this.options.callTimeoutMs + waitMs,
      undefined,
      this.api.WTSSendMessageW,
      WTS_CURRENT_SERVER_HANDLE,
      sessionId,
      box.title,
      box.title.length * 2,
      box.text,
      box.text.length * 2,
      style,
      box.timeoutSeconds ?? 0,
      response,
      box.wait ? 1 : 0,
    );
    if (result === 0) throw win32Error(`WTSSendMessageW(${sessionId})`, lastError);
    return messageResponseFromId(response[0]);
  }

  sessionOfProcess(pid: number): Promise<number | undefined> {
    return this.#settle(() => {
      if (!Number.isInteger(pid) || pid < 0 || pid > 0xffffffff) {
        throw new RangeError(`not a process id: ${pid}`);
      }
      const sessionId: [number] = [0];
      if (this.api.ProcessIdToSessionId(pid, sessionId) !== 0) return sessionId[0];
      const lastError = this.#lastError();
      if (lastError === ERROR_INVALID_PARAMETER) {
        throw new Error(`process ${pid} does not exist any more (ProcessIdToSessionId: 87)`);
      }
      throw win32Error(`ProcessIdToSessionId(${pid})`, lastError);
    });
  }

  agentSessionId(): Promise<number> {
    return this.#settle(() => {
      const pid = this.api.GetCurrentProcessId() as number;
      const sessionId: [number] = [0];
      if (this.api.ProcessIdToSessionId(pid, sessionId) === 0) {
        throw win32Error(`ProcessIdToSessionId(${pid})`, this.#lastError());
      }
      return sessionId[0];
    });
  }

  async isHealthy(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await this.#enumerate();
      return true;
    } catch (error) {
      if (error instanceof Win32Error) return false;
      throw error;
    }
  }

  /**
   * Session news from `WTSWaitSystemEvent` (logon, logoff, connect, disconnect, create, delete,
   * state change), waited for on one koffi worker thread while anyone listens. Lock and unlock
   * are not among them: the service's SESSIONCHANGE brings those ({@link reportSessionChange});
   * the agent's periodic re-enumeration covers what both miss. A failed wait is retried after `eventRetryDelayMs`.
   */
  watchChanges(listener: () => void): () => void {
    this.#assertOpen();
    this.#listeners.add(listener);
    this.#startWaiting();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) void this.#stopWaiting();
    };
  }

  /** The service's `SESSIONCHANGE` (a lock, say): every watcher hears of it at once. */
  reportSessionChange(): void {
    if (this.#closed) return;
    for (const listener of [...this.#listeners]) listener();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#stopWaiting();
  }

  #startWaiting(): void {
    if (this.#waiting !== undefined || this.#retryTimer !== undefined || this.#closed) return;
    if (this.#listeners.size === 0) return;
    const flags: [number] = [0];
    this.#waiting = this.#callAsync(
      this.api.WTSWaitSystemEvent,
      WTS_CURRENT_SERVER_HANDLE,
      WTS_EVENT_ALL,
      flags,
    ).then(
      ({ result }) => {
        this.#waiting = undefined;
        const flushed = (flags[0] & WTS_EVENT_FLUSH) !== 0 || flags[0] === 0;
        if (this.#closed || this.#listeners.size === 0) return;
        if (result === 0 || flushed) {
          this.#retryLater();
          return;
        }
        for (const listener of [...this.#listeners]) listener();
        this.#startWaiting();
      },
      () => {
        this.#waiting = undefined;
        this.#retryLater();
      },
    );
  }

  #retryLater(): void {
    if (this.#closed || this.#listeners.size === 0) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#startWaiting();
    }, this.options.eventRetryDelayMs);
    this.#retryTimer.unref();
  }

  /** Releases the waiting worker thread with `WTS_EVENT_FLUSH` and waits until it has returned. */
  async #stopWaiting(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    const flags: [number] = [0];
    // Returns at once; every pending wait on the server handle returns too.
    this.api.WTSWaitSystemEvent(WTS_CURRENT_SERVER_HANDLE, WTS_EVENT_FLUSH, flags);
    await waiting;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("the wts backend is closed");
  }

  /** Runs a synchronous (local, fast) native step; its failure becomes a rejection. */
  #settle<T>(step: () => T): Promise<T> {
    try {
      this.#assertOpen();
      return Promise.resolve(step());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #lastError(): number {
    return this.api.GetLastError() as number;
  }

  /**
   * Runs a WTS call on a koffi worker thread within the backend's limits: it waits for one of
   * `maxConcurrentCalls` slots, and its caller gets `Win32Error` 1460 once `timeoutMs` have passed
   * (waiting for the slot included). The slot is freed only when the native call returns; a call
   * that returns after its caller stopped waiting is handed to `late` (with its result), which
   * frees what it allocated.
   */
  async #callWts(
    what: string,
    timeoutMs: number,
    late: ((result: number) => void) | undefined,
    fn: NativeFunction,
    ...args: unknown[]
  ): Promise<{ result: number; lastError: number }> {
    this.#assertOpen();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let waiter: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        // A caller still waiting for a slot leaves the queue: it never takes one.
        const queued = waiter === undefined ? -1 : this.#slotWaiters.indexOf(waiter);
        if (queued >= 0) this.#slotWaiters.splice(queued, 1);
        reject(
          new Win32Error(
            1460,
            `${what} did not return within ${timeoutMs / 1000} s: Remote Desktop Services may be hung`,
          ),
        );
      }, timeoutMs);
    });
    const run = async () => {
      if (this.#freeSlots > 0) this.#freeSlots--;
      else await new Promise<void>((resolve) => this.#slotWaiters.push((waiter = resolve)));
      const call = this.#callAsync(fn, ...args);
      void call.then(
        ({ result }) => {
          this.#freeSlot();
          if (timedOut) late?.(result);
        },
        () => this.#freeSlot(),
      );
      return call;
    };
    try {
      return await Promise.race([run(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hands a freed slot to the first caller waiting, or keeps it. */
  #freeSlot(): void {
    const next = this.#slotWaiters.shift();
    if (next === undefined) this.#freeSlots++;
    else next();
  }

  /**
   * Runs a native function on a koffi worker thread. koffi (3.2 and later) hands the worker's
   * last-error value to the completion callback's thread, so `GetLastError` is read there, first.
   */
  #callAsync(
    fn: NativeFunction,
    ...args: unknown[]
  ): Promise<{ result: number; lastError: number }> {
    return new Promise((resolve, reject) => {
      fn.async(...args, (error: unknown, result: number) => {
        const lastError = this.#lastError();
        if (error !== null && error !== undefined) {
          reject(
            error instanceof Error
              ? error
              : new Error("the asynchronous native call failed", { cause: error }),
          );
        } else {
          resolve({ result, lastError });
        }
      });
    });
  }

  async #enumerate(): Promise<EnumeratedSession[]> {
    const { koffi, sessionInfoType } = this.api;
    const sessionInfo: [unknown] = [null];
    const count: [number] = [0];
    const { result, lastError } = await this.#callWts(
      "WTSEnumerateSessionsW",
      this.options.callTimeoutMs,
      // Returned after its caller stopped waiting: free what it allocated.
      (late) => {
        if (late !== 0 && sessionInfo[0] !== null) this.api.WTSFreeMemory(sessionInfo[0]);
      },
      this.api.WTSEnumerateSessionsW,
      WTS_CURRENT_SERVER_HANDLE,
      0,
      1,
      sessionInfo,
      count,
    );
    if (result === 0) throw win32Error("WTSEnumerateSessionsW", lastError);
    const pointer = sessionInfo[0];
    // Wine answers TRUE with no buffer when there are no sessions.
    if (pointer === null) return [];
    try {
      const size = koffi.sizeof(sessionInfoType);
      const sessions: EnumeratedSession[] = [];
      for (let index = 0; index < count[0]; index++) {
        const row = koffi.decode(pointer, index * size, sessionInfoType) as {
          SessionId: number;
          pWinStationName: unknown;
          State: number;
        };
        sessions.push({
          sessionId: row.SessionId,
          stationName: this.#readWideString(row.pWinStationName),
          wtsState: row.State,
        });
      }
      return sessions;
    } finally {
      this.api.WTSFreeMemory(pointer);
    }
  }

  /**
   * What one session is: the names from `WTSUserName` / `WTSDomainName` (whole: `WTSINFOW`
   * truncates them at 20 and 17 characters), times from `WTSINFOW`, the client and its protocol.
   * `undefined` when the session ended meanwhile. A query that fails with any other code costs
   * this session its details, not the list: it comes back with what the enumeration told (id,
   * state, station) and a note that says which query failed and why.
   */
  async #describe(
    enumerated: EnumeratedSession,
    logons: Set<string>,
  ): Promise<BackendSession | undefined> {
    try {
      return await this.#describeFully(enumerated, logons);
    } catch (error) {
      // Remote Desktop Services itself unreachable is the host's failure, not this session's.
      if (!(error instanceof Win32Error) || win32ErrorMeaning(error.code).backendUnavailable) {
        throw error;
      }
      return {
        sessionId: enumerated.sessionId,
        state: sessionStateFromWts(enumerated.wtsState),
        userName: "",
        domainName: "",
        stationName: enumerated.stationName,
        clientName: "",
        logonTime: undefined,
        lastInputTime: undefined,
        locked: false,
        note: `details unknown: ${error.message}`,
      };
    }
  }

  async #describeFully(
    enumerated: EnumeratedSession,
    logons: Set<string>,
  ): Promise<BackendSession | undefined> {
    const { sessionId } = enumerated;
    const info = await this.#query(sessionId, WTSSessionInfo, (pointer, bytes) => {
      if (bytes < WTSINFOW_SIZE) {
        throw new Error(`WTSSessionInfo returned ${bytes} bytes, expected ${WTSINFOW_SIZE}`);
      }
      const raw = this.api.koffi.decode(pointer, this.api.wtsInfoBytes) as Uint8Array;
      return parseWtsInfo(Buffer.from(raw));
    });
    if (info === undefined) return undefined;
    const userName = await this.#queryString(sessionId, WTSUserName);
    if (userName === undefined) return undefined;
    const domainName = await this.#queryString(sessionId, WTSDomainName);
    if (domainName === undefined) return undefined;
    const clientName = await this.#queryString(sessionId, WTSClientName);
    if (clientName === undefined) return undefined;
    const protocol = await this.#query(sessionId, WTSClientProtocolType, (pointer, bytes) => {
      if (bytes < 2) throw new Error(`WTSClientProtocolType returned ${bytes} bytes, expected 2`);
      return this.api.koffi.decode(pointer, "uint16_t") as number;
    });
    if (protocol === undefined) return undefined;
    const state = sessionStateFromWts(enumerated.wtsState);
    // Nobody logged on, nothing to lock: one query fewer for an empty station or a listener.
    const sessionFlags =
      userName === ""
        ? WTS_SESSIONSTATE_UNKNOWN
        : await this.#query(sessionId, WTSSessionInfoEx, (pointer, bytes) => {
            if (bytes < WTSINFOEXW_SIZE) {
              throw new Error(
                `WTSSessionInfoEx returned ${bytes} bytes, expected ${WTSINFOEXW_SIZE}`,
              );
            }
            const level = this.api.koffi.decode(pointer, "uint32_t") as number;
            if (level !== 1) throw new Error(`WTSSessionInfoEx returned level ${level}, not 1`);
            return this.api.koffi.decode(
              pointer,
              WTSINFOEXW_SESSION_FLAGS_OFFSET,
              "int32_t",
            ) as number;
          });
    if (sessionFlags === undefined) return undefined;
    const logonTime = filetimeToDate(info.logonTime);
    let membership: { readonly groups: readonly string[] } | { readonly note: string } | undefined;
    if (userName !== "") {
      const key = `${sessionId}|${logonTime?.getTime() ?? ""}|${domainName}\\${userName}`;
      logons.add(key);
      const known = this.#groupsOfLogon.get(key);
      membership = known === undefined ? await this.#userGroups(sessionId) : { groups: known };
      if ("groups" in membership) this.#groupsOfLogon.set(key, membership.groups);
    }
    return {
      sessionId,
      state,
      userName,
      domainName,
      stationName: enumerated.stationName || info.winStationName,
      clientName,
      logonTime,
      lastInputTime: idleTimeTrusted(protocol, userName)
        ? filetimeToDate(info.lastInputTime)
        : undefined,
      locked: isLocked(sessionFlags, this.#lockFlagReversed),
      ...membership,
    };
  }

  /**
   * The groups of the user logged on to a session, as `DOMAIN\Group` names, sorted: the user's
   * token (`WTSQueryUserToken`, which needs the agent to run as LocalSystem), its
   * `TokenGroups` (the logon SID left out), each group's name (`LookupAccountSidW`, on a worker
   * thread: it may ask a domain controller). Any failure, or more than
   * {@link MAX_SESSION_GROUPS} groups, makes the groups unknown with a note saying why: never a
   * failed list, and never a list cut short (a group left out could be the one that exempts the
   * user from a policy).
   */
  async #userGroups(
    sessionId: number,
  ): Promise<{ readonly groups: readonly string[] } | { readonly note: string }> {
    const unknown = (why: string) => ({ note: `groups unknown: ${why}` });
    const token: [unknown] = [null];
    try {
      const { result, lastError } = await this.#callWts(
        `WTSQueryUserToken(${sessionId})`,
        this.options.callTimeoutMs,
        (late) => {
          if (late !== 0 && token[0] !== null) this.api.CloseHandle(token[0]);
        },
        this.api.WTSQueryUserToken,
        sessionId,
        token,
      );
      if (result === 0 || token[0] === null) {
        return unknown(
          `WTSQueryUserToken(${sessionId}) failed: ${win32ErrorMeaning(lastError).message}`,
        );
      }
    } catch (error) {
      return unknown((error as Error).message);
    }
    try {
      const needed: [number] = [0];
      const read = (into: Buffer) =>
        this.api.GetTokenInformation(
          token[0],
          TOKEN_GROUPS_CLASS,
          into,
          into.length,
          needed,
        ) as number;
      let buffer = Buffer.alloc(TOKEN_GROUPS_FIRST_BYTES);
      let ok = read(buffer);
      if (ok === 0 && this.#lastError() === ERROR_INSUFFICIENT_BUFFER) {
        if (needed[0] > MAX_TOKEN_GROUPS_BYTES) {
          return unknown(
            `the user's groups take ${needed[0]} bytes, more than ${MAX_TOKEN_GROUPS_BYTES} (more than ${MAX_SESSION_GROUPS} groups)`,
          );
        }
        buffer = Buffer.alloc(needed[0]);
        ok = read(buffer);
      }
      if (ok === 0) {
        return unknown(
          `GetTokenInformation(TokenGroups) failed with Win32 error ${this.#lastError()}`,
        );
      }
      const entries = tokenGroupEntries(buffer, (offset) =>
        this.api.koffi.decode(buffer, offset, "void *"),
      );
      if ("note" in entries) return unknown(entries.note);
      if (entries.sids.length > MAX_SESSION_GROUPS) {
        return unknown(
          `the user is in ${entries.sids.length} groups, more than the ${MAX_SESSION_GROUPS} reported`,
        );
      }
      const groups = new Set<string>();
      for (const [index, sid] of entries.sids.entries()) {
        const name = Buffer.alloc(ACCOUNT_NAME_CHARS * 2);
        const domain = Buffer.alloc(ACCOUNT_NAME_CHARS * 2);
        const nameChars: [number] = [ACCOUNT_NAME_CHARS];
        const domainChars: [number] = [ACCOUNT_NAME_CHARS];
        const use: [number] = [0];
        const { result, lastError } = await this.#callWts(
          "LookupAccountSidW",
          this.options.callTimeoutMs,
          undefined,
          this.api.LookupAccountSidW,
          null,
          sid,
          name,
          nameChars,
          domain,
          domainChars,
          use,
        );
        if (result === 0) {
          return unknown(
            `LookupAccountSidW failed for group ${index + 1} of ${entries.sids.length} with Win32 error ${lastError} (${win32ErrorMeaning(lastError).message})`,
          );
        }
        const groupName = name.toString("utf16le", 0, nameChars[0] * 2);
        const domainName = domain.toString("utf16le", 0, domainChars[0] * 2);
        groups.add(domainName === "" ? groupName : `${domainName}\\${groupName}`);
      }
      return { groups: [...groups].sort() };
    } catch (error) {
      return unknown((error as Error).message);
    } finally {
      this.api.CloseHandle(token[0]);
    }
  }

  /** One string-valued information class, up to its NUL; `undefined` when the session ended. */
  #queryString(sessionId: number, infoClass: number): Promise<string | undefined> {
    return this.#query(sessionId, infoClass, (pointer, bytes) =>
      stripNuls(this.api.koffi.decode(pointer, "char16_t", Math.floor(bytes / 2)) as string),
    );
  }

  /**
   * One `WTSQuerySessionInformationW`, its buffer decoded by `decode` and freed. `undefined` when
   * the session no longer exists (a Win32 code that means NOT_FOUND).
   */
  async #query<T>(
    sessionId: number,
    infoClass: number,
    decode: (pointer: unknown, bytes: number) => T,
  ): Promise<T | undefined> {
    const buffer: [unknown] = [null];
    const bytesReturned: [number] = [0];
    const { result, lastError } = await this.#callWts(
      `WTSQuerySessionInformationW(${sessionId}, ${infoClass})`,
      this.options.callTimeoutMs,
      (late) => {
        if (late !== 0 && buffer[0] !== null) this.api.WTSFreeMemory(buffer[0]);
      },
      this.api.WTSQuerySessionInformationW,
      WTS_CURRENT_SERVER_HANDLE,
      sessionId,
      infoClass,
      buffer,
      bytesReturned,
    );
    if (result === 0) {
      if (lastError !== 0 && win32ErrorMeaning(lastError).outcome === notFound) return undefined;
      throw win32Error(`WTSQuerySessionInformationW(${sessionId}, ${infoClass})`, lastError);
    }
    const pointer = buffer[0];
    if (pointer === null) throw new Error(`WTSQuerySessionInformationW returned no buffer`);
    try {
      return decode(pointer, bytesReturned[0]);
    } finally {
      this.api.WTSFreeMemory(pointer);
    }
  }

  #readWideString(pointer: unknown): string {
    if (pointer === null) return "";
    const length = this.api.lstrlenW(pointer) as number;
    return length > 0 ? (this.api.koffi.decode(pointer, "char16_t", length) as string) : "";
  }
}

const notFound = win32ErrorMeaning(7022).outcome;

function win32Error(operation: string, code: number): Win32Error {
  const text =
    code === 0 ? "failed without an error code" : `failed: ${win32ErrorMeaning(code).message}`;
  return new Win32Error(code, `${operation} ${text}`);
}

function assertSessionId(sessionId: number): void {
  if (sessionId === WTS_CURRENT_SESSION) {
    throw new Error(
      "session id 4294967295 is WTS_CURRENT_SESSION (the caller's own session) and is never passed to the OS",
    );
  }
  if (!isSessionId(sessionId)) {
    throw new RangeError(`not a session id: ${sessionId}`);
  }
}

/** The `MB_*` style of each kind of message box. */
const MESSAGE_BOX_STYLES: ReadonlyMap<MessageButtons, number> = new Map([
  [MessageButtons.OK, 0x0],
  [MessageButtons.OK_CANCEL, 0x1],
  [MessageButtons.ABORT_RETRY_IGNORE, 0x2],
  [MessageButtons.YES_NO_CANCEL, 0x3],
  [MessageButtons.YES_NO, 0x4],
  [MessageButtons.RETRY_CANCEL, 0x5],
]);

/** `IDTIMEOUT` and `IDASYNC`, the answers of `WTSSendMessageW` that are not buttons. */
const IDTIMEOUT = 32000;
const IDASYNC = 32001;

/**
 * The `ID*` answer of `WTSSendMessageW` on the wire: the buttons (`IDOK` 1 ... `IDNO` 7) keep
 * their numbers, `IDTIMEOUT` is `TIMEOUT`, `IDASYNC` is `NOT_WAITED`.
 */
export function messageResponseFromId(id: number): MessageResponse {
  if (id === IDTIMEOUT) return MessageResponse.TIMEOUT;
  if (id === IDASYNC) return MessageResponse.NOT_WAITED;
  // IDOK (1) ... IDNO (7): the wire enum numbers the buttons the same way.
  return Number.isInteger(id) && id >= 1 && id <= 7 ? id : MessageResponse.UNRECOGNIZED;
}

/** `WTSINFOEX_LEVEL1_W.SessionFlags` when Windows does not know (or nobody is logged on). */
const WTS_SESSIONSTATE_UNKNOWN = -1;

/**
 * Whether `SessionFlags` 0 and 1 are swapped: Microsoft documents `WTS_SESSIONSTATE_LOCK` 0 and
 * `WTS_SESSIONSTATE_UNLOCK` 1, and notes that Windows 7 and Server 2008 R2 (version 6.1) report
 * them the other way round. `osRelease` is `os.release()`, which Node reads with `RtlGetVersion`
 * (not subject to the compatibility shims of `GetVersionEx`). Node 20 and later no longer run on
 * 6.1; the rule stays so that a reading is never silently inverted.
 */
export function lockFlagReversed(osRelease: string): boolean {
  const [major, minor] = osRelease.split(".").map(Number);
  return major === 6 && minor === 1;
}

/** Whether `SessionFlags` says the session is locked; unknown (-1) is not locked. */
export function isLocked(sessionFlags: number, reversed: boolean): boolean {
  if (sessionFlags !== 0 && sessionFlags !== 1) return false;
  return sessionFlags === (reversed ? 1 : 0);
}

/** `WTS_CONNECTSTATE_CLASS` (0 = WTSActive ... 9 = WTSInit) to the wire enum, which is one more. */
export function sessionStateFromWts(state: number): SessionState {
  return Number.isInteger(state) && state >= 0 && state <= 9
    ? state + 1
    : SessionState.UNRECOGNIZED;
}

/** The parts of a `WTSINFOW` the backend uses; times are FILETIMEs (100 ns since 1601). */
export interface WtsInfo {
  readonly state: number;
  readonly sessionId: number;
  readonly winStationName: string;
  readonly domainName: string;
  readonly userName: string;
  readonly lastInputTime: bigint;
  readonly logonTime: bigint;
  readonly currentTime: bigint;
}

/** Decodes the x64 layout of `WTSINFOW` (the WCHAR arrays hold NUL-terminated names). */
export function parseWtsInfo(bytes: Buffer): WtsInfo {
  if (bytes.length < WTSINFOW_SIZE) throw new RangeError(`WTSINFOW needs ${WTSINFOW_SIZE} bytes`);
  const names = 32;
  const domainAt = names + WINSTATIONNAME_LENGTH * 2;
  const userAt = domainAt + DOMAIN_LENGTH * 2;
  const timesAt = 176; // after the names (172 bytes), aligned to 8 for LARGE_INTEGER
  return {
    state: bytes.readInt32LE(0),
    sessionId: bytes.readUInt32LE(4),
    winStationName: decodeUtf16Fixed(bytes.subarray(names, domainAt)),
    domainName: decodeUtf16Fixed(bytes.subarray(domainAt, userAt)),
    userName: decodeUtf16Fixed(bytes.subarray(userAt, userAt + (USERNAME_LENGTH + 1) * 2)),
    lastInputTime: bytes.readBigInt64LE(timesAt + 16),
    logonTime: bytes.readBigInt64LE(timesAt + 24),
    currentTime: bytes.readBigInt64LE(timesAt + 32),
  };
}

/** UTF-16LE text in a fixed-size WCHAR array: up to the first NUL, or the whole array. */
export function decodeUtf16Fixed(bytes: Buffer): string {
  for (let at = 0; at + 1 < bytes.length; at += 2) {
    if (bytes.readUInt16LE(at) === 0) return bytes.toString("utf16le", 0, at);
  }
  return bytes.toString("utf16le", 0, bytes.length - (bytes.length % 2));
}

function stripNuls(text: string): string {
  const end = text.indexOf("\0");
  return end === -1 ? text : text.slice(0, end);
}

/** A FILETIME as a `Date`; `undefined` for 0 (never) and values before 1970. */
export function filetimeToDate(filetime: bigint): Date | undefined {
  if (filetime <= FILETIME_UNIX_EPOCH) return undefined;
  return new Date(Number((filetime - FILETIME_UNIX_EPOCH) / 10000n));
}

/**
 * Whether a session's `LastInputTime` can be trusted (issue 17). Windows tracks input for Remote
 * Desktop sessions; for console-type sessions (protocol 0: the local console, and MultiPoint
 * stations, which are local) it reports `LastInputTime` equal to `CurrentTime` while connected
 * and 0 once disconnected, so their idle time is unknown, never guessed. A session without a
 * user has no input to speak of either.
 */
export function idleTimeTrusted(protocolType: number, userName: string): boolean {
  return protocolType === WTS_PROTOCOL_TYPE_RDP && userName !== "";
}
