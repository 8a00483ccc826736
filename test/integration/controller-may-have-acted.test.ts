/**
 * A call that changes sessions and outlives its deadline after the request was sent may have
 * taken effect: the host result says so (`mayHaveActed`), wmsctl tells how to check and that a
 * rerun is safe, and the rerun file marks the host. A call that never left (the agent never
 * answered the connection), a read, and a request the agent refused as a whole are not marked.
 * This also pins the grpc-js behaviour `wasDispatched` reads (a call's peer once it is on a
 * connection).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import type { HostReport } from "../../controller/cli/report.js";
import {
  createController,
  type Controller,
  type HostResult,
  type Target,
} from "../../controller/index.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import {
  loopbackTarget,
  startHost,
  startSilentServer,
  stopFleet,
  type FleetHost,
  type SilentServer,
} from "../helpers/controller-fleet.js";
import { startAgentRelay, type AgentRelay } from "../helpers/controller-proxy.js";

async function collect<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>[]> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  return list;
}

/**
 * Connects `controller`'s channel to `target` with a call that succeeds: asked again (a bounded
 * number of times) while the short deadline these tests need is missed on a loaded machine.
 */
async function connect(controller: Controller, target: Target): Promise<void> {
  let status = "";
  for (let attempt = 0; attempt < 20 && status !== "ok"; attempt++) {
    const [info] = await collect(controller.getAgentInfo([target]));
    status = info?.status ?? "";
  }
  assert.equal(status, "ok", "the agent never answered GetAgentInfo");
}

void describe("a change that may have taken effect", () => {
  let slow: FleetHost;
  let silent: SilentServer;
  let dir: string;
  before(async () => {
    slow = await startHost({ fqdn: "slow.lab.example.com" });
    // Disconnects of session 3 and listings take far longer than any deadline below.
    slow.backend.inject(3, { disconnectLatencyMs: 600_000 });
    silent = await startSilentServer();
    dir = await mkdtemp(join(tmpdir(), "wmsctl-acted-"));
  });
  after(async () => {
    await stopFleet([slow]);
    await silent.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it("the library marks a timed-out disconnect that was sent, and nothing else", async () => {
    const controller = createController({
      credentials: credentials.createInsecure(),
      timeoutMs: 1500,
      retries: 0,
    });
    try {
      // The channel is connected first, so the disconnect is sent as soon as it is made.
      await connect(controller, slow.target);
      const [sent] = await collect(controller.disconnect([slow.target], [3]));
      assert.equal(sent?.status, "timeout");
      assert.equal(sent.mayHaveActed, true);

      // An answer that must come: a deadline no loaded machine misses (npm test runs files side
      // by side), not the short one the timeouts above wait out.
      const patient = createController({
        credentials: credentials.createInsecure(),
        timeoutMs: 60_000,
        retries: 0,
      });
      const [refused] = await collect(
        patient.disconnect(
          [loopbackTarget("elsewhere.lab.example.com", slow.agent.ports[0] as number)],
          [4],
        ),
      );
      patient.close();
      assert.equal(refused?.status, "failed");
      assert.equal(refused.code, "FAILED_PRECONDITION");
      assert.equal(refused.mayHaveActed, undefined, "the agent refused it as a whole");

      const [neverSent] = await collect(
        controller.disconnect([loopbackTarget("silent.lab.example.com", silent.port)], [3]),
      );
      assert.equal(neverSent?.status, "timeout");
      assert.equal(neverSent.mayHaveActed, undefined, "the agent never answered the connection");
    } finally {
      controller.close();
    }
  });

  void it("a read that times out after it was sent is only a timeout", async () => {
    const host = await startHost({ fqdn: "slowlist.lab.example.com" });
    const controller = createController({
      credentials: credentials.createInsecure(),
      timeoutMs: 1500,
      retries: 0,
    });
    try {
      await connect(controller, host.target);
      host.backend.setListLatencyMs(600_000);
      const [listed] = await collect(controller.listSessions([host.target]));
      assert.equal(listed?.status, "timeout");
      assert.equal(listed.mayHaveActed, undefined);
    } finally {
      controller.close();
      await stopFleet([host]);
    }
  });

  void it("wmsctl says it may have acted, how to check, that a rerun is safe, and marks the rerun file", async () => {
    // The agent's connection is cut once the disconnect reached its backend: sent, never answered.
    const cut: { relay?: AgentRelay } = {};
    const host = await startHost({
      fqdn: "cut.lab.example.com",
      onDisconnect: () => void cut.relay?.kill(),
    });
    host.backend.inject(3, { disconnectLatencyMs: 600_000 });
    const relay = await startAgentRelay(host.agent.ports[0] as number);
    cut.relay = relay;
    const rerun = join(dir, "rerun.txt");
    try {
      const run = await runWmsctl([
        "disconnect",
        "3",
        "--insecure-loopback",
        "-s",
        host.fqdn,
        `--resolve=${host.fqdn}=127.0.0.1:${relay.port}`,
        "--retries",
        "0",
        "--rerun-file",
        rerun,
        "-o",
        "json",
      ]);
      assert.equal(run.status, 3, run.stderr);
      const [report] = JSON.parse(run.stdout) as HostReport[];
      assert.equal(report?.status, "unreachable");
      assert.equal(report.mayHaveActed, true);
      assert.match(
        run.stderr,
        /^cut\.lab\.example\.com: the disconnect was sent and no answer came back, so it may have taken effect; check with: wmsctl get -s cut\.lab\.example\.com \(running it again is safe: a session already disconnected answers ALREADY_DISCONNECTED\)$/m,
      );
      assert.match(run.stderr, /^1 host: 1 unreachable \(1 may have acted: see above\)$/m);
      assert.match(
        await readFile(rerun, "utf8"),
        /^cut\.lab\.example\.com 127\.0\.0\.1:\d+ {2}# may have acted; running the disconnect again is safe \(ALREADY_DISCONNECTED\)$/m,
      );
    } finally {
      await relay.close();
      await stopFleet([host]);
    }
  });
});
