/**
 * `kernel32.dll`: the process and error functions that the `wts` backend, the Windows service and
 * wmsctl (its own session, for `caller_session_id`) all need, declared once.
 */
import { loadKoffi, loadOnce, type NativeFunction } from "./koffi.js";

/** The functions of `kernel32.dll` that wmsfleet calls. */
export interface Kernel32 {
  /** `DWORD GetLastError()`: read right after the call that failed, on the same thread. */
  readonly GetLastError: NativeFunction;
  /** `DWORD GetCurrentProcessId()`. */
  readonly GetCurrentProcessId: NativeFunction;
  /** `BOOL ProcessIdToSessionId(DWORD, DWORD *)`: only reads the process table, runs inline. */
  readonly ProcessIdToSessionId: NativeFunction;
  /** `int lstrlenW(LPCWSTR)`: the length of a NUL-terminated UTF-16 string in memory. */
  readonly lstrlenW: NativeFunction;
  /** `HLOCAL LocalFree(HLOCAL)`: frees what advapi32's security functions allocated. */
  readonly LocalFree: NativeFunction;
  /** `HANDLE GetCurrentProcess()`: a pseudo-handle, never closed. */
  readonly GetCurrentProcess: NativeFunction;
  /** `BOOL CloseHandle(HANDLE)` */
  readonly CloseHandle: NativeFunction;
}

/** `kernel32.dll`, loaded once. @throws off Windows, or when koffi cannot be loaded. */
export const loadKernel32: () => Promise<Kernel32> = loadOnce(async () => {
  const kernel32 = (await loadKoffi()).load("kernel32.dll");
  return {
    GetLastError: kernel32.func("uint32_t __stdcall GetLastError()"),
    GetCurrentProcessId: kernel32.func("uint32_t __stdcall GetCurrentProcessId()"),
    ProcessIdToSessionId: kernel32.func(
      "int __stdcall ProcessIdToSessionId(uint32_t dwProcessId, _Out_ uint32_t *pSessionId)",
    ),
    lstrlenW: kernel32.func("int __stdcall lstrlenW(void *lpString)"),
    LocalFree: kernel32.func("void * __stdcall LocalFree(void *hMem)"),
    GetCurrentProcess: kernel32.func("void * __stdcall GetCurrentProcess()"),
    CloseHandle: kernel32.func("int __stdcall CloseHandle(void *hObject)"),
  };
});
