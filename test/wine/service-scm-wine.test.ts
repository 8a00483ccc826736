/**
 * The agent as a Windows service by the Service Control Manager's rules, under Wine's SCM: the
 * real `wms-agent` (simulated backend, so that a call can be made to last) installed with
 * `wms-agent service install`, watched from the SCM's side (`scm-harness.ts`, advapi32 in Windows
 * Node) and from its log.
 *
 * - It reports START_PENDING while it starts and RUNNING only once it serves, and honours a stop
 *   that arrives while it starts (it stops without serving, exit 0): shown with the stand-in agent
 *   of `service-harness.ts`, held before it serves for as long as the test wants, on the real
 *   `runAsService`; the agent's own side of it (`agent/main.ts`) is test/integration's
 *   agent-service-hooks.test.ts.
 * - RUNNING, it accepts PRESHUTDOWN and SESSIONCHANGE (as `QueryServiceStatus` reports).
 * - A requested stop whose call is cut at the end of the grace period (a ListSessions that the
 *   fixture makes last a minute) ends STOPPED with `WIN32_EXIT_CODE` 0, and the log names the cut
 *   call; meanwhile the checkpoint advances and the wait hint shrinks with the grace.
 *
 * What Wine's SCM cannot show: a machine shutdown (it never sends PRESHUTDOWN or SHUTDOWN on its
 * own, and `ControlService` is what the test has), session changes (Wine's Remote Desktop
 * Services sends none), the Event Log (Wine's `ReportEventW` only traces) and the failure actions
 * of a restart; docs/windows.md's checklist covers those on a real host.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  buildAgentApp,
  bundleHarness,
  holdWineSession,
  pollUntil,
  reportMissingTier,
  runHarness,
  runId,
  runsDir,
  runWindowsNode,
  scQuery,
  untilServiceState,
  type WineSession,
  windowsPath,
  wineEnvironment,
  winePaths,
  wineTierMissing,
} from "./wine-env.js";

const SERVICE = `wmsfleet-scm-${runId}`;
const missing = wineTierMissing();

/** `SERVICE_STATUS` as the harness reports it. */
interface Status {
  readonly dwCurrentState: number;
  readonly dwControlsAccepted: number;
  readonly dwWin32ExitCode: number;
  readonly dwServiceSpecificExitCode: number;
  readonly dwCheckPoint: number;
  readonly dwWaitHint: number;
}

void describe("wms-agent by the Service Control Manager's rules, under Wine's SCM", () => {
  if (reportMissingTier(missing, "follows the SCM's rules")) return;

  const runDir = join(runsDir, "service-scm");
  const logFile = join(runDir, "agent.log");
  const slowFixture = join(runDir, "slow.json");
  let entry = "";
  let scm = "";
  let session: WineSession | undefined;
  const wmsAgent = (...args: string[]) =>
    runWindowsNode([windowsPath(entry), ...args], { logName: `scm-${args[1] ?? ""}` });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const harness = <T>(role: string, ...args: string[]): T => {
    const run = runHarness(scm, role, { args: [SERVICE, ...args] });
    const output = run.output as { result?: T; fatal?: string } | undefined;
    assert.ok(output?.result !== undefined, `${role}: ${output?.fatal ?? run.log}`);
    return output.result;
  };
  const install = (fixture: string, grace: string) => {
    const run = wmsAgent(
      ...["service", "install", "--name", SERVICE, "--log-file", windowsPath(logFile)],
      ...["--", "--backend", "simulated", "--sim-fixture", windowsPath(fixture)],
      ...["--insecure-loopback", "--listen", "127.0.0.1:0", "--host-fqdn", "localhost"],
      ...["--log-level", "debug", "--shutdown-grace", grace],
    );
    // Wine's sc.exe has no `failureflag` (Windows' has): the only step that may fail here.
    if (run.status !== 0) {
      assert.match(
        run.log.trim().split("\n").at(-1) ?? "",
        /^sc\.exe failureflag .*Win32 error 1$/,
      );
    }
  };

  before(async () => {
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    entry = await buildAgentApp();
    scm = await bundleHarness(join(winePaths.harnessSource, "..", "scm-harness.ts"));
    session = await holdWineSession();
  });

  after(async () => {
    wmsAgent("service", "uninstall", "--name", SERVICE);
    await session?.release();
  });

  void it("is START_PENDING while it starts, and honours a stop then: STOPPED, exit 0, never served", async () => {
    // The stand-in agent of service-harness.ts, held before it serves until a `go` file appears:
    // the real runAsService and status machine, with a start that lasts as long as the test wants.
    const markers = join(runDir, "hold-markers");
    mkdirSync(markers, { recursive: true });
    const standIn = await bundleHarness(winePaths.serviceHarnessSource);
    const installed = runHarness(standIn, "install", {
      args: [SERVICE, windowsPath(logFile), "--markers", windowsPath(markers), "--hold"],
    });
    assert.equal(
      (installed.output as { exitCode?: number } | undefined)?.exitCode,
      0,
      installed.log,
    );
    const start = spawn("wine", ["sc", "start", SERVICE], {
      env: wineEnvironment(),
      stdio: "ignore",
    });
    const started = new Promise<void>((resolve) => start.once("close", () => resolve()));
    // The stand-in runs, and the SCM shows the service's own START_PENDING (its wait hint).
    const pending = await pollUntil(() => {
      if (!existsSync(join(markers, "running.json"))) return undefined;
      const status = harness<Status>("status");
      return status.dwWaitHint === 30_000 ? status : undefined;
    }, "the service's START_PENDING");
    assert.equal(pending.dwCurrentState, 2);
    assert.equal(pending.dwControlsAccepted & 0x1, 0x1, "a stop is accepted while starting");
    const stop = harness<{ ok: boolean; lastError: number }>("control", "1");
    assert.deepEqual([stop.ok, stop.lastError], [true, 0]);
    await started;
    const stopped = await untilServiceState(SERVICE, "STOPPED");
    assert.match(stopped, /WIN32_EXIT_CODE\s+:\s+0\s/);
    assert.ok(existsSync(join(markers, "stopped-before-serving.json")), log());
    assert.doesNotMatch(log(), /fake agent running/);
    const uninstall = wmsAgent("service", "uninstall", "--name", SERVICE);
    assert.equal(uninstall.status, 0, uninstall.log);
    await pollUntil(
      () => (/STATE/.test(scQuery(SERVICE).output) ? undefined : true),
      "the service removed",
    );
  });

  void it("RUNNING once it serves, accepting PRESHUTDOWN and SESSIONCHANGE", async () => {
    writeFileSync(slowFixture, JSON.stringify({ listLatencyMs: 60_000, sessions: [] }));
    rmSync(logFile, { force: true });
    install(slowFixture, "12");
    const start = wmsAgent("service", "start", "--name", SERVICE);
    assert.equal(start.status, 0, start.log);
    await untilServiceState(SERVICE, "RUNNING");
    // RUNNING came after the agent listened, never before.
    assert.match(log(), /"msg":"agent listening"/);
    const running = harness<Status>("status");
    assert.equal(running.dwCurrentState, 4);
    assert.equal(running.dwControlsAccepted & 0x100, 0x100, "PRESHUTDOWN");
    assert.equal(running.dwControlsAccepted & 0x80, 0x80, "SESSIONCHANGE");
    assert.equal(running.dwControlsAccepted & 0x1, 0x1, "STOP");
    // It set its own preshutdown timeout: the grace (12 s) and the margin (5 s).
    assert.equal(harness<number>("preshutdown"), 17_000);
    assert.match(log(), /"preshutdownTimeout":"the grace period and a margin"/);
    // The service's environment sizes libuv's pool: the value is in the registry (Wine's SCM
    // does not pass it on to the process, Windows' does; the log says what the agent got).
    const environment = spawnSync(
      "wine",
      [
        "reg",
        "query",
        `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${SERVICE}`,
        "/v",
        "Environment",
      ],
      { env: wineEnvironment(), encoding: "utf8", timeout: 60_000 },
    ).stdout;
    assert.match(environment, /Environment\s+REG_MULTI_SZ\s+UV_THREADPOOL_SIZE=16/);
    assert.match(log(), /"threadPoolSize":"[^"]+","preshutdownTimeout"/);
  });

  void it("a requested stop with a call cut: the checkpoint advances, STOPPED with exit 0, the cut call logged", async () => {
    const port = /"ports":\[(\d+)\]/.exec(log())?.[1];
    assert.ok(port !== undefined, log());
    // A ListSessions that lasts a minute, from Linux, left running.
    const { runWmsctl } = await import("../helpers/controller-cli.js");
    const call = runWmsctl([
      ...["get", "--insecure-loopback", "--timeout", "120", "-s", "localhost"],
      `--resolve=localhost=127.0.0.1:${port}`,
    ]);
    await pollUntil(
      () => (/"msg":"rpc started"/.test(log()) ? true : undefined),
      "the call under way",
    );
    const watchOut = join(runDir, "watch.json");
    const watcher = spawn(
      "wine",
      [winePaths.nodeExe, windowsPath(scm), "watch", windowsPath(watchOut), SERVICE],
      { env: wineEnvironment(), stdio: "ignore" },
    );
    const watched = new Promise<void>((resolve) => watcher.once("close", () => resolve()));
    const stop = harness<{ ok: boolean; lastError: number }>("control", "1");
    assert.equal(stop.ok, true, String(stop.lastError));
    await watched;
    await call;
    const seen = (JSON.parse(readFileSync(watchOut, "utf8")) as { result: Status[] }).result;
    const draining = seen.filter((s) => s.dwCurrentState === 3);
    assert.ok(draining.length >= 3, JSON.stringify(seen));
    for (let i = 1; i < draining.length; i++) {
      const [before, now] = [draining[i - 1], draining[i]] as [Status, Status];
      assert.ok(now.dwCheckPoint > before.dwCheckPoint, JSON.stringify(draining));
      assert.ok(now.dwWaitHint <= before.dwWaitHint, JSON.stringify(draining));
    }
    assert.ok((draining[0]?.dwWaitHint ?? 0) > 12_000, "the grace that remains, and a margin");
    const last = seen.at(-1);
    assert.deepEqual([last?.dwCurrentState, last?.dwWin32ExitCode], [1, 0]);
    assert.match(log(), /"msg":"the grace period is over: cutting the calls still in flight"/);
    assert.match(log(), /"cut":\[\{"rpc":"wms\.v1\.WmsSessionService\/ListSessions"/);
    assert.match(log(), /with calls cut at the end of the grace period: exit 0/);
  });
});
