/**
 * Fault injection of the simulated backend, per session and per operation (disconnect, log-off,
 * message): how long the operation takes, the Win32 error it fails with (for the first N tries, or
 * always), and for messages how the simulated user answers. Tests and benchmarks set it through
 * fixtures or `SimulatedBackend.inject`.
 */
import { MessageButtons, MessageResponse } from "../../proto/gen/wms/v1/wms_session.js";

/** The operations that can be injected with latency and failures. */
export type SimOperation = "disconnect" | "logoff" | "message";

/** Fault injection for the disconnects of one session. */
export interface DisconnectInjection {
  /** Milliseconds each disconnect takes. @default 0 */
  readonly disconnectLatencyMs?: number;
  /** The Win32 error code disconnects fail with. @default none: disconnects succeed */
  readonly disconnectWin32Error?: number;
  /** Fail only the first N disconnects. @default all of them, while the error is set */
  readonly disconnectFailTimes?: number;
}

/** Fault injection for every operation on one session, and the answers of its simulated user. */
export interface SessionInjection extends DisconnectInjection {
  /** Milliseconds each log-off takes. @default 0 */
  readonly logoffLatencyMs?: number;
  /** The Win32 error code log-offs fail with. @default none */
  readonly logoffWin32Error?: number;
  /** Fail only the first N log-offs. @default all of them, while the error is set */
  readonly logoffFailTimes?: number;
  /** Milliseconds until a message box is on screen. @default 0 */
  readonly messageLatencyMs?: number;
  /** The Win32 error code messages fail with. @default none */
  readonly messageWin32Error?: number;
  /** Fail only the first N messages. @default all of them, while the error is set */
  readonly messageFailTimes?: number;
  /**
   * How the session's user answers a message box: a button (`OK`, `CANCEL`, `YES`, ...), or
   * `TIMEOUT` for a user who never does. A button the box does not have is read as the box's first
   * button. Answering is input: the session's last input time becomes the moment of the answer.
   * @default TIMEOUT (nobody answers)
   */
  readonly messageResponse?: MessageResponse;
  /** Milliseconds the user takes to answer, from the moment the box is shown. @default 0 */
  readonly messageResponseDelayMs?: number;
}

/**
 * Every field of {@link SessionInjection}, as a fixture's session and `addSession` take them: a
 * session that gives any of them is injected. The mapped type makes a field added to the
 * interface a compile error here until it is listed.
 */
const INJECTION_FIELDS: { readonly [K in keyof Required<SessionInjection>]: K } = {
  disconnectLatencyMs: "disconnectLatencyMs",
  disconnectWin32Error: "disconnectWin32Error",
  disconnectFailTimes: "disconnectFailTimes",
  logoffLatencyMs: "logoffLatencyMs",
  logoffWin32Error: "logoffWin32Error",
  logoffFailTimes: "logoffFailTimes",
  messageLatencyMs: "messageLatencyMs",
  messageWin32Error: "messageWin32Error",
  messageFailTimes: "messageFailTimes",
  messageResponse: "messageResponse",
  messageResponseDelayMs: "messageResponseDelayMs",
};

/** The keys of {@link SessionInjection}, per operation (disconnect, log-off, message). */
export const SESSION_INJECTION_KEYS: readonly (keyof SessionInjection)[] =
  Object.values(INJECTION_FIELDS);

/** What one operation on a session is to do, as decided by its injection. */
export interface InjectedFault {
  /** Milliseconds the operation takes. */
  readonly latencyMs: number;
  /** The Win32 error it fails with; `undefined`: it succeeds. */
  readonly win32Error: number | undefined;
}

/** How the simulated user answers a message box. */
export interface InjectedAnswer {
  /** A button's answer, or `TIMEOUT` for none. */
  readonly response: MessageResponse;
  readonly delayMs: number;
}

/** `setTimeout` treats anything longer as 1 ms, so longer latencies would silently vanish. */
export const MAX_SIM_LATENCY_MS = 0x7fffffff;

/** The answers a simulated user can give (the `ID*` values of a message box), and `TIMEOUT`. */
export const SIM_ANSWERS: readonly MessageResponse[] = [
  MessageResponse.OK,
  MessageResponse.CANCEL,
  MessageResponse.ABORT,
  MessageResponse.RETRY,
  MessageResponse.IGNORE,
  MessageResponse.YES,
  MessageResponse.NO,
  MessageResponse.TIMEOUT,
];

/** The answers each kind of box can give, its first button first (`MB_*` styles). */
export const BUTTON_ANSWERS: ReadonlyMap<MessageButtons, readonly MessageResponse[]> = new Map([
  [MessageButtons.OK, [MessageResponse.OK]],
  [MessageButtons.OK_CANCEL, [MessageResponse.OK, MessageResponse.CANCEL]],
  [MessageButtons.YES_NO, [MessageResponse.YES, MessageResponse.NO]],
  [MessageButtons.YES_NO_CANCEL, [MessageResponse.YES, MessageResponse.NO, MessageResponse.CANCEL]],
  [MessageButtons.RETRY_CANCEL, [MessageResponse.RETRY, MessageResponse.CANCEL]],
  [
    MessageButtons.ABORT_RETRY_IGNORE,
    [MessageResponse.ABORT, MessageResponse.RETRY, MessageResponse.IGNORE],
  ],
]);

interface Entry {
  readonly latencyMs: number;
  readonly win32Error: number | undefined;
  readonly failTimes: number | undefined;
  failures: number;
}

/** The injections of every session of one simulated host. */
export class SimInjections {
  readonly #entries = new Map<string, Entry>();
  readonly #answers = new Map<number, InjectedAnswer>();

  /**
   * Replaces the injection of one session (an empty object clears it) and restarts its counts of
   * failures. The session need not exist yet.
   * @throws TypeError naming the field at fault.
   */
  set(sessionId: number, injection: SessionInjection): void {
    const where = `inject(${sessionId})`;
    const entries = (["disconnect", "logoff", "message"] as const).map((operation) => {
      const latencyMs = injection[`${operation}LatencyMs`];
      const win32Error = injection[`${operation}Win32Error`];
      const failTimes = injection[`${operation}FailTimes`];
      if (win32Error !== undefined && !(Number.isSafeInteger(win32Error) && win32Error > 0)) {
        throw new TypeError(`${where}: ${operation}Win32Error must be a positive integer`);
      }
      if (failTimes !== undefined && !(Number.isSafeInteger(failTimes) && failTimes >= 0)) {
        throw new TypeError(`${where}: ${operation}FailTimes must be a non-negative integer`);
      }
      const entry: Entry = {
        latencyMs: checkLatency(latencyMs ?? 0, `${where}: ${operation}LatencyMs`),
        win32Error,
        failTimes,
        failures: 0,
      };
      return [operation, entry] as const;
    });
    const { messageResponse, messageResponseDelayMs } = injection;
    if (messageResponse !== undefined && !SIM_ANSWERS.includes(messageResponse)) {
      throw new TypeError(
        `${where}: messageResponse ${String(messageResponse)} is not an answer (OK, CANCEL, ABORT, RETRY, IGNORE, YES, NO or TIMEOUT)`,
      );
    }
    const delayMs = checkLatency(messageResponseDelayMs ?? 0, `${where}: messageResponseDelayMs`);
    for (const [operation, entry] of entries) this.#entries.set(key(operation, sessionId), entry);
    if (messageResponse === undefined) this.#answers.delete(sessionId);
    else this.#answers.set(sessionId, { response: messageResponse, delayMs });
  }

  /** What the next `operation` on `sessionId` does; counts a failure when it fails. */
  take(operation: SimOperation, sessionId: number): InjectedFault {
    const entry = this.#entries.get(key(operation, sessionId));
    if (entry === undefined) return { latencyMs: 0, win32Error: undefined };
    let win32Error: number | undefined;
    if (
      entry.win32Error !== undefined &&
      (entry.failTimes === undefined || entry.failures < entry.failTimes)
    ) {
      entry.failures++;
      win32Error = entry.win32Error;
    }
    return { latencyMs: entry.latencyMs, win32Error };
  }

  /**
   * How the user of `sessionId` answers a box with `buttons`: the injected answer (a button the
   * box lacks read as its first button), or `undefined` when nobody answers.
   */
  answer(sessionId: number, buttons: MessageButtons): InjectedAnswer | undefined {
    const injected = this.#answers.get(sessionId);
    if (injected === undefined || injected.response === MessageResponse.TIMEOUT) return undefined;
    const allowed = BUTTON_ANSWERS.get(buttons) ?? [MessageResponse.OK];
    const response = allowed.includes(injected.response)
      ? injected.response
      : (allowed[0] ?? MessageResponse.OK);
    return { response, delayMs: injected.delayMs };
  }
}

function key(operation: SimOperation, sessionId: number): string {
  return `${operation}:${sessionId}`;
}

/**
 * Checks a latency in milliseconds.
 * @throws TypeError outside 0..2147483647.
 */
export function checkLatency(ms: number, where: string): number {
  if (!(Number.isFinite(ms) && ms >= 0 && ms <= MAX_SIM_LATENCY_MS)) {
    throw new TypeError(
      `${where}: ${ms} is not a latency in milliseconds (0..${MAX_SIM_LATENCY_MS})`,
    );
  }
  return ms;
}
