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
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { HostReport } from "../../controller/cli/report.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import {
  buildAgentApp,
  holdWineSession,
  pollUntil,
  reportMissingTier,
  runId,
  runsDir,
  runWindowsNode,
  scQuery,
  untilServiceState,
  type WineSession,
  windowsPath,
  wineTierMissing,
} from "./wine-env.js";

// Its own name, so that two test runs in one checkout never touch each other's service.
const SERVICE = `wmsfleet-agent-${runId}`;
const wineLacksFailureflag = `sc.exe failureflag ${SERVICE}: sc.exe failed with Win32 error 1`;
const missing = wineTierMissing();

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
    if (scQuery(SERVICE).status === 0) wmsAgent("service", "uninstall", "--name", SERVICE);
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
    assert.match(scQuery(SERVICE).output, /STATE\s+:\s+1\s+STOPPED/);
    const start = wmsAgent("service", "start", "--name", SERVICE);
    assert.equal(start.status, 0, start.log);
    port = await pollUntil(() => /"ports":\[(\d+)\]/.exec(log())?.[1], "the agent listening");
    assert.match(scQuery(SERVICE).output, /STATE\s+:\s+4\s+RUNNING/);
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
    await pollUntil(
      () => (/"outcome":"drained","msg":"agent stopped"/.test(log()) ? true : undefined),
      "the agent stopped",
    );
    const stopped = await untilServiceState(SERVICE, "STOPPED");
    assert.match(stopped, /WIN32_EXIT_CODE\s+:\s+0\s/);
    // The instance that drained is the one started above, not a second one.
    assert.equal(log().match(/"msg":"agent listening"/g)?.length, 1, log());
  });

  void it("removes it with `service uninstall`", () => {
    const uninstall = wmsAgent("service", "uninstall", "--name", SERVICE);
    assert.equal(uninstall.status, 0, uninstall.log);
    assert.notEqual(scQuery(SERVICE).status, 0);
  });
});
