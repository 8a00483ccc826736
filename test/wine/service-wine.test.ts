/**
 * `wms-agent service` for real under Wine: `sc.exe` registers the service, Wine's Service Control
 * Manager starts Windows Node with `service run`, the SCM handshake (koffi, advapi32) reports it
 * running, `service stop` reaches the agent (its stop signal) and it stops cleanly, then it is removed.
 * Skipped, with the reason, without Wine and the cached Windows Node.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  bundleHarness,
  reportMissingTier,
  runHarness,
  runId,
  runsDir,
  windowsPath,
  winePaths,
  wineTierMissing,
} from "./wine-env.js";

interface WmsAgentRun {
  readonly exitCode: number;
  readonly lines: string[];
}
interface ScRun {
  readonly code: number;
  readonly output: string;
}
interface ControlOutput {
  readonly fatal?: string;
  readonly clean: boolean;
  readonly install: WmsAgentRun;
  readonly wineLacks: string[];
  readonly running: boolean;
  readonly agent: { pid: number; argv: string[]; logFile: string } | null;
  readonly status: WmsAgentRun;
  readonly stop: WmsAgentRun;
  readonly stopped: boolean;
  readonly queryStopped: ScRun;
  readonly uninstall: WmsAgentRun;
  readonly queryRemoved: ScRun;
  readonly log: string | null;
}

const missing = wineTierMissing();

void describe("wms-agent as a Windows service under Wine", () => {
  if (reportMissingTier(missing, "installs, starts, stops and removes the service")) return;

  let result: ControlOutput;
  const markers = join(runsDir, "service-markers");
  before(async () => {
    const harness = await bundleHarness(winePaths.serviceHarnessSource);
    rmSync(markers, { recursive: true, force: true });
    mkdirSync(markers, { recursive: true });
    const run = runHarness(harness, "control", {
      args: [windowsPath(markers), `wmsfleet-test-${runId}`],
    });
    assert.ok(
      run.output !== undefined,
      `the harness wrote nothing (exit ${run.status}):\n${run.log}`,
    );
    result = run.output as ControlOutput;
    assert.equal(result.fatal, undefined, `${result.fatal}\n${run.log}`);
  });

  void it("registers the service with sc.exe", () => {
    assert.equal(result.clean, true);
    assert.equal(result.install.exitCode, 0, result.install.lines.join("\n"));
    // The one command Wine's sc.exe lacks (Windows' has it); the harness answered for it.
    assert.deepEqual(result.wineLacks, ["failureflag"]);
  });

  void it("starts node.exe through the SCM, which sees it RUNNING, with the agent's flags", () => {
    assert.equal(result.running, true);
    assert.deepEqual(result.agent?.argv, ["--markers", windowsPath(markers)]);
    assert.equal(result.status.exitCode, 0);
    assert.match(result.status.lines.join("\n"), /STATE\s+:\s+4\s+RUNNING/);
  });

  void it("hands `service stop` to the agent, and the SCM sees a clean STOPPED", () => {
    assert.equal(result.stop.exitCode, 0);
    assert.equal(result.stopped, true);
    assert.match(result.queryStopped.output, /STATE\s+:\s+1\s+STOPPED/);
    assert.match(result.queryStopped.output, /WIN32_EXIT_CODE\s+:\s+0\s/);
  });

  void it("writes the agent's output to the service log file", () => {
    const pid = result.agent?.pid ?? -1;
    assert.match(result.agent?.logFile ?? "", /\\wmsfleet\\logs\\agent\.log$/);
    const lines = (result.log ?? "").split("\n");
    assert.ok(lines.includes(`{"msg":"fake agent running","pid":${pid}}`), result.log ?? "");
    assert.ok(lines.includes(`{"msg":"fake agent stopping on the SCM's stop"}`));
  });

  void it("removes the service", () => {
    assert.equal(result.uninstall.exitCode, 0);
    assert.notEqual(result.queryRemoved.code, 0);
  });
});
