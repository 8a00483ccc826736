/**
 * `advapi32.dll`: the Service Control Manager's side of a Windows service
 * (`agent/windows-service/service-control-manager.ts`): `StartServiceCtrlDispatcherW`,
 * `RegisterServiceCtrlHandlerExW` and `SetServiceStatus`, with the two callback prototypes and
 * the two structs they take; and a file's security descriptor as SDDL
 * and the process's user SID (`agent/security/windows-file-acl.ts`: is the agent's private key
 * private, may only administrators change what the service runs?); the service's own
 * preshutdown timeout (`ChangeServiceConfig2W`) and the Event Log (`ReportEventW`); a session
 * user's groups for the `wts` backend (`GetTokenInformation(TokenGroups)`, `LookupAccountSidW`).
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
  /**
   * `DWORD GetNamedSecurityInfoW(LPCWSTR, SE_OBJECT_TYPE, SECURITY_INFORMATION, PSID *, PSID *,
   * PACL *, PACL *, PSECURITY_DESCRIPTOR *)`: a file's security descriptor (free it with
   * `LocalFree`); returns a Win32 error.
   */
  readonly GetNamedSecurityInfoW: NativeFunction;
  /**
   * `BOOL ConvertSecurityDescriptorToStringSecurityDescriptorW(PSECURITY_DESCRIPTOR, DWORD,
   * SECURITY_INFORMATION, LPWSTR *, PULONG)`: its SDDL text (free it with `LocalFree`).
   */
  readonly ConvertSecurityDescriptorToStringSecurityDescriptorW: NativeFunction;
  /** `BOOL OpenProcessToken(HANDLE, DWORD, PHANDLE)` */
  readonly OpenProcessToken: NativeFunction;
  /** `BOOL GetTokenInformation(HANDLE, TOKEN_INFORMATION_CLASS, LPVOID, DWORD, PDWORD)`, into bytes. */
  readonly GetTokenInformation: NativeFunction;
  /** `BOOL ConvertSidToStringSidW(PSID, LPWSTR *)` (free the text with `LocalFree`). */
  readonly ConvertSidToStringSidW: NativeFunction;
  /** `SC_HANDLE OpenSCManagerW(LPCWSTR, LPCWSTR, DWORD)` */
  readonly OpenSCManagerW: NativeFunction;
  /** `SC_HANDLE OpenServiceW(SC_HANDLE, LPCWSTR, DWORD)` */
  readonly OpenServiceW: NativeFunction;
  /** `BOOL CloseServiceHandle(SC_HANDLE)` */
  readonly CloseServiceHandle: NativeFunction;
  /** `BOOL ChangeServiceConfig2W(SC_HANDLE, DWORD, SERVICE_PRESHUTDOWN_INFO *)`: level 7 only. */
  readonly ChangeServiceConfig2W: NativeFunction;
  /** `HANDLE RegisterEventSourceW(LPCWSTR, LPCWSTR)` */
  readonly RegisterEventSourceW: NativeFunction;
  /** `BOOL ReportEventW(HANDLE, WORD, WORD, DWORD, PSID, WORD, DWORD, LPCWSTR *, LPVOID)` */
  readonly ReportEventW: NativeFunction;
  /** `BOOL DeregisterEventSource(HANDLE)` */
  readonly DeregisterEventSource: NativeFunction;
  /**
   * `BOOL LookupAccountSidW(LPCWSTR, PSID, LPWSTR Name, LPDWORD cchName, LPWSTR
   * ReferencedDomainName, LPDWORD cchReferencedDomainName, PSID_NAME_USE)`: a SID's account or
   * group name and its domain, into caller buffers (sizes in characters, NUL included).
   */
  readonly LookupAccountSidW: NativeFunction;
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
  koffi.struct("SERVICE_PRESHUTDOWN_INFO", { dwPreshutdownTimeout: "uint32_t" });
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
    GetNamedSecurityInfoW: advapi32.func(
      "uint32_t __stdcall GetNamedSecurityInfoW(const char16_t *pObjectName, int ObjectType, uint32_t SecurityInfo, _Out_ void **ppsidOwner, _Out_ void **ppsidGroup, _Out_ void **ppDacl, _Out_ void **ppSacl, _Out_ void **ppSecurityDescriptor)",
    ),
    ConvertSecurityDescriptorToStringSecurityDescriptorW: advapi32.func(
      "int __stdcall ConvertSecurityDescriptorToStringSecurityDescriptorW(void *SecurityDescriptor, uint32_t RequestedStringSDRevision, uint32_t SecurityInformation, _Out_ void **StringSecurityDescriptor, _Out_ uint32_t *StringSecurityDescriptorLen)",
    ),
    OpenProcessToken: advapi32.func(
      "int __stdcall OpenProcessToken(void *ProcessHandle, uint32_t DesiredAccess, _Out_ void **TokenHandle)",
    ),
    GetTokenInformation: advapi32.func(
      "int __stdcall GetTokenInformation(void *TokenHandle, int TokenInformationClass, _Out_ uint8_t *TokenInformation, uint32_t TokenInformationLength, _Out_ uint32_t *ReturnLength)",
    ),
    ConvertSidToStringSidW: advapi32.func(
      "int __stdcall ConvertSidToStringSidW(void *Sid, _Out_ void **StringSid)",
    ),
    OpenSCManagerW: advapi32.func(
      "void * __stdcall OpenSCManagerW(const char16_t *lpMachineName, const char16_t *lpDatabaseName, uint32_t dwDesiredAccess)",
    ),
    OpenServiceW: advapi32.func(
      "void * __stdcall OpenServiceW(void *hSCManager, const char16_t *lpServiceName, uint32_t dwDesiredAccess)",
    ),
    CloseServiceHandle: advapi32.func("int __stdcall CloseServiceHandle(void *hSCObject)"),
    ChangeServiceConfig2W: advapi32.func(
      "int __stdcall ChangeServiceConfig2W(void *hService, uint32_t dwInfoLevel, SERVICE_PRESHUTDOWN_INFO *lpInfo)",
    ),
    RegisterEventSourceW: advapi32.func(
      "void * __stdcall RegisterEventSourceW(const char16_t *lpUNCServerName, const char16_t *lpSourceName)",
    ),
    ReportEventW: advapi32.func(
      "int __stdcall ReportEventW(void *hEventLog, uint16_t wType, uint16_t wCategory, uint32_t dwEventID, void *lpUserSid, uint16_t wNumStrings, uint32_t dwDataSize, const char16_t **lpStrings, void *lpRawData)",
    ),
    DeregisterEventSource: advapi32.func("int __stdcall DeregisterEventSource(void *hEventLog)"),
    LookupAccountSidW: advapi32.func(
      "int __stdcall LookupAccountSidW(const char16_t *lpSystemName, void *Sid, _Out_ uint8_t *Name, _Inout_ uint32_t *cchName, _Out_ uint8_t *ReferencedDomainName, _Inout_ uint32_t *cchReferencedDomainName, _Out_ int32_t *peUse)",
    ),
  };
});
