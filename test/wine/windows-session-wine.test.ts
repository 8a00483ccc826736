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
import type { HarnessRun } from "./wine-env.js";
import {
  removeStaleRuns,
  repoRoot,
  runHarness,
  runId,
  wineTierMissing,
  winePaths,
} from "./wine-env.js";

interface StepError {
  readonly name: string;
  readonly win32Error?: number;
  readonly message: string;
}
type Step = { readonly value: unknown } | { readonly error: StepError };
interface HarnessOutput {
  readonly steps: Record<string, Step>;
  readonly fatal?: string;
}

function output(run: HarnessRun): HarnessOutput {
  assert.ok(
    run.output !== undefined,
    `the harness wrote nothing (exit ${run.status}):\n${run.log}`,
  );
  const result = run.output as HarnessOutput;
  assert.equal(result.fatal, undefined, `the harness failed:\n${result.fatal}\n${run.log}`);
  assert.equal(run.status, 0, `Windows Node exited with ${run.status}:\n${run.log}`);
  return result;
}

function value(result: HarnessOutput, name: string): unknown {
  const step = result.steps[name];
  assert.ok(step !== undefined, `no step ${name}`);
  assert.ok("value" in step, `${name} threw ${JSON.stringify(step)}`);
  return step.value;
}

function failure(result: HarnessOutput, name: string): StepError {
  const step = result.steps[name];
  assert.ok(step !== undefined, `no step ${name}`);
  assert.ok("error" in step, `${name} did not throw: ${JSON.stringify(step)}`);
  return step.error;
}

/**
 * Bundles the harness beside koffi's Windows package, as `bundleHarness` does, but with every
 * package left outside the bundle: wmsctl's modules pull in `grpc-health-check`, which reads its
 * `.proto` files relative to its own folder. Windows Node then finds koffi in that folder's
 * `node_modules` (the Windows binary) and the plain-JavaScript packages further up, in the
 * repository's `node_modules`.
 */
async function bundleSessionHarness(): Promise<string> {
  removeStaleRuns();
  const { build } = await import("esbuild");
  const outfile = join(winePaths.modules, `windows-session-harness-${runId}.mjs`);
  await build({
    entryPoints: [join(repoRoot, "test", "wine", "windows-session-harness.ts")],
    outfile,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
  });
  return outfile;
}

const missing = wineTierMissing();

void describe("wmsctl's Windows session under Wine", () => {
  if (missing !== undefined) {
    void it("reads ProcessIdToSessionId inside Windows Node", (t) => {
      // `npm run test:wine` asks for this tier: there, a missing piece is a failure.
      if (process.env["WMSFLEET_WINE_REQUIRED"] === "1") assert.fail(`Wine tier: ${missing}`);
      t.skip(`Wine tier skipped: ${missing}`);
    });
    return;
  }

  let result: HarnessOutput;
  before(async () => {
    const harness = await bundleSessionHarness();
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
