/**
 * `iphlpapi.dll`: `GetExtendedTcpTable`, with which protection rule 3 finds the process at the
 * other end of a loopback connection on Windows (`agent/caller/windows-peer-process.ts`). The
 * table is read as raw bytes and decoded by the caller, so no type is declared.
 */
import { loadKoffi, loadOnce, type NativeFunction } from "./koffi.js";

/** The functions of `iphlpapi.dll` that wmsfleet calls. */
export interface Iphlpapi {
  /**
   * `DWORD GetExtendedTcpTable(PVOID, PDWORD, BOOL, ULONG, TCP_TABLE_CLASS, ULONG)`: copies the
   * whole table; call it with `.async`, off the event loop.
   */
  readonly GetExtendedTcpTable: NativeFunction;
}

/** `iphlpapi.dll`, loaded once. @throws off Windows, or when koffi cannot be loaded. */
export const loadIphlpapi: () => Promise<Iphlpapi> = loadOnce(async () => ({
  GetExtendedTcpTable: (await loadKoffi())
    .load("iphlpapi.dll")
    .func(
      "uint32_t __stdcall GetExtendedTcpTable(void *pTcpTable, _Inout_ uint32_t *pdwSize, int bOrder, uint32_t ulAf, int32_t TableClass, uint32_t Reserved)",
    ),
}));
