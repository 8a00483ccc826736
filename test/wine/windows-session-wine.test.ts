/**
 * wmsctl's own Windows session (`controller/windows-session.ts`, DESIGN section 3 rule 4) inside
 * the Windows build of Node under Wine, with koffi's Windows binary: it must be what Wine's
 * `ProcessIdToSessionId` tells the agent's `wts` backend about the same process, and what
 * `NtQueryInformationProcess` says of the current process without any process id. The harness
 * (`windows-session-harness.ts`) runs in Windows Node and writes JSON; the assertions run here.
 * Skipped, with the reason, when Wine or the cached Windows Node is not there (`npm run
 * test:wine` sets them up); a failure under `WMSFLEET_WINE_REQUIRED=1`.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { join } from "node:path";
import { failure, output, value, type HarnessOutput } from "./harness-output.js";
import {
  bundleHarness,
  repoRoot,
  reportMissingTier,
  runHarness,
  wineTierMissing,
} from "./wine-env.js";

const missing = wineTierMissing();

void describe("wmsctl's Windows session under Wine", () => {
  if (reportMissingTier(missing, "reads ProcessIdToSessionId inside Windows Node")) return;

  let result: HarnessOutput;
  before(async () => {
    const harness = await bundleHarness(
      join(repoRoot, "test", "wine", "windows-session-harness.ts"),
    );
    result = output(runHarness(harness, "session"));
  });

  void it("is the session Wine's ProcessIdToSessionId gives the agent's wts backend", () => {
    const own = value(result, "controllerSession");
    // An ordinary process, not a service: session 1 and up (Wine's is 1), never session 0.
    assert.ok(Number.isInteger(own) && (own as number) >= 1, `session ${String(own)}`);
    assert.equal(value(result, "controllerSessionAgain"), own);
    assert.equal(value(result, "controllerSessionOfOwnPid"), own);
    assert.equal(value(result, "agentSessionId"), own);
    assert.equal(value(result, "agentSessionOfOwnProcess"), own);
  });

  void it("is the session NtQueryInformationProcess gives the current process", () => {
    assert.equal(value(result, "ntSessionId"), value(result, "controllerSession"));
  });

  void it("is what wmsctl sends as caller_session_id there (WMSFLEET_SIM_SESSION ignored)", () => {
    assert.equal(value(result, "wmsctlCallerSessionId"), value(result, "controllerSession"));
    assert.equal(value(result, "wmsctlWarnings"), "");
  });

  void it("reports a failed call with GetLastError's code", () => {
    const error = failure(result, "controllerSessionOfMissingProcess");
    assert.equal(error.name, "WindowsSessionError");
    // ERROR_INVALID_PARAMETER: no process has that id.
    assert.equal(error.win32Error, 87);
    assert.match(error.message, /ProcessIdToSessionId\(4294967293\) failed: Win32 error 87/);
  });
});
