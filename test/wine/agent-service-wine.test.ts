/**
 * The real `wms-agent --backend wts` as a Windows service under Wine: installed and started with
 * `wms-agent service install --start`, run by Wine's Service Control Manager through
 * `service run`, called from Linux by `wmsctl`, stopped with `wms-agent service stop` (it drains,
 * and the SCM sees a clean STOPPED) and removed. Wine's own wtsapi32 serves no sessions. Skipped,
 * with the reason, without Wine and the cached Windows Node.
 *
 * The Wine session is held open throughout ({@link holdWineSession}): Wine ends a service with
 * the last ordinary Windows process, here `service start` itself, and a later `wine` command
 * would boot a new session whose SCM starts the service (`start= auto`) afresh.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import {
  buildAgentApp,
  holdWineSession,
  reportMissingTier,
  runId,
  runsDir,
  runWindowsNode,
  type WineSession,
  windowsPath,
  wineEnvironment,
  wineTierMissing,
} from "./wine-env.js";

// Its own name, so that two test runs in one checkout never touch each other's service.
const SERVICE = `wmsfleet-agent-${runId}`;
const wineLacksFailureflag = `sc.exe failureflag ${SERVICE}: sc.exe failed with Win32 error 1`;
const missing = wineTierMissing();

/** `sc.exe query` inside Wine. */
function scQuery(): { status: number | null; output: string } {
  const result = spawnSync("wine", ["sc", "query", SERVICE], {
    env: wineEnvironment(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { status: result.status, output: result.stdout };
}

/**
 * Polls until `check` returns something; the SCM and the agent change state on their own and
 * offer nothing to wait on from Linux. Bounded; the tests assert on what was seen, not when.
 */
async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const seen = check();
    if (seen !== undefined) return seen;
    if (Date.now() > deadline) assert.fail(`never saw ${what}`);
    await delay(200);
  }
}

void describe("wms-agent as a Windows service under Wine, driven by wmsctl", () => {
  if (reportMissingTier(missing, "runs the agent as a service")) return;

  const runDir = join(runsDir, "agent-service");
  const logFile = join(runDir, "agent.log");
  let entry = "";
  let port = "";
  let session: WineSession | undefined;
  const wmsAgent = (...args: string[]) =>
    runWindowsNode([windowsPath(entry), ...args], { logName: `agent-service-${args[1] ?? ""}` });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

  before(async () => {
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    entry = await buildAgentApp();
    session = await holdWineSession();
  });

  after(async () => {
    if (scQuery().status === 0) wmsAgent("service", "uninstall", "--name", SERVICE);
    await session?.release();
  });

  void it("installs it with `service install` and starts it with `service start`", async () => {
    const install = wmsAgent(
      ...["service", "install", "--name", SERVICE, "--log-file", windowsPath(logFile)],
      ...["--", "--backend", "wts", "--insecure-loopback", "--listen", "127.0.0.1:0"],
      ...["--host-fqdn", "localhost"],
    );
    // Wine's sc.exe has no `failureflag` (Windows' has): the last step, and the only one that
    // may fail here; the data folder, create, description, failure actions and the service's
    // environment went through.
    if (install.status !== 0) {
      assert.equal(install.log.trim().split("\n").at(-1), wineLacksFailureflag, install.log);
    }
    assert.match(scQuery().output, /STATE\s+:\s+1\s+STOPPED/);
    const start = wmsAgent("service", "start", "--name", SERVICE);
    assert.equal(start.status, 0, start.log);
    port = await until(() => /"ports":\[(\d+)\]/.exec(log())?.[1], "the agent listening");
    assert.match(scQuery().output, /STATE\s+:\s+4\s+RUNNING/);
  });

  void it("answers wmsctl from Linux with the wts backend", async () => {
    // Wine is slow at times (each caller lookup walks every process's sockets): a wide deadline.
    const flags = [
      "--insecure-loopback",
      "--timeout",
      "120",
      "-s",
      "localhost",
      `--resolve=localhost=127.0.0.1:${port}`,
    ];
    const get = await runWmsctl(["get", ...flags, "-o", "json"]);
    assert.equal(get.status, 0, get.stderr);
    const [sessions] = JSON.parse(get.stdout) as HostReport[];
    assert.equal(sessions?.status, "ok");
    assert.deepEqual(sessions?.sessions, []);
    const health = await runWmsctl(["health", ...flags, "-o", "json"]);
    const [info] = JSON.parse(health.stdout) as HostReport[];
    assert.equal(info?.agent?.backend, "wts");
  });

  void it("drains on `service stop`, and the SCM sees a clean STOPPED", async () => {
    const stop = wmsAgent("service", "stop", "--name", SERVICE);
    assert.equal(stop.status, 0, stop.log);
    await until(
      () => (/"outcome":"drained","msg":"agent stopped"/.test(log()) ? true : undefined),
      "the agent stopped",
    );
    const stopped = await until(() => {
      const { output } = scQuery();
      return /STATE\s+:\s+1\s+STOPPED/.test(output) ? output : undefined;
    }, "the service STOPPED");
    assert.match(stopped, /WIN32_EXIT_CODE\s+:\s+0\s/);
    // The instance that drained is the one started above, not a second one.
    assert.equal(log().match(/"msg":"agent listening"/g)?.length, 1, log());
  });

  void it("removes it with `service uninstall`", () => {
    const uninstall = wmsAgent("service", "uninstall", "--name", SERVICE);
    assert.equal(uninstall.status, 0, uninstall.log);
    assert.notEqual(scQuery().status, 0);
  });
});
