/**
 * Faults in one fan-out: a real agent process SIGKILLed while its call is in flight, one that is
 * down and restarted during the run, a closed port, a backend with injected latency, and an agent
 * SIGTERMed while its call is in flight (the call completes). Every host appears exactly once with
 * the right status, and no session is disconnected twice or without the result saying so (the
 * backends' own records, or the agents' audit logs for the spawned ones). No timings are asserted.
 *
 * The run ends when its hosts do, never at its deadline: the deadline is wide (a process spawned
 * under load may be slow) and no host here waits for it. A port that accepts TCP and never speaks,
 * the one fault that always lasts until the deadline, is in controller-fan-out.test.ts.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it, type TestContext } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { createController, type HostResult } from "../../controller/index.js";
import {
  Outcome,
  type DisconnectAllResponse,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { closedTarget, loopbackTarget, startHost, stopFleet } from "../helpers/controller-fleet.js";
import { AGENT_BIN } from "../helpers/commands.js";

/** Sessions 2, 3 and 4 can be disconnected, each taking `latencyMs`; 0 is protected. */
function fixture(latencyMs: number) {
  const station = (sessionId: number, state: string) => ({
    sessionId,
    state,
    userName: `student${sessionId}`,
    domainName: "LAB",
    stationName: `Station ${sessionId}`,
    ...(latencyMs > 0 ? { disconnectLatencyMs: latencyMs } : {}),
  });
  return {
    description: "fault test host",
    agentSessionId: 0,
    sessions: [
      { sessionId: 0, state: "DISCONNECTED", stationName: "Services" },
      station(2, "ACTIVE"),
      station(3, "ACTIVE"),
      station(4, "IDLE"),
      { sessionId: 5, state: "DISCONNECTED", userName: "gone", stationName: "RDP-Tcp#5" },
    ],
  };
}

interface SpawnedAgent {
  readonly child: ChildProcess;
  readonly port: number;
  readonly audit: string;
  readonly exited: Promise<number | null>;
  /** Resolves at the first log line (seen or to come) that matches. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean): Promise<void>;
}

async function spawnAgent(
  t: TestContext,
  dir: string,
  name: string,
  options: { latencyMs: number; port?: number },
): Promise<SpawnedAgent> {
  const fixturePath = join(dir, `${name}.json`);
  const audit = join(dir, `${name}.audit.jsonl`);
  await writeFile(fixturePath, JSON.stringify(fixture(options.latencyMs)));
  const child = spawn(
    process.execPath,
    [
      AGENT_BIN,
      "--insecure-loopback",
      "--listen",
      `127.0.0.1:${options.port ?? 0}`,
      "--host-fqdn",
      name,
      "--sim-fixture",
      fixturePath,
      "--audit-log",
      audit,
      "--log-level",
      "debug",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: { predicate: (line: Record<string, unknown>) => boolean; resolve: () => void }[] =
    [];
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const waitForLine = (predicate: (line: Record<string, unknown>) => boolean) =>
    lines.some(predicate)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ predicate, resolve }));
  await Promise.race([
    waitForLine((line) => line["msg"] === "agent state" && line["to"] === "serving"),
    exited.then((code) => {
      throw new Error(`${name}: wms-agent exited with ${code} before serving: ${stderr}`);
    }),
  ]);
  const listening = lines.find((line) => line["msg"] === "agent listening");
  const port = (listening?.["ports"] as number[] | undefined)?.[0];
  if (port === undefined) throw new Error(`${name}: no port logged`);
  return { child, port, audit, exited, waitForLine };
}

const callStarted = (line: Record<string, unknown>) =>
  line["msg"] === "rpc started" && line["rpc"] === "wms.v1.WmsSessionService/DisconnectAll";

/** The session ids an audit log records as disconnected, one entry per time. */
async function auditedDisconnects(path: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      const record = JSON.parse(line) as { results?: Partial<SessionResult>[] };
      return (record.results ?? [])
        .filter((r) => r.outcome === Outcome.DISCONNECTED || String(r.outcome) === "DISCONNECTED")
        .map((r) => Number(r.sessionId));
    });
}

function reportedDisconnects(result: HostResult<DisconnectAllResponse> | undefined): number[] {
  if (result?.status !== "ok") return [];
  return result.response.results
    .filter((r) => r.outcome === Outcome.DISCONNECTED)
    .map((r) => r.sessionId)
    .sort((a, b) => a - b);
}

void describe("faults in one DisconnectAll fan-out", () => {
  void it("reports every host once, with the right status, and never disconnects twice or silently", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "wmsfleet-faults-"));
    t.after(() => rm(dir, { recursive: true, force: true }));

    const [plain, slow] = await Promise.all([
      startHost({ fqdn: "plain.faults.test" }),
      startHost({ fqdn: "slow.faults.test" }),
    ]);
    if (plain === undefined || slow === undefined) throw new Error("no hosts");
    t.after(() => stopFleet([plain, slow]));
    slow.backend.inject(2, { disconnectLatencyMs: 300 });
    const closed = await closedTarget("closed.faults.test");

    const [killed, sigterm, restartedFirst] = await Promise.all([
      spawnAgent(t, dir, "killed.faults.test", { latencyMs: 60_000 }),
      spawnAgent(t, dir, "sigterm.faults.test", { latencyMs: 400 }),
      spawnAgent(t, dir, "restarted.faults.test", { latencyMs: 0 }),
    ]);
    // The restarted agent is down when the run starts, and comes back on the same port.
    restartedFirst.child.kill("SIGKILL");
    await restartedFirst.exited;
    let restarted: Promise<SpawnedAgent> | undefined;
    const restart = () =>
      (restarted ??= spawnAgent(t, dir, "restarted-2.faults.test", {
        latencyMs: 0,
        port: restartedFirst.port,
      }));

    const targets = [
      plain.target,
      slow.target,
      loopbackTarget("killed.faults.test", killed.port),
      loopbackTarget("sigterm.faults.test", sigterm.port),
      // The name the agent answers to changes with the restart; expected_host must match it.
      loopbackTarget("restarted-2.faults.test", restartedFirst.port),
      closed,
    ];
    const controller = createController({
      credentials: credentials.createInsecure(),
      timeoutMs: 60_000,
      retries: 2,
      // The killed agent never comes back: its two retries each wait out this window. Wide enough
      // for the restarted agent's connection on a loaded machine (1.5 s was not, at a load
      // average of 15 with npm test's files side by side).
      reconnectWindowMs: 5000,
      // A channel retries its connection at most every 100 ms (grpc-js backs off up to 120 s),
      // so the restarted agent is found well inside one window.
      channelOptions: {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 100,
      },
      // Every retry waits for the restart: the restarted host's retry finds its agent back.
      delay: async () => {
        await restart();
      },
    });
    t.after(() => controller.close());

    // Faults strike while the calls are in flight.
    const strikes = Promise.all([
      killed.waitForLine(callStarted).then(() => killed.child.kill("SIGKILL")),
      sigterm.waitForLine(callStarted).then(() => sigterm.child.kill("SIGTERM")),
    ]);
    const results: HostResult<DisconnectAllResponse>[] = [];
    for await (const result of controller.disconnectAll(targets)) results.push(result);
    await strikes;

    assert.deepEqual(
      results.map((r) => r.host).sort(),
      targets.map((target) => target.fqdn).sort(),
      "every host exactly once",
    );
    const byHost = new Map(results.map((r) => [r.host, r]));
    const statuses = Object.fromEntries(results.map((r) => [r.host, r.status]));
    assert.deepEqual(statuses, {
      "plain.faults.test": "ok",
      "slow.faults.test": "ok",
      "killed.faults.test": "unreachable",
      "sigterm.faults.test": "ok",
      "restarted-2.faults.test": "ok",
      "closed.faults.test": "unreachable",
    });
    assert.ok((byHost.get("restarted-2.faults.test")?.attempts ?? 0) > 1, "restarted: retried");
    assert.equal(await sigterm.exited, 0, "SIGTERM: drained, the call in flight completed");

    // In-process agents: what reached the backend is exactly what was reported, once each.
    for (const host of [plain, slow]) {
      const calls = host.backend.disconnectCalls().map((call) => call.sessionId);
      assert.equal(new Set(calls).size, calls.length, `${host.fqdn}: no session twice`);
      assert.deepEqual(
        [...calls].sort((a, b) => a - b),
        reportedDisconnects(byHost.get(host.fqdn)),
        `${host.fqdn}: every disconnect reported`,
      );
    }
    // Spawned agents: their audit logs against the results.
    const restartedAgent = await restart();
    for (const [name, audit] of [
      ["sigterm.faults.test", sigterm.audit],
      ["restarted-2.faults.test", restartedAgent.audit],
    ] as const) {
      const audited = await auditedDisconnects(audit);
      assert.equal(new Set(audited).size, audited.length, `${name}: no session twice`);
      assert.deepEqual(
        audited.sort((a, b) => a - b),
        [2, 3, 4],
        `${name}: audited`,
      );
      assert.deepEqual(reportedDisconnects(byHost.get(name)), [2, 3, 4], `${name}: reported`);
    }
    assert.deepEqual(
      await auditedDisconnects(killed.audit),
      [],
      "the killed agent disconnected nothing",
    );
    assert.deepEqual(await auditedDisconnects(restartedFirst.audit), []);
  });
});
