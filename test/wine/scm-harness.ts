/**
 * The Service Control Manager's view of a service, inside Windows Node under Wine (bundled by
 * `wine-env.ts`; run by `service-scm-wine.test.ts`), through advapi32 as any SCM client sees it:
 *
 * - `status OUTPUT NAME`: one `QueryServiceStatus` (state, controls accepted, checkpoint, wait
 *   hint, exit codes);
 * - `preshutdown OUTPUT NAME`: the preshutdown timeout (`QueryServiceConfig2W`, level 7);
 * - `control OUTPUT NAME CODE`: `ControlService` with CODE (what Wine's SCM does with it);
 * - `watch OUTPUT NAME`: `QueryServiceStatus` every 50 ms until the service is STOPPED (or
 *   two minutes pass), keeping each distinct status: the checkpoints of a drain.
 */
import { writeFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import koffi from "koffi";

const [role = "", outFile = "", name = "", code = "0"] = process.argv.slice(2);

const STATUS = koffi.struct("SCM_HARNESS_STATUS", {
  dwServiceType: "uint32_t",
  dwCurrentState: "uint32_t",
  dwControlsAccepted: "uint32_t",
  dwWin32ExitCode: "uint32_t",
  dwServiceSpecificExitCode: "uint32_t",
  dwCheckPoint: "uint32_t",
  dwWaitHint: "uint32_t",
});
const advapi32 = koffi.load("advapi32.dll");
const kernel32 = koffi.load("kernel32.dll");
const OpenSCManagerW = advapi32.func(
  "void * __stdcall OpenSCManagerW(const char16_t *machine, const char16_t *database, uint32_t access)",
);
const OpenServiceW = advapi32.func(
  "void * __stdcall OpenServiceW(void *manager, const char16_t *name, uint32_t access)",
);
const QueryServiceStatus = advapi32.func(
  "int __stdcall QueryServiceStatus(void *service, _Out_ SCM_HARNESS_STATUS *status)",
);
const ControlService = advapi32.func(
  "int __stdcall ControlService(void *service, uint32_t control, _Out_ SCM_HARNESS_STATUS *status)",
);
const CloseServiceHandle = advapi32.func("int __stdcall CloseServiceHandle(void *handle)");
const QueryServiceConfig2W = advapi32.func(
  "int __stdcall QueryServiceConfig2W(void *service, uint32_t level, _Out_ uint8_t *buffer, uint32_t size, _Out_ uint32_t *needed)",
);
const GetLastError = kernel32.func("uint32_t __stdcall GetLastError()");
void STATUS;

type Status = Record<string, number>;

const manager: unknown = OpenSCManagerW(null, null, 0x1);
// SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS | SERVICE_STOP | SERVICE_INTERROGATE |
// SERVICE_USER_DEFINED_CONTROL
const service: unknown = OpenServiceW(manager, name, 0x1 | 0x4 | 0x20 | 0x80 | 0x100);
const query = (): Status => {
  const status: Status = {};
  if (QueryServiceStatus(service, status) === 0) {
    throw new Error(`QueryServiceStatus failed with ${GetLastError() as number}`);
  }
  return status;
};

let result: unknown;
try {
  if (service === null)
    throw new Error(`OpenServiceW(${name}) failed with ${GetLastError() as number}`);
  if (role === "status") {
    result = query();
  } else if (role === "preshutdown") {
    // SERVICE_CONFIG_PRESHUTDOWN_INFO: one DWORD, the timeout in milliseconds.
    const buffer = Buffer.alloc(4);
    const needed = [0];
    if (QueryServiceConfig2W(service, 7, buffer, 4, needed) === 0) {
      throw new Error(`QueryServiceConfig2W failed with ${GetLastError() as number}`);
    }
    result = buffer.readUInt32LE(0);
  } else if (role === "control") {
    const status: Status = {};
    const ok = ControlService(service, Number(code), status) as number;
    result = { ok: ok !== 0, lastError: ok !== 0 ? 0 : (GetLastError() as number), status };
  } else if (role === "watch") {
    const seen: Status[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = query();
      const previous = seen.at(-1);
      if (
        previous === undefined ||
        Object.keys(status).some((key) => status[key] !== previous[key])
      ) {
        seen.push(status);
      }
      if (status["dwCurrentState"] === 1 || Date.now() > deadline) break;
      await delay(50);
    }
    result = seen;
  } else {
    throw new Error(`unknown role ${role}`);
  }
  writeFileSync(outFile, JSON.stringify({ result }));
} catch (error) {
  writeFileSync(
    outFile,
    JSON.stringify({ fatal: error instanceof Error ? error.stack : String(error) }),
  );
} finally {
  if (service !== null) CloseServiceHandle(service);
  CloseServiceHandle(manager);
}
