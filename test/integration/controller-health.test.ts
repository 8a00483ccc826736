import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  credentials,
  makeGenericClientConstructor,
  type ClientReadableStream,
} from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { startAgent, type Agent } from "../../agent/server/agent.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { WMSFLEET_VERSION } from "../../common/version.js";
import type { HostReport } from "../../controller/cli/report.js";
import { ChannelPool } from "../../controller/channel-pool.js";
import { NOT_SERVING_MESSAGE } from "../../controller/health-check.js";
import {
  NotServingError,
  createController,
  type AgentHealth,
  type HostResult,
  type Target,
} from "../../controller/index.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import {
  addressTarget,
  closedAddress,
  loopbackTarget,
  startHost,
  type FleetHost,
} from "../helpers/controller-fleet.js";

const UP = "up.lab.example.com";
const DOWN = "down.lab.example.com";
const GONE = "gone.lab.example.com";
const SERVICE = "wms.v1.WmsSessionService";

interface WatchClient {
  watch(request: { service: string }): ClientReadableStream<{ status: string }>;
  close(): void;
}

/**
 * Resolves once the agent at 127.0.0.1:`port` reports `status` for the session service, through
 * a `grpc.health.v1.Health/Watch` stream (the agent pushes each change as it probes).
 */
async function watchUntil(port: number, status: string): Promise<void> {
  const Health = makeGenericClientConstructor(healthService, "Health");
  const client = new Health(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
  ) as unknown as WatchClient;
  const stream = client.watch({ service: SERVICE });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (response: { status: string }) => {
        if (response.status === status) resolve();
      });
      stream.on("error", reject);
      stream.on("end", () => reject(new Error(`Watch ended before ${status}`)));
    });
  } finally {
    stream.on("error", () => undefined);
    stream.cancel();
    client.close();
  }
}

void describe("health: grpc.health.v1.Health/Check of each host, with GetAgentInfo", () => {
  let up: FleetHost;
  let down: Agent;
  let downTarget: Target;
  let goneAddress: string;
  let flags: string[];

  before(async () => {
    up = await startHost({ fqdn: UP });
    const backend = createSimulatedBackend();
    down = await startAgent({
      hostFqdn: DOWN,
      backend,
      listen: ["127.0.0.1:0"],
      graceMs: 0,
      healthIntervalMs: 10,
    });
    const downPort = down.ports[0] ?? 0;
    downTarget = loopbackTarget(DOWN, downPort);
    // The agent answers NOT_SERVING from the first probe after its backend goes away.
    const notServing = watchUntil(downPort, "NOT_SERVING");
    backend.setAvailable(false);
    await notServing;
    goneAddress = await closedAddress();
    flags = [
      "--insecure-loopback",
      "-s",
      `${UP},${DOWN},${GONE}`,
      `--resolve=${UP}=127.0.0.1:${up.agent.ports[0]}`,
      `--resolve=${DOWN}=127.0.0.1:${downPort}`,
      `--resolve=${GONE}=${goneAddress}`,
      "--retries",
      "0",
    ];
  });
  after(async () => {
    await Promise.all([up.agent.shutdown({ graceMs: 0 }), down.shutdown({ graceMs: 0 })]);
  });

  void it("controller.checkHealth: ok when SERVING, failed when NOT_SERVING, unreachable", async () => {
    const controller = createController({
      credentials: credentials.createInsecure(),
      retries: 0,
      isLocalTarget: () => Promise.resolve(false),
    });
    try {
      const results: HostResult<AgentHealth>[] = [];
      const targets = [up.target, downTarget, addressTarget(GONE, goneAddress)];
      for await (const result of controller.checkHealth(targets, {
        agentInfo: true,
        signal: new AbortController().signal,
      })) {
        results.push(result);
      }
      const byHost = new Map(results.map((r) => [r.host, r]));
      assert.equal(results.length, 3);
      assert.equal(byHost.size, 3, "each host exactly once");

      const ok = byHost.get(UP);
      assert.equal(ok?.status, "ok");
      assert.equal(ok.response.status, "SERVING");
      assert.equal(ok.response.service, SERVICE);
      assert.equal(ok.response.agentInfo?.host, UP);
      assert.equal(ok.response.agentInfo.backend, "simulated");

      const failed = byHost.get(DOWN);
      assert.equal(failed?.status, "failed");
      assert.equal(failed.attempts, 1, "NOT_SERVING is the agent's answer: not retried");
      assert.ok(failed.error instanceof NotServingError);
      assert.equal(failed.error.servingStatus, "NOT_SERVING");
      assert.equal(failed.error.agentInfo?.host, DOWN, "an agent without backend says what it is");
      assert.equal(failed.message, NOT_SERVING_MESSAGE);
      assert.equal(
        failed.error.message,
        `${DOWN} grpc.health.v1.Health/Check UNAVAILABLE: ${NOT_SERVING_MESSAGE}`,
      );

      const gone = byHost.get(GONE);
      assert.equal(gone?.status, "unreachable");
      assert.equal(gone.code, "UNAVAILABLE");
      assert.match(gone.error.message, /^gone\.lab\.example\.com grpc\.health\.v1\.Health\/Check /);
    } finally {
      controller.close();
    }
  });

  void it("wmsctl health -o json: each host once, SERVING / NOT_SERVING shown, exit 1", async () => {
    const run = await runWmsctl(["health", ...flags, "-o", "json"]);
    assert.equal(run.status, 1, "a failed host is exit 1, even beside an unreachable one");
    const reports = JSON.parse(run.stdout) as HostReport[];
    assert.deepEqual(
      reports.map((r) => [r.host, r.status, r.health]),
      [
        [UP, "ok", "SERVING"],
        [DOWN, "failed", "NOT_SERVING"],
        [GONE, "unreachable", undefined],
      ],
    );
    const [ok, failed, gone] = reports;
    assert.equal(ok?.agent?.backend, "simulated");
    assert.equal(ok.agent.version, WMSFLEET_VERSION);
    assert.equal(failed?.code, "UNAVAILABLE");
    assert.equal(failed.agent?.backend, "simulated");
    assert.equal(failed.attempts, 1);
    assert.ok(failed.error?.endsWith(`Health/Check UNAVAILABLE: ${NOT_SERVING_MESSAGE}`));
    assert.equal(gone?.code, "UNAVAILABLE");
    assert.match(run.stderr, /^3 hosts: 1 ok, 1 failed, 1 unreachable$/m);
  });

  void it("wmsctl health -o ndjson and -o table", async () => {
    const ndjson = await runWmsctl(["health", ...flags, "-o", "ndjson"]);
    assert.equal(ndjson.status, 1, ndjson.stderr);
    const lines = ndjson.stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    const reports = lines.map((line) => JSON.parse(line) as HostReport);
    assert.deepEqual(reports.map((r) => [r.host, r.status, r.health ?? null]).sort(), [
      [DOWN, "failed", "NOT_SERVING"],
      [GONE, "unreachable", null],
      [UP, "ok", "SERVING"],
    ]);

    const table = await runWmsctl(["health", ...flags, "-o", "table"]);
    assert.equal(table.status, 1, table.stderr);
    const rows = table.stdout.trimEnd().split("\n");
    assert.match(
      rows[0] ?? "",
      /^HOST\s+STATUS\s+HEALTH\s+VERSION\s+BACKEND\s+AGENT SESSION\s+STARTED\s+TIME$/,
    );
    assert.equal(rows.length, 4);
    assert.match(rows[1] ?? "", /^up\.lab\.example\.com\s+ok\s+SERVING\s+\S+\s+simulated\s/);
    assert.ok(rows[1]?.includes(`  ${WMSFLEET_VERSION}  `));
    assert.match(
      rows[2] ?? "",
      /^down\.lab\.example\.com\s+failed\s+NOT_SERVING\s+\S+\s+simulated\s/,
    );
    assert.match(rows[3] ?? "", /^gone\.lab\.example\.com\s+unreachable\s+\d+ms$/);
    assert.ok(
      table.stderr.includes(
        `${DOWN}: failed: ${DOWN} grpc.health.v1.Health/Check UNAVAILABLE: ${NOT_SERVING_MESSAGE}\n`,
      ),
      table.stderr,
    );
  });

  void it("exit 0 when every host is SERVING", async () => {
    const run = await runWmsctl([
      "health",
      "--insecure-loopback",
      "-s",
      UP,
      `--resolve=${UP}=127.0.0.1:${up.agent.ports[0]}`,
      "-o",
      "json",
    ]);
    assert.equal(run.status, 0, run.stderr);
    const [report] = JSON.parse(run.stdout) as HostReport[];
    assert.equal(report?.health, "SERVING");
  });
});

void describe("ChannelPool.healthClient", () => {
  void it("rides on the channel of the host's session client", async () => {
    const pool = new ChannelPool({ credentials: credentials.createInsecure() });
    try {
      const target = loopbackTarget(UP, 9);
      const health = await pool.healthClient(target);
      assert.equal(health.getChannel(), pool.client(target).getChannel());
      assert.equal(await pool.healthClient(target), health);
      assert.equal(pool.size, 1);
    } finally {
      pool.close();
    }
    await assert.rejects(pool.healthClient(loopbackTarget(UP, 9)), /closed/);
  });
});
