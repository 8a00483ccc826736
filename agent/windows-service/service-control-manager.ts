/**
 * The Windows service side of `wms-agent service run`: the handshake every Windows service owes
 * the Service Control Manager (`StartServiceCtrlDispatcherW`, `RegisterServiceCtrlHandlerExW`,
 * `SetServiceStatus` in `advapi32.dll`), by the SCM's rules:
 *
 * - START_PENDING, accepting STOP, until the agent serves; RUNNING only then. A stop that arrives
 *   while it starts is honoured (the agent stops without serving), never lost.
 * - STOP, PRESHUTDOWN (the machine is shutting down, before SHUTDOWN, with the time the service's
 *   preshutdown timeout gives, which the agent sets to its grace period and
 *   {@link STOP_MARGIN_MS} at each start) and SHUTDOWN all drain: STOP_PENDING, the checkpoint advancing
 *   every {@link CHECKPOINT_INTERVAL_MS} with a wait hint of the grace that remains, so that
 *   `Stop-Service` and services.msc see progress rather than a frozen service.
 * - A requested stop reports success (`dwWin32ExitCode` 0) even when calls were cut at the end
 *   of the grace period: the agent's exit status, not the SCM's, says so, and the log lists them.
 *   A failure the SCM did not ask for is `ERROR_SERVICE_SPECIFIC_ERROR` with the agent's status,
 *   so that its failure actions restart it.
 * - SESSIONCHANGE (logon, log-off, lock, unlock, connect, disconnect, with the session id) goes
 *   to the agent ({@link ServiceHooks.onSessionChange}); PARAMCHANGE reloads (as SIGHUP).
 *
 * The native functions come from `common/native/` (advapi32, kernel32), loaded only on Windows
 * when the SCM started the process. The dispatcher blocks one koffi worker thread (of libuv's
 * pool) for the life of the service; the SCM calls `ServiceMain` and the control handler on its
 * own threads, and koffi runs both on the event loop's thread.
 */
import { loadAdvapi32 } from "../../common/native/advapi32.js";
import { loadKernel32 } from "../../common/native/kernel32.js";
import { sessionChangeKind, type ServiceHooks, type SessionChange } from "./service-hooks.js";

/** `SERVICE_STATUS` values used here. */
const SERVICE_WIN32_OWN_PROCESS = 0x10;
/** `dwCurrentState` values. */
export const ServiceState = {
  STOPPED: 1,
  START_PENDING: 2,
  STOP_PENDING: 3,
  RUNNING: 4,
} as const;
/** `dwControlsAccepted` bits. */
export const ServiceAccept = {
  STOP: 0x1,
  SHUTDOWN: 0x4,
  PARAMCHANGE: 0x8,
  SESSIONCHANGE: 0x80,
  PRESHUTDOWN: 0x100,
} as const;
/** `HandlerEx` control codes. */
export const ServiceControl = {
  STOP: 1,
  INTERROGATE: 4,
  SHUTDOWN: 5,
  PARAMCHANGE: 6,
  SESSIONCHANGE: 0xe,
  PRESHUTDOWN: 0xf,
} as const;
const NO_ERROR = 0;
const ERROR_CALL_NOT_IMPLEMENTED = 120;
const ERROR_SERVICE_SPECIFIC_ERROR = 1066;
const SC_MANAGER_CONNECT = 0x1;
const SERVICE_CHANGE_CONFIG = 0x2;
const SERVICE_CONFIG_PRESHUTDOWN_INFO = 7;
/** `StartServiceCtrlDispatcherW` outside a service: the SCM did not start this process. */
export const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT = 1063;

/** The wait hint while starting: the SCM waits this long between checkpoints before error 7009. */
export const START_WAIT_HINT_MS = 30_000;
/** How often the checkpoint advances while the agent drains. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/**
 * Added to the grace that remains in the wait hint: the agent closes its audit log, flushes its
 * log and returns after the drain, and the SCM must not call that hung.
 */
export const STOP_MARGIN_MS = 5000;

/** What the agent does with a control code from the SCM. */
export type ServiceControlAction =
  "stop" | "reload" | "session-change" | "interrogate" | "unsupported";

/**
 * Maps a `HandlerEx` control code to the agent's action: stop, preshutdown and shutdown drain
 * and stop, `paramchange` reloads the configuration (as SIGHUP does on Unix), sessionchange is
 * news for the watch, interrogate only reports.
 */
export function serviceControlAction(control: number): ServiceControlAction {
  switch (control) {
    case ServiceControl.STOP:
    case ServiceControl.SHUTDOWN:
    case ServiceControl.PRESHUTDOWN:
      return "stop";
    case ServiceControl.PARAMCHANGE:
      return "reload";
    case ServiceControl.SESSIONCHANGE:
      return "session-change";
    case ServiceControl.INTERROGATE:
      return "interrogate";
    default:
      return "unsupported";
  }
}

/** One `SERVICE_STATUS` the service reports. */
export interface ServiceStatus {
  readonly dwServiceType: number;
  readonly dwCurrentState: number;
  readonly dwControlsAccepted: number;
  readonly dwWin32ExitCode: number;
  readonly dwServiceSpecificExitCode: number;
  readonly dwCheckPoint: number;
  readonly dwWaitHint: number;
}

/** The controls accepted in each state. */
export function controlsAccepted(state: number): number {
  switch (state) {
    case ServiceState.START_PENDING:
      // A stop while starting is honoured; the machine may shut down meanwhile too.
      return ServiceAccept.STOP | ServiceAccept.SHUTDOWN | ServiceAccept.PRESHUTDOWN;
    case ServiceState.RUNNING:
      return (
        ServiceAccept.STOP |
        ServiceAccept.SHUTDOWN |
        ServiceAccept.PRESHUTDOWN |
        ServiceAccept.PARAMCHANGE |
        ServiceAccept.SESSIONCHANGE
      );
    default:
      return 0;
  }
}

/** Options of {@link createServiceStatusMachine}. */
export interface StatusMachineOptions {
  /** Reports one status to the SCM (`SetServiceStatus`). */
  readonly report: (status: ServiceStatus) => void;
  /** @default Date.now */
  readonly now?: () => number;
  /** Runs `tick` every `ms` until the returned function is called. @default setInterval */
  readonly every?: (ms: number, tick: () => void) => () => void;
}

/**
 * The service's status as the SCM sees it, by the rules of the module comment; the native
 * handshake drives it, and tests drive it without Windows.
 */
export interface ServiceStatusMachine {
  /** START_PENDING: the handler is registered, the agent starts. */
  starting(): void;
  /** The agent serves: RUNNING, unless a stop came first. */
  serving(): void;
  /** The SCM asked for a stop: STOP_PENDING at once (the drain's length is not known yet). */
  stopRequested(): void;
  /** The agent drains for `graceMs`: the checkpoint advances with the grace that remains. */
  draining(graceMs: number): void;
  /** The agent ended with `exitCode`: STOPPED, success when the SCM asked for the stop. */
  stopped(exitCode: number): void;
  /** The last status reported. */
  current(): ServiceStatus | undefined;
}

/** Makes a {@link ServiceStatusMachine}. */
export function createServiceStatusMachine(options: StatusMachineOptions): ServiceStatusMachine {
  const now = options.now ?? Date.now;
  const every =
    options.every ??
    ((ms: number, tick: () => void) => {
      const timer = setInterval(tick, ms);
      return () => clearInterval(timer);
    });
  let checkPoint = 0;
  let state: number = ServiceState.STOPPED;
  let stopAsked = false;
  let drainEndsAt: number | undefined;
  let stopTicking: (() => void) | undefined;
  let last: ServiceStatus | undefined;

  const report = (next: number, waitHintMs: number, exit = { win32: NO_ERROR, specific: 0 }) => {
    const pending = next === ServiceState.START_PENDING || next === ServiceState.STOP_PENDING;
    checkPoint = pending ? checkPoint + 1 : 0;
    state = next;
    last = {
      dwServiceType: SERVICE_WIN32_OWN_PROCESS,
      dwCurrentState: next,
      dwControlsAccepted: controlsAccepted(next),
      dwWin32ExitCode: exit.win32,
      dwServiceSpecificExitCode: exit.specific,
      dwCheckPoint: checkPoint,
      dwWaitHint: pending ? waitHintMs : 0,
    };
    options.report(last);
  };
  const remainingHint = () => Math.max(0, (drainEndsAt ?? now()) - now()) + STOP_MARGIN_MS;

  return {
    starting: () => report(ServiceState.START_PENDING, START_WAIT_HINT_MS),
    serving() {
      if (stopAsked || state !== ServiceState.START_PENDING) return;
      report(ServiceState.RUNNING, 0);
    },
    stopRequested() {
      if (stopAsked) return;
      stopAsked = true;
      report(ServiceState.STOP_PENDING, START_WAIT_HINT_MS);
    },
    draining(graceMs) {
      if (state === ServiceState.STOPPED) return;
      drainEndsAt = now() + graceMs;
      report(ServiceState.STOP_PENDING, remainingHint());
      stopTicking?.();
      stopTicking = every(CHECKPOINT_INTERVAL_MS, () => {
        if (state === ServiceState.STOP_PENDING) report(ServiceState.STOP_PENDING, remainingHint());
      });
    },
    stopped(exitCode) {
      stopTicking?.();
      stopTicking = undefined;
      const success = exitCode === 0 || stopAsked;
      report(
        ServiceState.STOPPED,
        0,
        success
          ? { win32: NO_ERROR, specific: 0 }
          : { win32: ERROR_SERVICE_SPECIFIC_ERROR, specific: exitCode },
      );
    },
    current: () => last,
  };
}

/** What {@link runAsService} gives the agent: the hooks of `service-hooks.ts`. */
export type ServiceRun = ServiceHooks;

/**
 * Runs `run` as the service `name` by the rules of the module comment, and resolves `run`'s exit
 * status (the process's; the SCM is told success for a stop it asked for).
 *
 * Rejects with an Error carrying `code` 1063 when the process was not started by the SCM.
 */
export async function runAsService(
  name: string,
  run: (service: ServiceRun) => Promise<number>,
): Promise<number> {
  if (process.platform !== "win32") throw new Error("Windows services exist on Windows only");
  const [api, { GetLastError }] = await Promise.all([loadAdvapi32(), loadKernel32()]);
  const { koffi } = api;
  const stop = new AbortController();
  const sessionListeners = new Set<(change: SessionChange) => void>();
  let handle: unknown = null;
  const machine = createServiceStatusMachine({
    report: (status) => {
      if (handle !== null) api.SetServiceStatus(handle, status);
    },
  });

  /** `ChangeServiceConfig2W(SERVICE_CONFIG_PRESHUTDOWN_INFO)` on this service. */
  const setPreshutdownTimeout = (service: string, timeoutMs: number): string | undefined => {
    const manager: unknown = api.OpenSCManagerW(null, null, SC_MANAGER_CONNECT);
    if (manager === null)
      return `OpenSCManagerW failed with Win32 error ${GetLastError() as number}`;
    try {
      const handle: unknown = api.OpenServiceW(manager, service, SERVICE_CHANGE_CONFIG);
      if (handle === null)
        return `OpenServiceW failed with Win32 error ${GetLastError() as number}`;
      try {
        const info = { dwPreshutdownTimeout: timeoutMs };
        if (
          (api.ChangeServiceConfig2W(handle, SERVICE_CONFIG_PRESHUTDOWN_INFO, info) as number) === 0
        ) {
          return `ChangeServiceConfig2W failed with Win32 error ${GetLastError() as number}`;
        }
        return undefined;
      } finally {
        api.CloseServiceHandle(handle);
      }
    } finally {
      api.CloseServiceHandle(manager);
    }
  };

  const handler = koffi.register(
    (control: number, eventType: number, eventData: unknown): number => {
      switch (serviceControlAction(control)) {
        case "stop":
          machine.stopRequested();
          stop.abort(
            new Error(
              control === ServiceControl.STOP
                ? "service stop"
                : control === ServiceControl.PRESHUTDOWN
                  ? "system shutdown (preshutdown)"
                  : "system shutdown",
            ),
          );
          return NO_ERROR;
        case "reload":
          // `sc.exe control NAME paramchange`: Windows has no SIGHUP, this is the same request.
          process.emit("SIGHUP", "SIGHUP");
          return NO_ERROR;
        case "session-change": {
          const kind = sessionChangeKind(eventType);
          // WTSSESSION_NOTIFICATION: DWORD cbSize, DWORD dwSessionId.
          const sessionId =
            eventData === null ? undefined : (koffi.decode(eventData, 4, "uint32_t") as number);
          if (kind !== undefined && sessionId !== undefined) {
            for (const listener of [...sessionListeners]) listener({ kind, sessionId });
          }
          return NO_ERROR;
        }
        case "interrogate":
          return NO_ERROR;
        case "unsupported":
          return ERROR_CALL_NOT_IMPLEMENTED;
      }
    },
    koffi.pointer(api.HandlerProto),
  );

  let serviceMainCalled: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (serviceMainCalled = resolve));
  const serviceMain = koffi.register((): void => {
    handle = api.RegisterServiceCtrlHandlerExW(name, handler, null);
    machine.starting();
    serviceMainCalled();
  }, koffi.pointer(api.ServiceMainProto));

  const dispatcher = new Promise<void>((resolve, reject) => {
    const table = [
      { lpServiceName: name, lpServiceProc: serviceMain },
      { lpServiceName: null, lpServiceProc: null },
    ];
    api.StartServiceCtrlDispatcherW.async(table, (error: unknown, ok: number) => {
      const lastError = GetLastError() as number;
      if (error !== null && error !== undefined) {
        reject(new Error("StartServiceCtrlDispatcherW failed", { cause: error }));
      } else if (ok === 0) {
        reject(
          Object.assign(
            new Error(
              lastError === ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
                ? "not started by the Service Control Manager: use `wms-agent service start`, or run wms-agent without `service run`"
                : `StartServiceCtrlDispatcherW failed with Win32 error ${lastError}`,
            ),
            { code: lastError },
          ),
        );
      } else {
        resolve();
      }
    });
  });

  try {
    await Promise.race([started, dispatcher]);
    if (handle === null) throw new Error(`RegisterServiceCtrlHandlerExW(${name}) failed`);
    let exitCode = 1;
    try {
      exitCode = await run({
        stopSignal: stop.signal,
        serving: () => machine.serving(),
        draining: (graceMs) => machine.draining(graceMs),
        setStopGrace: (graceMs) => setPreshutdownTimeout(name, graceMs + STOP_MARGIN_MS),
        onSessionChange(listener) {
          sessionListeners.add(listener);
          return () => sessionListeners.delete(listener);
        },
      });
    } finally {
      sessionListeners.clear();
      machine.stopped(exitCode);
    }
    // With the last service stopped the dispatcher returns.
    await dispatcher;
    return exitCode;
  } finally {
    koffi.unregister(serviceMain);
    koffi.unregister(handler);
  }
}
