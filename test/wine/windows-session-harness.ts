/**
 * Runs inside the Windows build of Node under Wine (bundled by `wine-env.ts`): reads this
 * process's session with wmsctl's `controller/windows-session.ts`, and the same process's session
 * in two other ways, and writes all of it as JSON to the file named by its second argument, for
 * `windows-session-wine.test.ts` to compare from Linux:
 *
 * - the agent's `wts` backend (`agentSessionId`, `sessionOfProcess(process.pid)`): its own
 *   declaration of `ProcessIdToSessionId`, in its own koffi library handle;
 * - `NtQueryInformationProcess(ProcessSessionInformation)` of the current-process pseudo handle
 *   (ntdll, declared here): no process id involved, so a wrong `GetCurrentProcessId` in the
 *   module under test would show.
 */
import koffi from "koffi";
import { createWtsBackend } from "../../agent/backends/wts.js";
import { callerSessionId } from "../../controller/cli/fleet-flags.js";
import type { CliIo } from "../../controller/cli/io.js";
import { currentWindowsSessionId, windowsSessionIdOf } from "../../controller/windows-session.js";
import { harnessSteps } from "./harness-steps.js";

const { scenario, step, write } = harnessSteps();

/** `NtQueryInformationProcess(GetCurrentProcess(), ProcessSessionInformation, ...)`. */
function ntSessionId(): number {
  const ntdll = koffi.load("ntdll.dll");
  const query = ntdll.func(
    "int32_t __stdcall NtQueryInformationProcess(intptr_t ProcessHandle, int32_t ProcessInformationClass, _Out_ uint32_t *ProcessInformation, uint32_t ProcessInformationLength, _Out_ uint32_t *ReturnLength)",
  );
  const ProcessSessionInformation = 24;
  const currentProcess = -1; // GetCurrentProcess()'s pseudo handle
  const session: [number] = [0xdeadbeef];
  const length: [number] = [0];
  const status = query(currentProcess, ProcessSessionInformation, session, 4, length) as number;
  if (status !== 0)
    throw new Error(`NtQueryInformationProcess: NTSTATUS 0x${(status >>> 0).toString(16)}`);
  return session[0];
}

async function main(): Promise<void> {
  const backend = await createWtsBackend();
  try {
    await step("processId", () => process.pid);
    await step("controllerSession", () => currentWindowsSessionId());
    // Twice: koffi and kernel32 are loaded once and kept.
    await step("controllerSessionAgain", () => currentWindowsSessionId());
    await step("controllerSessionOfOwnPid", () => windowsSessionIdOf(process.pid));
    // Windows process ids are multiples of 4: this one is never in use.
    await step("controllerSessionOfMissingProcess", () => windowsSessionIdOf(0xfffffffd));
    await step("agentSessionId", () => backend.agentSessionId());
    await step("agentSessionOfOwnProcess", () => backend.sessionOfProcess(process.pid));
    await step("ntSessionId", () => ntSessionId());
    let warnings = "";
    const io = {
      platform: process.platform,
      env: { WMSFLEET_SIM_SESSION: "4242" },
      stderr: { write: (text: string) => (warnings += text) },
    } as unknown as CliIo;
    await step("wmsctlCallerSessionId", () => callerSessionId(io));
    await step("wmsctlWarnings", () => warnings);
  } finally {
    await backend.close();
  }
}

try {
  if (scenario !== "session") throw new Error(`unknown scenario ${scenario}`);
  await main();
  write();
} catch (error) {
  write(error instanceof Error ? error.stack : String(error));
}
