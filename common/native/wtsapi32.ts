/**
 * `wtsapi32.dll`, the Remote Desktop Services API of the `wts` backend (DESIGN section 4): its
 * functions, the `WTS_SESSION_INFOW` struct `WTSEnumerateSessionsW` returns, and the raw bytes
 * of the `WTSINFOW` struct `WTSQuerySessionInformationW(WTSSessionInfo)` returns.
 */
import { loadKoffi, loadOnce, type Koffi, type NativeFunction, type NativeType } from "./koffi.js";

/** Size of `WTSINFOW` on x64: 8 DWORDs, 70 WCHARs, padding to 8, then 5 LARGE_INTEGERs. */
export const WTSINFOW_SIZE = 216;

/** The types, declared once for the process. */
export interface WtsTypes {
  readonly koffi: Koffi;
  /** `WTS_SESSION_INFOW { DWORD SessionId; LPWSTR pWinStationName; WTS_CONNECTSTATE_CLASS State; }` */
  readonly sessionInfoType: NativeType;
  /** `WTSINFOW`, decoded as {@link WTSINFOW_SIZE} bytes (the backend reads its fields itself). */
  readonly wtsInfoBytes: NativeType;
}

/** The functions of one `wtsapi32` DLL, with the types they take. */
export interface Wtsapi32 extends WtsTypes {
  readonly WTSEnumerateSessionsW: NativeFunction;
  readonly WTSQuerySessionInformationW: NativeFunction;
  readonly WTSDisconnectSession: NativeFunction;
  readonly WTSLogoffSession: NativeFunction;
  readonly WTSSendMessageW: NativeFunction;
  /** Blocks until a session event (or a flush); call it with `.async`, off the event loop. */
  readonly WTSWaitSystemEvent: NativeFunction;
  readonly WTSFreeMemory: NativeFunction;
  /**
   * `BOOL WTSQueryUserToken(ULONG SessionId, PHANDLE phToken)`: the logged-on user's primary token
   * (close it with `CloseHandle`); needs the agent to run as LocalSystem (`SE_TCB_NAME`).
   */
  readonly WTSQueryUserToken: NativeFunction;
}

const loadTypes = loadOnce(async (): Promise<WtsTypes> => {
  const koffi = await loadKoffi();
  return {
    koffi,
    sessionInfoType: koffi.struct("WTS_SESSION_INFOW", {
      SessionId: "uint32_t",
      pWinStationName: "void *",
      State: "int32_t",
    }),
    wtsInfoBytes: koffi.array("uint8_t", WTSINFOW_SIZE, "Typed"),
  };
});

const libraries = new Map<string, () => Promise<Wtsapi32>>();

/**
 * The WTS API of `dll` (a bare name is found by Windows' DLL search order, a path is that file;
 * the Wine tier loads a test DLL), loaded once per name.
 * @throws off Windows, or when the DLL or one of its functions cannot be loaded.
 */
export function loadWtsapi32(dll = "wtsapi32.dll"): Promise<Wtsapi32> {
  let load = libraries.get(dll);
  if (load === undefined) {
    load = loadOnce(async () => {
      const types = await loadTypes();
      const wts = types.koffi.load(dll);
      return {
        ...types,
        WTSEnumerateSessionsW: wts.func(
          "int __stdcall WTSEnumerateSessionsW(void *hServer, uint32_t Reserved, uint32_t Version, _Out_ void **ppSessionInfo, _Out_ uint32_t *pCount)",
        ),
        WTSQuerySessionInformationW: wts.func(
          "int __stdcall WTSQuerySessionInformationW(void *hServer, uint32_t SessionId, int32_t WTSInfoClass, _Out_ void **ppBuffer, _Out_ uint32_t *pBytesReturned)",
        ),
        WTSDisconnectSession: wts.func(
          "int __stdcall WTSDisconnectSession(void *hServer, uint32_t SessionId, int bWait)",
        ),
        WTSLogoffSession: wts.func(
          "int __stdcall WTSLogoffSession(void *hServer, uint32_t SessionId, int bWait)",
        ),
        WTSSendMessageW: wts.func(
          "int __stdcall WTSSendMessageW(void *hServer, uint32_t SessionId, const char16_t *pTitle, uint32_t TitleLength, const char16_t *pMessage, uint32_t MessageLength, uint32_t Style, uint32_t Timeout, _Out_ uint32_t *pResponse, int bWait)",
        ),
        WTSWaitSystemEvent: wts.func(
          "int __stdcall WTSWaitSystemEvent(void *hServer, uint32_t EventMask, _Out_ uint32_t *pEventFlags)",
        ),
        WTSFreeMemory: wts.func("void __stdcall WTSFreeMemory(void *pMemory)"),
        WTSQueryUserToken: wts.func(
          "int __stdcall WTSQueryUserToken(uint32_t SessionId, _Out_ void **phToken)",
        ),
      };
    });
    libraries.set(dll, load);
  }
  return load();
}
