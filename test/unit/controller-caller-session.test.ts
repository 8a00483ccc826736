/**
 * `caller_session_id` as wmsctl fills it (DESIGN section 3, rule 4): on Windows from
 * `ProcessIdToSessionId` (injected here; the real call runs in the Wine tier,
 * `test/wine/windows-session-wine.test.ts`), elsewhere from `WMSFLEET_SIM_SESSION`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { callerSessionId, prepareFleet } from "../../controller/cli/fleet-flags.js";
import type { CliIo } from "../../controller/cli/io.js";
import { UsageError } from "../../controller/cli/usage-error.js";
import { SYSTEM_GRACE_CLOCK } from "../../controller/index.js";
import {
  WindowsSessionError,
  currentWindowsSessionId,
  windowsSessionIdOf,
} from "../../controller/windows-session.js";

/** The part of the CLI's side effects `callerSessionId` and `prepareFleet` touch. */
function io(platform: NodeJS.Platform, env: Record<string, string> = {}) {
  let stderr = "";
  const value = {
    argv: [],
    env,
    platform,
    cwd: "/nonexistent",
    homeDir: "/nonexistent",
    stdout: { write: () => true },
    stderr: { write: (text: string) => (stderr += text) },
    hasTerminal: false,
    stdinIsTTY: false,
    readStdin: () => Promise.resolve(""),
    prompt: () => Promise.reject(new Error("no prompt in this test")),
    lookupAll: () => Promise.resolve(["127.0.0.1"]),
    clock: SYSTEM_GRACE_CLOCK,
    signal: new AbortController().signal,
  } satisfies CliIo;
  return { io: value, stderr: () => stderr };
}

const unused = () => Promise.reject(new Error("the Windows lookup was called"));

void describe("callerSessionId on Windows", () => {
  void it("is the session ProcessIdToSessionId gives, whatever WMSFLEET_SIM_SESSION says", async () => {
    const { io: windows, stderr } = io("win32", { WMSFLEET_SIM_SESSION: "7" });
    let calls = 0;
    const lookup = () => {
      calls++;
      return Promise.resolve(3);
    };
    assert.equal(await callerSessionId(windows, lookup), 3);
    assert.equal(calls, 1);
    assert.equal(stderr(), "");
  });

  void it("is session 0 when wmsctl runs in the services session", async () => {
    assert.equal(await callerSessionId(io("win32").io, () => Promise.resolve(0)), 0);
  });

  void it("warns and sends none when Windows cannot say", async () => {
    const { io: windows, stderr } = io("win32");
    const failing = () =>
      Promise.reject(
        new WindowsSessionError("ProcessIdToSessionId(4242) failed: Win32 error 5", 5),
      );
    assert.equal(await callerSessionId(windows, failing), undefined);
    assert.match(stderr(), /^wmsctl: warning: cannot tell this process's Windows session/);
    assert.match(stderr(), /ProcessIdToSessionId\(4242\) failed: Win32 error 5/);
    assert.match(stderr(), /caller_session_id is not sent/);
    assert.ok(stderr().endsWith("\n"));
  });
});

void describe("callerSessionId elsewhere", () => {
  void it("reads WMSFLEET_SIM_SESSION and never asks Windows", async () => {
    for (const platform of ["linux", "darwin"] as const) {
      assert.equal(await callerSessionId(io(platform).io, unused), undefined);
      const empty = io(platform, { WMSFLEET_SIM_SESSION: "" }).io;
      assert.equal(await callerSessionId(empty, unused), undefined);
      const four = io(platform, { WMSFLEET_SIM_SESSION: "4" }).io;
      assert.equal(await callerSessionId(four, unused), 4);
    }
  });

  void it("refuses a WMSFLEET_SIM_SESSION that is not a session id", async () => {
    for (const bad of ["x", "-1", "4294967295"]) {
      const { io: linux } = io("linux", { WMSFLEET_SIM_SESSION: bad });
      await assert.rejects(callerSessionId(linux, unused), UsageError, bad);
    }
  });
});

void describe("the Windows lookup off Windows", () => {
  void it("rejects with the reason and loads no native code", async (t) => {
    if (process.platform !== "linux") {
      t.skip("reads /proc/self/maps");
      return;
    }
    await assert.rejects(currentWindowsSessionId(), (error: unknown) => {
      assert.ok(error instanceof WindowsSessionError);
      assert.match(error.message, /needs Windows \(this is linux\)/);
      assert.equal(error.win32Error, undefined);
      return true;
    });
    await assert.rejects(windowsSessionIdOf(4), WindowsSessionError);
    // koffi's native library would be mapped into this process once loaded.
    const mapped = readFileSync("/proc/self/maps", "utf8").split("\n");
    assert.deepEqual(
      mapped.filter((line) => line.includes("koffi")),
      [],
    );
  });

  void it("leaves caller_session_id out of the controller options, with a warning", async () => {
    // prepareFleet with the default lookup: io says win32, but this process is not Windows.
    const { io: windows, stderr } = io("win32");
    const fleet = await prepareFleet({ insecureLoopback: true }, windows);
    assert.equal(fleet.controllerOptions.callerSessionId, undefined);
    assert.match(stderr(), /ProcessIdToSessionId needs Windows/);
  });

  void it("puts WMSFLEET_SIM_SESSION into the controller options off Windows", async () => {
    const { io: linux, stderr } = io("linux", { WMSFLEET_SIM_SESSION: "5" });
    const fleet = await prepareFleet({ insecureLoopback: true }, linux);
    assert.equal(fleet.controllerOptions.callerSessionId, 5);
    assert.equal(stderr(), "");
  });
});
