/**
 * The whole `wms-agent --backend wts` inside Windows Node under Wine, over the test
 * `wtsapi32.dll`, called over loopback from Linux by the real `wmsctl` and from a Windows process
 * (`client-harness.ts`): sessions with their protection, protection rule 3 both ways (a Windows
 * caller named through `GetExtendedTcpTable`; a Linux caller Wine cannot name, refused: rule 3
 * fails closed), every disconnect outcome (a Win32 error included), agent info, the audit file,
 * and a graceful stop on SIGINT. Skipped, with the reason, without Wine, MinGW-w64 or the cached
 * Windows Node.
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
  wineTierMissing,
} from "./wine-env.js";

const missing = wineTierMissing() ?? (hasMingw() ? undefined : "gcc-mingw-w64 is not installed");

/** Polls the agent's log until `pattern` matches or the agent exits; bounded, never timed. */
async function waitForLog(
  logFile: string,
  pattern: RegExp,
  child: ChildProcess,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const match = pattern.exec(readFileSync(logFile, "utf8"));
    if (match !== null) return match;
    if (child.exitCode !== null) break;
    await delay(100);
  }
  assert.fail(
    `the agent never logged ${pattern} (exit ${child.exitCode}):\n${readFileSync(logFile, "utf8")}`,
  );
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
    flags = [
      "--insecure-loopback",
      "--timeout",
      "120",
      "-s",
      "localhost",
      `--resolve=localhost=127.0.0.1:${port}`,
    ];
  });

  after(async () => {
    if (agent.exitCode === null && agent.signalCode === null) {
      agent.kill("SIGKILL");
      await exited;
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

  void it("drains and exits 0 on SIGINT", async () => {
    agent.kill("SIGINT");
    assert.equal(await exited, 0);
    assert.match(readFileSync(logFile, "utf8"), /"outcome":"drained","msg":"agent stopped"/);
  });
});
