import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { Outcome } from "../../proto/gen/wms/v1/wms_session.js";
import { createController, type HostResult } from "../../controller/index.js";
import {
  loopbackTarget,
  startFleet,
  stopFleet,
  type FleetHost,
} from "../helpers/controller-fleet.js";
import { startAgentRelay } from "../helpers/controller-proxy.js";

async function collect<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>[]> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  return list;
}

const insecure = credentials.createInsecure();

void describe("controller under faults", () => {
  void it("reports an agent killed in the middle of a run as unreachable, the others ok", async () => {
    let reached!: () => void;
    const inFlight = new Promise<void>((resolve) => (reached = resolve));
    const fleet = await startFleet([
      { fqdn: "a.lab.example.com" },
      { fqdn: "b.lab.example.com" },
      { fqdn: "victim.lab.example.com", onDisconnect: () => reached() },
    ]);
    const victim = fleet[2] as FleetHost;
    victim.backend.inject(3, { disconnectLatencyMs: 600_000 });
    const relay = await startAgentRelay(victim.agent.ports[0] as number);
    const targets = [
      ...fleet.slice(0, 2).map((h) => h.target),
      loopbackTarget(victim.fqdn, relay.port),
    ];
    const controller = createController({
      credentials: insecure,
      reconnectWindowMs: 300,
      delay: () => Promise.resolve(),
    });
    try {
      const kill = inFlight.then(() => relay.kill());
      const results = await collect(controller.disconnect(targets, [3]));
      await kill;
      const byHost = new Map(results.map((r) => [r.host, r]));
      assert.equal(results.length, 3);
      assert.equal(byHost.get("a.lab.example.com")?.status, "ok");
      assert.equal(byHost.get("b.lab.example.com")?.status, "ok");
      const lost = byHost.get("victim.lab.example.com");
      assert.equal(lost?.status, "unreachable");
      assert.equal(lost.code, "UNAVAILABLE");
      assert.equal(lost.attempts, 3);
      assert.equal(lost.mayHaveActed, true, "the disconnect had reached the agent");
      assert.equal(results.at(-1)?.host, "victim.lab.example.com");
    } finally {
      controller.close();
      await relay.close();
      await stopFleet(fleet);
    }
  });

  void it("retries an agent restarted during a run, and the retry succeeds", async () => {
    let reached!: () => void;
    const firstCall = new Promise<void>((resolve) => (reached = resolve));
    const fleet = await startFleet([
      { fqdn: "phoenix.lab.example.com", onDisconnect: () => reached() },
      { fqdn: "phoenix.lab.example.com" },
    ]);
    const [before, after] = fleet as [FleetHost, FleetHost];
    before.backend.inject(5, { disconnectLatencyMs: 600_000 });
    const relay = await startAgentRelay(before.agent.ports[0] as number);
    const controller = createController({
      credentials: insecure,
      // The agent comes back on the same address while the controller backs off.
      delay: () => relay.restart(after.agent.ports[0] as number),
    });
    try {
      const kill = firstCall.then(() => relay.kill());
      const results = await collect(
        controller.disconnect([loopbackTarget(before.fqdn, relay.port)], [5]),
      );
      await kill;
      assert.equal(results.length, 1);
      const [result] = results;
      assert.equal(result?.status, "ok");
      assert.equal(result.attempts, 2);
      assert.deepEqual(
        result.response.results.map((r) => [r.sessionId, r.outcome]),
        [[5, Outcome.DISCONNECTED]],
      );
      assert.deepEqual(
        before.backend.disconnectCalls().map((c) => c.sessionId),
        [5],
      );
      assert.deepEqual(
        after.backend.disconnectCalls().map((c) => c.sessionId),
        [5],
      );
    } finally {
      controller.close();
      await relay.close();
      await stopFleet(fleet);
    }
  });

  void it("keeps at most `throttle` calls in flight", async () => {
    let active = 0;
    let most = 0;
    const fleet = await startFleet(
      Array.from({ length: 6 }, (_, i) => ({
        fqdn: `t${i}.lab.example.com`,
        onDisconnect: () => {
          active++;
          most = Math.max(most, active);
        },
      })),
    );
    for (const host of fleet) host.backend.inject(2, { disconnectLatencyMs: 30 });
    const controller = createController({ credentials: insecure, throttle: 2 });
    try {
      for await (const result of controller.disconnect(
        fleet.map((h) => h.target),
        [2],
      )) {
        assert.equal(result.status, "ok");
        active--;
      }
      assert.equal(most, 2);
    } finally {
      controller.close();
      await stopFleet(fleet);
    }
  });

  void it("cancels calls in flight and throws when the signal aborts", async () => {
    let reached!: () => void;
    const inFlight = new Promise<void>((resolve) => (reached = resolve));
    const fleet = await startFleet([
      { fqdn: "slow.lab.example.com", onDisconnect: () => reached() },
    ]);
    const [host] = fleet;
    host?.backend.inject(3, { disconnectLatencyMs: 600_000 });
    const controller = createController({ credentials: insecure });
    const abort = new AbortController();
    try {
      void inFlight.then(() => abort.abort(new Error("operator pressed Ctrl-C")));
      await assert.rejects(
        collect(
          controller.disconnect(
            fleet.map((h) => h.target),
            [3],
            { signal: abort.signal },
          ),
        ),
        /operator pressed Ctrl-C/,
      );
    } finally {
      controller.close();
      await stopFleet(fleet);
    }
  });
});
