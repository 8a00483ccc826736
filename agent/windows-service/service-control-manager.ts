/**
 * The Windows service side of `wms-agent service run`: the handshake every Windows service owes
 * the Service Control Manager (`StartServiceCtrlDispatcherW`, `RegisterServiceCtrlHandlerExW`,
 * `SetServiceStatus` in `advapi32.dll`). Without it the SCM gives up on the process after 30 s
 * (error 1053) and can neither stop it cleanly nor restart it on failure.
 *
 * The native functions come from `common/native/` (advapi32, kernel32), loaded only on Windows
 * when the SCM started the process: being a service is a Win32 contract like the session
 * backend's.
 *
 * The dispatcher blocks one koffi worker thread for the life of the service; the SCM calls
 * `ServiceMain` and the control handler on its own threads, and koffi runs both on the event
 * loop's thread.
 */
import { loadAdvapi32 } from "../../common/native/advapi32.js";
import { loadKernel32 } from "../../common/native/kernel32.js";

/** What the agent gets from the SCM while it runs as a service. */
export interface ServiceRun {
  /**
   * Aborted when the SCM asks the service to stop (stop, or the machine shutting down). A
   * `paramchange` control reaches the agent as SIGHUP (`process.emit`): the configuration reload.
   */
  readonly stopSignal: AbortSignal;
}

/** `SERVICE_STATUS` values used here. */
const SERVICE_WIN32_OWN_PROCESS = 0x10;
const SERVICE_STOPPED = 1;
const SERVICE_START_PENDING = 2;
const SERVICE_STOP_PENDING = 3;
const SERVICE_RUNNING = 4;
const SERVICE_ACCEPT_STOP = 0x1;
const SERVICE_ACCEPT_SHUTDOWN = 0x4;
const SERVICE_ACCEPT_PARAMCHANGE = 0x8;
const SERVICE_CONTROL_STOP = 1;
const SERVICE_CONTROL_INTERROGATE = 4;
const SERVICE_CONTROL_SHUTDOWN = 5;
const SERVICE_CONTROL_PARAMCHANGE = 6;
const NO_ERROR = 0;
const ERROR_CALL_NOT_IMPLEMENTED = 120;
const ERROR_SERVICE_SPECIFIC_ERROR = 1066;
/** `StartServiceCtrlDispatcherW` outside a service: the SCM did not start this process. */
export const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT = 1063;

/** How long the SCM should wait for a stop before it considers the service hung. */
const STOP_WAIT_HINT_MS = 30_000;

/**
 * Runs `run` as the service `name`: reports it running to the SCM, aborts its `stopSignal` on a
 * stop or shutdown request, and reports it stopped with `run`'s exit code (a non-zero code is a
 * failure, so the SCM's failure actions restart it).
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
  let handle: unknown = null;
  let checkPoint = 0;

  const setStatus = (state: number, exitCode = 0, waitHintMs = 0): void => {
    if (handle === null) return;
    const status = {
      dwServiceType: SERVICE_WIN32_OWN_PROCESS,
      dwCurrentState: state,
      dwControlsAccepted:
        state === SERVICE_RUNNING
          ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
          : 0,
      dwWin32ExitCode: exitCode === 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR,
      dwServiceSpecificExitCode: exitCode,
      dwCheckPoint: state === SERVICE_RUNNING || state === SERVICE_STOPPED ? 0 : ++checkPoint,
      dwWaitHint: waitHintMs,
    };
    api.SetServiceStatus(handle, status);
  };

  const handler = koffi.register((control: number): number => {
    switch (serviceControlAction(control)) {
      case "stop":
        setStatus(SERVICE_STOP_PENDING, 0, STOP_WAIT_HINT_MS);
        stop.abort(new Error(control === SERVICE_CONTROL_STOP ? "service stop" : "shutdown"));
        return NO_ERROR;
      case "reload":
        // `sc.exe control NAME paramchange`: Windows has no SIGHUP, this is the same request.
        process.emit("SIGHUP", "SIGHUP");
        return NO_ERROR;
      case "interrogate":
        return NO_ERROR;
      case "unsupported":
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
  }, koffi.pointer(api.HandlerProto));

  let serviceMainCalled: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (serviceMainCalled = resolve));
  const serviceMain = koffi.register((): void => {
    handle = api.RegisterServiceCtrlHandlerExW(name, handler, null);
    setStatus(SERVICE_START_PENDING, 0, STOP_WAIT_HINT_MS);
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
    setStatus(SERVICE_RUNNING);
    let exitCode = 1;
    try {
      exitCode = await run({ stopSignal: stop.signal });
    } finally {
      setStatus(SERVICE_STOPPED, exitCode);
    }
    // With the last service stopped the dispatcher returns.
    await dispatcher;
    return exitCode;
  } finally {
    koffi.unregister(serviceMain);
    koffi.unregister(handler);
  }
}

/** What the agent does with a control code from the SCM. */
export type ServiceControlAction = "stop" | "reload" | "interrogate" | "unsupported";

/**
 * Maps a `HandlerEx` control code to the agent's action: stop and shutdown drain and stop,
 * `paramchange` reloads the configuration (as SIGHUP does on Unix), interrogate only reports.
 */
export function serviceControlAction(control: number): ServiceControlAction {
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      return "stop";
    case SERVICE_CONTROL_PARAMCHANGE:
      return "reload";
    case SERVICE_CONTROL_INTERROGATE:
      return "interrogate";
    default:
      return "unsupported";
  }
}
