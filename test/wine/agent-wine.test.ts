/**
 * The whole `wms-agent --backend wts` inside Windows Node under Wine, over the test
 * `wtsapi32.dll`, called over loopback from Linux by the real `wmsctl` and from a Windows process
 * (`client-harness.ts`): sessions with their protection, protection rule 3 both ways (a Windows
 * caller named through `GetExtendedTcpTable`; a Linux caller Wine cannot name, refused: rule 3
 * fails closed), every disconnect outcome (a Win32 error included), agent info, the audit file,
 * a degraded session's note, and a graceful stop on SIGINT. The session family as users run it:
 * the bundled `wmsctl` spawned from Linux logs off through `WTSLogoffSession` (what-if, for real,
 * then again: already logged off), shows messages through `WTSSendMessageW` (waiting for the
 * answer the DLL gives, and not), and watches, seeing the log-off arrive through
 * `WTSWaitSystemEvent`. Skipped, with the reason, without Wine, MinGW-w64 or the cached Windows
 * Node.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { credentials, loadPackageDefinition } from "@grpc/grpc-js";
import type { Client, ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import type { HostReport } from "../../controller/cli/report.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import { spawnWmsctl } from "../helpers/controller-spawn.js";
import { startWatch } from "../helpers/watch-process.js";
import { output, value } from "./harness-output.js";
import {
  buildAgentApp,
  buildFakeWtsapi32,
  bundleHarness,
  hasMingw,
  repoRoot,
  reportMissingTier,
  runHarness,
  runsDir,
  windowsPath,
  wineEnvironment,
  winePaths,
  wineTierMissing,
} from "./wine-env.js";

const missing = wineTierMissing() ?? (hasMingw() ? undefined : "gcc-mingw-w64 is not installed");

/**
 * Polls a file a Windows process writes (Windows Node cannot write to a pipe under Wine) until
 * `pattern` matches or the process exits; bounded, never timed.
 */
async function waitForLog(
  logFile: string,
  pattern: RegExp,
  child: ChildProcess,
): Promise<RegExpExecArray> {
  const read = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const match = pattern.exec(read());
    if (match !== null) return match;
    if (child.exitCode !== null) break;
    await delay(100);
  }
  assert.fail(`${logFile} never showed ${pattern} (exit ${child.exitCode}):\n${read()}`);
}

void describe("wms-agent --backend wts under Wine, driven by wmsctl", () => {
  if (reportMissingTier(missing, "serves the test wtsapi32.dll's sessions over gRPC")) return;

  const runDir = join(runsDir, "agent");
  const logFile = join(runDir, "agent.log");
  const auditFile = join(runDir, "audit.jsonl");
  // Failures the test DLL reads at each call, rewritten by the tests while the agent runs.
  const failFile = join(runDir, "fail.txt");
  let port = "";
  let agent: ChildProcess;
  let exited: Promise<number | null>;
  let flags: string[] = [];
  // wmsctl through the relay (relay-harness.ts): a caller the agent can name, so it may act.
  let relayFlags: string[] = [];
  let relay: ChildProcess | undefined;
  let relayExited: Promise<unknown> | undefined;

  before(async () => {
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    const entry = await buildAgentApp();
    const nodeExe = buildFakeWtsapi32();
    const log = openSync(logFile, "w");
    try {
      agent = spawn(
        "wine",
        [
          nodeExe,
          windowsPath(entry),
          ...["--backend", "wts", "--insecure-loopback", "--listen", "127.0.0.1:0"],
          ...["--host-fqdn", "localhost", "--audit-log", windowsPath(auditFile)],
          // Debug: the watch says when the backend reported a change (WTSWaitSystemEvent).
          ...["--log-level", "debug"],
        ],
        {
          env: wineEnvironment({
            WINEDLLOVERRIDES: "mscoree,mshtml=;wtsapi32=n",
            WMSFLEET_FAKE_WTS_FAIL: "disconnect:6=7007",
            WMSFLEET_FAKE_WTS_FAIL_FILE: windowsPath(failFile),
          }),
          stdio: ["ignore", log, log],
        },
      );
    } finally {
      closeSync(log);
    }
    exited = new Promise((resolve) => agent.once("exit", (code) => resolve(code)));
    port = (await waitForLog(logFile, /"ports":\[(\d+)\]/, agent))[1] ?? "";
    // Wine is slow at times (each caller lookup walks every process's sockets): a wide deadline.
    const common = ["--insecure-loopback", "--timeout", "120", "-s", "localhost"];
    flags = [...common, `--resolve=localhost=127.0.0.1:${port}`];
    const relayHarness = await bundleHarness(join(repoRoot, "test", "wine", "relay-harness.ts"));
    const relayPortFile = join(runDir, "relay.port");
    const relayLog = openSync(join(runDir, "relay.log"), "w");
    try {
      relay = spawn(
        "wine",
        [
          winePaths.nodeExe,
          windowsPath(relayHarness),
          windowsPath(relayPortFile),
          `127.0.0.1:${port}`,
        ],
        { env: wineEnvironment(), stdio: ["ignore", relayLog, relayLog] },
      );
    } finally {
      closeSync(relayLog);
    }
    relayExited = new Promise((resolve) => relay?.once("exit", resolve));
    const relayPort = (await waitForLog(relayPortFile, /^(\d+)$/, relay))[1] ?? "";
    relayFlags = [...common, `--resolve=localhost=127.0.0.1:${relayPort}`];
  });

  after(async () => {
    for (const [child, gone] of [
      [agent, exited],
      [relay, relayExited],
    ] as const) {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await gone;
      }
    }
  });

  async function wmsctl(...args: string[]): Promise<{ status: number; report: HostReport }> {
    const run = await runWmsctl([...args, ...flags, "-o", "json"]);
    const reports = JSON.parse(run.stdout) as HostReport[];
    assert.equal(reports.length, 1, run.stderr);
    return { status: run.status, report: reports[0] as HostReport };
  }

  void it("lists the DLL's sessions with the agent's protection decisions", async () => {
    const { status, report } = await wmsctl("get");
    assert.equal(status, 0);
    assert.equal(report.status, "ok");
    const sessions = report.sessions ?? [];
    assert.deepEqual(
      sessions.map((s) => s.sessionId),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 65536],
    );
    const byId = new Map(sessions.map((s) => [s.sessionId, s]));
    assert.equal(byId.get(0)?.protection, "SERVICES_SESSION");
    // Wine runs every process in session 1: the agent's own session.
    assert.equal(byId.get(1)?.protection, "AGENT_SESSION");
    assert.equal(byId.get(1)?.userName, "zoë");
    assert.equal(byId.get(5)?.userName, "Józef");
    assert.equal(byId.get(5)?.domainName, "ŁÓDŹ");
    assert.equal(byId.get(65536)?.state, "LISTEN");
    // Whole names, longer than WTSINFOW holds; idle known for a Remote Desktop session only.
    assert.equal(byId.get(13)?.userName, "anne-sophie.van-den-berghe");
    assert.equal(byId.get(13)?.domainName, "CLASSROOM-NORTH-WING");
    // The DLL's clock stands still at 2026-11-24T09:30Z; the agent computes idle time with its own.
    assert.ok((byId.get(13)?.idleSeconds ?? -1) >= 42, "a Remote Desktop session's idle time");
    assert.equal(byId.get(1)?.idleSeconds, null, "the console's idle time is unknown");
    assert.equal(byId.get(12)?.idleSeconds, null, "a station's idle time is unknown");
    // wmsctl is a Linux process: Wine lists its connection without an owner, so the agent cannot
    // rule out any session as the caller's (rule 3 fails closed).
    assert.equal(byId.get(4)?.protection, "CALLER_UNRESOLVED");
  });

  void it("refuses a Linux caller it cannot name, and says why (rule 3 fails closed)", async () => {
    const { report } = await wmsctl("disconnect", "4");
    const [result] = report.results ?? [];
    assert.equal(result?.outcome, "PROTECTED");
    assert.equal(result?.protection, "CALLER_UNRESOLVED");
    assert.match(result?.message ?? "", /could not be found.*owner 0/);
    const again = await wmsctl("get", "4");
    assert.equal(again.report.sessions?.[0]?.state, "SHADOW", "nothing was done");
  });

  void it("disconnects through WTSDisconnectSession for a Windows caller, every outcome", async () => {
    const harness = await bundleHarness(join(repoRoot, "test", "wine", "client-harness.ts"));
    const result = output(
      runHarness(harness, "disconnect", { args: [`127.0.0.1:${port}`, "4,5,65536,77,6,1"] }),
    );
    // Found through GetExtendedTcpTable: in Wine's session 1, the agent's own, so no other
    // session is the caller's.
    const listed = new Map(value(result, "list") as [number, string][]);
    assert.equal(listed.get(4), "UNSPECIFIED");
    assert.equal(listed.get(1), "AGENT_SESSION");
    assert.deepEqual(value(result, "disconnect"), [
      [4, "DISCONNECTED", 0, "UNSPECIFIED"],
      [5, "ALREADY_DISCONNECTED", 0, "UNSPECIFIED"],
      [65536, "NOT_DISCONNECTABLE", 0, "UNSPECIFIED"],
      [77, "NOT_FOUND", 0, "UNSPECIFIED"],
      [6, "FAILED", 7007, "UNSPECIFIED"],
      [1, "PROTECTED", 0, "AGENT_SESSION"],
    ]);
    const again = await wmsctl("get", "4");
    assert.equal(again.report.sessions?.[0]?.state, "DISCONNECTED");
  });

  void it("reports the wts backend and the agent's session", async () => {
    const { status, report } = await wmsctl("health");
    assert.equal(status, 0);
    assert.equal(report.agent?.backend, "wts");
    assert.equal(report.agent?.agentSessionId, 1);
  });

  void it("writes the audit records of each disconnect: its intent, then its result", () => {
    assert.ok(existsSync(auditFile));
    const records = readFileSync(auditFile, "utf8")
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as {
            kind?: string;
            callId?: string;
            rpc?: string;
            results?: { sessionId: number; win32Error: number; protection?: string }[];
          },
      );
    assert.deepEqual(
      records.map((r) => [r.kind, r.rpc]),
      [
        ["intent", "Disconnect"],
        ["result", "Disconnect"],
        ["intent", "Disconnect"],
        ["result", "Disconnect"],
      ],
    );
    assert.equal(records[1]?.callId, records[0]?.callId);
    assert.equal(records[3]?.callId, records[2]?.callId);
    const [refused, record] = [records[1], records[3]];
    assert.deepEqual(
      refused?.results?.map((r) => [r.sessionId, r.protection]),
      [[4, "CALLER_UNRESOLVED"]],
    );
    assert.equal(record?.rpc, "Disconnect");
    assert.deepEqual(
      record?.results?.map((r) => [r.sessionId, r.win32Error]),
      [
        [4, 0],
        [5, 0],
        [65536, 0],
        [77, 0],
        [6, 7007],
        [1, 0],
      ],
    );
  });

  void it("never matches a console-type session by idle time", async () => {
    const { report } = await wmsctl("disconnect", "--all", "--min-idle", "1s", "--what-if");
    assert.equal(report.status, "ok");
    // 4, 5 and 13 are Remote Desktop sessions with a user (their last input is days before the
    // agent's clock); the console (1) and station 12, whose idle time is unknown, are not idle.
    assert.deepEqual(
      (report.results ?? []).map((r) => r.sessionId),
      [4, 5, 13],
    );
  });

  void it("lists the other sessions when one of them cannot be read (Win32 error 5)", async () => {
    writeFileSync(failFile, "query:13=5");
    try {
      const { status, report } = await wmsctl("get");
      assert.equal(status, 0);
      const sessions = report.sessions ?? [];
      assert.equal(sessions.length, 13);
      const degraded = sessions.find((s) => s.sessionId === 13);
      assert.equal(degraded?.state, "ACTIVE");
      assert.equal(degraded?.stationName, "RDP-Tcp#13");
      assert.equal(degraded?.userName, "");
      assert.equal(degraded?.idleSeconds, null);
      // The session says why it is incomplete, on the wire and in wmsctl's output.
      assert.match(
        degraded?.note ?? "",
        /^details unknown: WTSQuerySessionInformationW\(13, \d+\) failed: access denied \(5\)$/,
      );
      assert.equal(sessions.find((s) => s.sessionId === 5)?.userName, "Józef");
      assert.equal(sessions.find((s) => s.sessionId === 5)?.note, undefined);
      const table = await runWmsctl(["get", "13", ...flags, "-o", "table"]);
      const [header = "", row = ""] = table.stdout.split("\n");
      assert.match(header, /\bPROTECTED\s+NOTE$/);
      assert.match(row, /RDP-Tcp#13 .*details unknown: /, table.stdout);
    } finally {
      writeFileSync(failFile, "");
    }
  });

  void it("answers UNAVAILABLE and turns NOT_SERVING while RDS is unreachable (1722)", async () => {
    writeFileSync(failFile, "enumerate=1722");
    const down = await wmsctl("get");
    assert.equal(down.report.status, "failed");
    assert.equal(down.report.code, "UNAVAILABLE");
    assert.equal(await healthStatus(), "NOT_SERVING");
    writeFileSync(failFile, "");
    // The agent probes the backend on its own; wait (bounded) until it has seen it answer.
    const deadline = Date.now() + 60_000;
    let status = await healthStatus();
    while (status !== "SERVING" && Date.now() < deadline) {
      await delay(200);
      status = await healthStatus();
    }
    assert.equal(status, "SERVING");
    assert.equal((await wmsctl("get")).report.status, "ok");
  });

  /** `grpc.health.v1.Health/Check` for the whole server, as a load balancer would ask. */
  async function healthStatus(): Promise<string> {
    const definition = loadSync(healthProtoPath, { enums: String });
    const Health = (
      loadPackageDefinition(definition) as unknown as {
        grpc: { health: { v1: { Health: new (address: string, creds: unknown) => Client } } };
      }
    ).grpc.health.v1.Health;
    const client = new Health(`127.0.0.1:${port}`, credentials.createInsecure()) as Client & {
      check(
        request: { service: string },
        callback: (error: ServiceError | null, response?: { status: string }) => void,
      ): void;
    };
    try {
      return await new Promise((resolve, reject) =>
        client.check({ service: "" }, (error, response) =>
          error === null ? resolve(response?.status ?? "") : reject(error),
        ),
      );
    } finally {
      client.close();
    }
  }

  /** `bin/wmsctl.js ARGS -o json` as a process; its exit status and its one host's report. */
  async function spawned(
    ...args: string[]
  ): Promise<{ status: number | null; report: HostReport }> {
    const run = await spawnWmsctl([...args, "-o", "json"]);
    const reports = JSON.parse(run.stdout || "[]") as HostReport[];
    assert.equal(reports.length, 1, run.stderr);
    return { status: run.status, report: reports[0] as HostReport };
  }

  const outcomes = (report: HostReport) =>
    (report.results ?? []).map((r) => [r.sessionId, r.outcome, r.response]);

  void it("shows messages through WTSSendMessageW: waiting for the answers, and not", async () => {
    // The DLL answers session 4 with IDYES; nobody answers in session 12 (IDTIMEOUT).
    writeFileSync(failFile, "answer:4=6");
    try {
      const waited = await spawned(
        ...["message", "Lunch in 5 minutes: save your work", "4", "12"],
        ...["--title", "Cafeteria", "--buttons", "yes-no", "--wait", "--timeout", "30s"],
        ...flags,
      );
      assert.equal(waited.status, 0, JSON.stringify(waited.report));
      assert.deepEqual(outcomes(waited.report), [
        [4, "MESSAGE_SENT", "YES"],
        [12, "MESSAGE_SENT", "TIMEOUT"],
      ]);
      const shown = await spawned("message", "Fire drill at 10:00", "4", "5", ...flags);
      assert.equal(shown.status, 0, JSON.stringify(shown.report));
      assert.deepEqual(outcomes(shown.report), [
        [4, "MESSAGE_SENT", "NOT_WAITED"],
        [5, "MESSAGE_SENT", "NOT_WAITED"],
      ]);
    } finally {
      writeFileSync(failFile, "");
    }
  });

  void it("logs off through WTSLogoffSession (what-if, for real, again), and a watch sees it through WTSWaitSystemEvent", async () => {
    const watch = startWatch(flags);
    try {
      const snapshot = await watch.next((r) => r.event === "snapshot");
      assert.ok(snapshot.event === "snapshot");
      const before = snapshot.sessions.find((s) => s.sessionId === 13);
      assert.equal(before?.userName, "anne-sophie.van-den-berghe");

      // Straight from Linux: Wine cannot name wmsctl's process, so rule 3 refuses (fails closed).
      const direct = await spawned("logoff", "13", "--what-if", ...flags);
      assert.equal(direct.report.results?.[0]?.protection, "CALLER_UNRESOLVED");
      // Through the relay, a Windows process in session 1 (the agent's own): 13 may be logged off.
      const whatIf = await spawned("logoff", "13", "--what-if", ...relayFlags);
      assert.equal(whatIf.status, 0, JSON.stringify(whatIf.report));
      assert.deepEqual(outcomes(whatIf.report), [[13, "WOULD_LOG_OFF", undefined]]);
      const done = await spawned("logoff", "13", ...relayFlags);
      assert.equal(done.status, 0, JSON.stringify(done.report));
      assert.deepEqual(outcomes(done.report), [[13, "LOGGED_OFF", undefined]]);
      assert.equal(done.report.results?.[0]?.userName, "anne-sophie.van-den-berghe");

      // The DLL raised WTS_EVENT_LOGOFF: the agent's waiting worker returned, the agent listed
      // the sessions again, and the change reached the watch.
      const changed = await watch.next((r) => r.event === "changed" && r.session.sessionId === 13);
      assert.ok(changed.event === "changed");
      assert.equal(changed.session.state, "CONNECTED");
      assert.equal(changed.session.userName, "");
      assert.equal(changed.was?.userName, "anne-sophie.van-den-berghe");
      assert.equal(changed.revision, snapshot.revision + 1);
      await waitForLog(logFile, /"msg":"watch: the backend reported a change"/, agent);

      const again = await spawned("logoff", "13", ...relayFlags);
      assert.equal(again.status, 0, JSON.stringify(again.report));
      assert.deepEqual(outcomes(again.report), [[13, "ALREADY_LOGGED_OFF", undefined]]);
      assert.match(
        again.report.results?.[0]?.message ?? "",
        /this agent logged CLASSROOM-NORTH-WING\\anne-sophie\.van-den-berghe off at /,
      );
      const { status } = await watch.stop("SIGINT");
      assert.equal(status, 130);
    } finally {
      if (watch.child.exitCode === null && watch.child.signalCode === null) {
        watch.child.kill("SIGKILL");
      }
    }
  });

  void it("drains and exits 0 on SIGINT", async () => {
    agent.kill("SIGINT");
    assert.equal(await exited, 0);
    assert.match(readFileSync(logFile, "utf8"), /"outcome":"drained","msg":"agent stopped"/);
  });
});
