/**
 * The Windows session `wmsctl` itself runs in, for `caller_session_id` (DESIGN section 3, rule 4):
 * `ProcessIdToSessionId(GetCurrentProcessId())` from `kernel32.dll`, declared once for every
 * part of wmsfleet in `common/native/kernel32.ts` and loaded on the first call, on Windows only:
 * importing this module on Linux loads no native code.
 */
import { loadKernel32, type Kernel32 } from "../common/native/kernel32.js";

/** Why the session could not be read: `win32Error` is `GetLastError()` when Windows said why. */
export class WindowsSessionError extends Error {
  override readonly name = "WindowsSessionError";
  constructor(
    message: string,
    readonly win32Error?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** kernel32's functions, or why they cannot be had. @throws WindowsSessionError */
async function kernel32Api(): Promise<Kernel32> {
  if (process.platform !== "win32") {
    throw new WindowsSessionError(
      `ProcessIdToSessionId needs Windows (this is ${process.platform})`,
    );
  }
  try {
    return await loadKernel32();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new WindowsSessionError(`cannot load kernel32.dll through koffi: ${reason}`, undefined, {
      cause: error,
    });
  }
}

/** `ProcessIdToSessionId(pid)`, its BOOL checked. */
function sessionOf(api: Kernel32, pid: number): number {
  const sessionId: [number] = [0];
  if (api.ProcessIdToSessionId(pid, sessionId) === 0) {
    const code = api.GetLastError() as number;
    throw new WindowsSessionError(`ProcessIdToSessionId(${pid}) failed: Win32 error ${code}`, code);
  }
  return sessionId[0];
}

/**
 * The Windows session of this process (0 under a service, 1 and up for interactive users):
 * `ProcessIdToSessionId(GetCurrentProcessId())`. Both calls only read the process table, so
 * they run synchronously once koffi is loaded.
 * @throws WindowsSessionError off Windows, when koffi or kernel32 cannot be loaded, or when
 *   the call fails (with its `GetLastError()` code).
 */
export async function currentWindowsSessionId(): Promise<number> {
  const api = await kernel32Api();
  return sessionOf(api, api.GetCurrentProcessId() as number);
}

/**
 * The session of any process: `ProcessIdToSessionId(pid)`. Exported for the Wine tier, which
 * checks the failure path with a process id that is never in use.
 * @throws WindowsSessionError as {@link currentWindowsSessionId}: 87 for no such process, 5 for
 *   access denied.
 */
export async function windowsSessionIdOf(pid: number): Promise<number> {
  return sessionOf(await kernel32Api(), pid);
}
