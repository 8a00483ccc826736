/**
 * `advapi32.dll`: the Service Control Manager's side of a Windows service
 * (`agent/windows-service/service-control-manager.ts`): `StartServiceCtrlDispatcherW`,
 * `RegisterServiceCtrlHandlerExW` and `SetServiceStatus`, with the two callback prototypes and
 * the two structs they take.
 */
import { loadKoffi, loadOnce, type Koffi, type NativeFunction, type NativeType } from "./koffi.js";

/** The functions and types of `advapi32.dll` that wmsfleet uses. */
export interface Advapi32 {
  /** For `koffi.register` / `koffi.unregister` of the two callbacks. */
  readonly koffi: Koffi;
  /** `VOID WINAPI ServiceMain(DWORD, LPWSTR *)` */
  readonly ServiceMainProto: NativeType;
  /** `DWORD WINAPI HandlerEx(DWORD dwControl, DWORD dwEventType, LPVOID, LPVOID)` */
  readonly HandlerProto: NativeType;
  /**
   * `BOOL StartServiceCtrlDispatcherW(const SERVICE_TABLE_ENTRYW *)`: blocks for the life of the
   * service; call it with `.async`.
   */
  readonly StartServiceCtrlDispatcherW: NativeFunction;
  /** `SERVICE_STATUS_HANDLE RegisterServiceCtrlHandlerExW(LPCWSTR, LPHANDLER_FUNCTION_EX, LPVOID)` */
  readonly RegisterServiceCtrlHandlerExW: NativeFunction;
  /** `BOOL SetServiceStatus(SERVICE_STATUS_HANDLE, LPSERVICE_STATUS)` */
  readonly SetServiceStatus: NativeFunction;
}

/** `advapi32.dll`, loaded once. @throws off Windows, or when koffi cannot be loaded. */
export const loadAdvapi32: () => Promise<Advapi32> = loadOnce(async () => {
  const koffi = await loadKoffi();
  const ServiceMainProto = koffi.proto(
    "void __stdcall SERVICE_MAIN_FUNCTIONW(uint32_t dwNumServicesArgs, void *lpServiceArgVectors)",
  );
  const HandlerProto = koffi.proto(
    "uint32_t __stdcall HANDLER_FUNCTION_EX(uint32_t dwControl, uint32_t dwEventType, void *lpEventData, void *lpContext)",
  );
  koffi.struct("SERVICE_TABLE_ENTRYW", {
    lpServiceName: "const char16_t *",
    lpServiceProc: koffi.pointer(ServiceMainProto),
  });
  koffi.struct("SERVICE_STATUS", {
    dwServiceType: "uint32_t",
    dwCurrentState: "uint32_t",
    dwControlsAccepted: "uint32_t",
    dwWin32ExitCode: "uint32_t",
    dwServiceSpecificExitCode: "uint32_t",
    dwCheckPoint: "uint32_t",
    dwWaitHint: "uint32_t",
  });
  const advapi32 = koffi.load("advapi32.dll");
  return {
    koffi,
    ServiceMainProto,
    HandlerProto,
    StartServiceCtrlDispatcherW: advapi32.func(
      "int __stdcall StartServiceCtrlDispatcherW(SERVICE_TABLE_ENTRYW *lpServiceStartTable)",
    ),
    RegisterServiceCtrlHandlerExW: advapi32.func(
      "void * __stdcall RegisterServiceCtrlHandlerExW(const char16_t *lpServiceName, HANDLER_FUNCTION_EX *lpHandlerProc, void *lpContext)",
    ),
    SetServiceStatus: advapi32.func(
      "int __stdcall SetServiceStatus(void *hServiceStatus, SERVICE_STATUS *lpServiceStatus)",
    ),
  };
});
