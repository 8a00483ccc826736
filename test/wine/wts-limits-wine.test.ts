/**
 * A hung Remote Desktop Services cannot stall the agent: the `wts` backend's WTS calls take at most
 * `maxConcurrentCalls` of libuv's threads and give up after `callTimeoutMs` (Win32 error 1460,
 * health false), while a file write with `fdatasync` (the audit log) still gets a thread; once the
 * hang is over, the slots come back and every buffer the late calls got is freed. Inside Windows
 * Node under Wine, with the test `wtsapi32.dll` blocking on demand. Skipped, with the reason,
 * without Wine.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { output, value as stepValue, type HarnessOutput } from "./harness-output.js";
import {
  buildFakeWtsapi32,
  bundleHarness,
  reportMissingTier,
  runHarness,
  runsDir,
  windowsPath,
  winePaths,
  wineTierMissing,
} from "./wine-env.js";

const missing = wineTierMissing();

void describe("the wts backend when Remote Desktop Services hangs (Wine, test DLL)", () => {
  if (reportMissingTier(missing, "bounds WTS calls on libuv's pool and times them out")) return;

  let result: HarnessOutput;
  const value = (name: string): unknown => stepValue(result, name);

  before(async () => {
    const dir = join(runsDir, "wts-limits");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const harness = await bundleHarness(
      join(winePaths.harnessSource, "..", "wts-limits-harness.ts"),
    );
    const nodeExe = buildFakeWtsapi32();
    const run = runHarness(harness, "limits", {
      nodeExe,
      args: [windowsPath(join(dir, "audit.jsonl"))],
      env: {
        WINEDLLOVERRIDES: "mscoree,mshtml=;wtsapi32=n",
        WMSFLEET_FAKE_WTS_FAIL_FILE: windowsPath(join(dir, "fail.txt")),
      },
    });
    result = output(run);
  });

  void it("answers every caller with 1460 once its timeout passed, the one waiting for a slot too", () => {
    assert.deepEqual(value("before"), { sessions: 13, slots: { inUse: 0, waiting: 0, max: 2 } });
    const calls = value("hungCalls") as { id: number; code?: number; message?: string }[];
    assert.deepEqual(
      calls.map((c) => [c.id, c.code]),
      [
        [1, 1460],
        [2, 1460],
        [3, 1460],
      ],
    );
    assert.match(
      calls[0]?.message ?? "",
      /WTSDisconnectSession\(1\) did not return within 2 s: Remote Desktop Services may be hung/,
    );
  });

  void it("takes two threads at most while hung, and a file is still written and flushed", () => {
    assert.deepEqual(value("slotsWhileHung"), { inUse: 2, waiting: 0, max: 2 });
    assert.equal(value("flushWhileHung"), true);
    assert.equal(value("healthyWhileHung"), false);
  });

  void it("gets its slots back when the hang is over, works again, and frees every late buffer", () => {
    assert.deepEqual(value("slotsAfter"), { inUse: 0, waiting: 0, max: 2 });
    assert.equal(value("disconnectAfter"), true);
    assert.equal(value("healthyAfter"), true);
    const { allocations, frees } = value("allocations") as { allocations: number; frees: number };
    assert.ok(allocations > 0);
    assert.equal(frees, allocations);
  });
});
