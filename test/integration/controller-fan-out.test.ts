import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials, status } from "@grpc/grpc-js";
import { RpcError } from "../../agent/server/rpc-error.js";
import { Outcome } from "../../proto/gen/wms/v1/wms_session.js";
import { createController, type HostResult, type Target } from "../../controller/index.js";
import {
  closedTarget,
  loopbackTarget,
  startFleet,
  startSilentServer,
  stopFleet,
  type FleetHost,
  type SilentServer,
} from "../helpers/controller-fleet.js";

const OK_HOSTS = 44;
const BACKEND_DOWN = ["down-1.lab.example.com", "down-2.lab.example.com"];
const DENIED = ["denied-1.lab.example.com", "denied-2.lab.example.com"];
const WRONG_HOST = ["misrouted.lab.example.com"];

const deny = () => {
  throw new RpcError(status.PERMISSION_DENIED, "identity ops may not call Disconnect");
};

async function collect<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>[]> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  return list;
}

void describe("controller fan-out to 50 agents on loopback", () => {
  let fleet: FleetHost[] = [];
  let silent: SilentServer;
  let targets: Target[] = [];
  const unreachable = "gone.lab.example.com";
  const silentHost = "silent.lab.example.com";

  before(async () => {
    fleet = await startFleet([
      ...Array.from({ length: OK_HOSTS }, (_, i) => ({ fqdn: `ws${i + 1}.lab.example.com` })),
      ...BACKEND_DOWN.map((fqdn) => ({ fqdn })),
      ...DENIED.map((fqdn) => ({ fqdn, authorize: deny })),
      ...WRONG_HOST.map((fqdn) => ({ fqdn, agentFqdn: "someone-else.lab.example.com" })),
    ]);
    for (const host of fleet) {
      if (BACKEND_DOWN.includes(host.fqdn)) host.backend.setAvailable(false);
    }
    // Session 4 of ws1 fails at the OS: a host that answered, with one failed session.
    fleet[0]?.backend.inject(4, { disconnectWin32Error: 5 });
    silent = await startSilentServer();
    targets = [
      ...fleet.map((host) => host.target),
      await closedTarget(unreachable),
      loopbackTarget(silentHost, silent.port),
    ];
  });

  after(async () => {
    await stopFleet(fleet);
    await silent.close();
  });

  void it("reports every host exactly once with the right status, the silent host last", async () => {
    const controller = createController({
      credentials: credentials.createInsecure(),
      // Every agent must answer within it, in a process shared with 49 others on a loaded machine
      // (npm test runs files side by side); only the silent host waits it out.
      timeoutMs: 15_000,
      throttle: 16,
      delay: () => Promise.resolve(),
    });
    try {
      const results = await collect(controller.disconnect(targets, [3, 4, 99]));
      assert.equal(results.length, targets.length);
      assert.deepEqual(
        new Set(results.map((r) => r.host)),
        new Set(targets.map((t) => t.fqdn)),
        "each requested host appears",
      );
      const byHost = new Map(results.map((r) => [r.host, r]));
      const statusOf = (host: string) => byHost.get(host)?.status;

      for (let i = 1; i <= OK_HOSTS; i++) {
        const result = byHost.get(`ws${i}.lab.example.com`);
        assert.equal(result?.status, "ok", `ws${i}`);
        assert.equal(result.attempts, 1);
        assert.equal(result.response.host, `ws${i}.lab.example.com`);
        const outcomes = result.response.results.map((r) => [r.sessionId, r.outcome]);
        const expected4 = i === 1 ? Outcome.FAILED : Outcome.DISCONNECTED;
        assert.deepEqual(outcomes, [
          [3, Outcome.DISCONNECTED],
          [4, expected4],
          [99, Outcome.NOT_FOUND],
        ]);
      }
      for (const host of BACKEND_DOWN) {
        const result = byHost.get(host);
        assert.equal(result?.status, "failed", host);
        assert.equal(result.code, "UNAVAILABLE");
        assert.equal(result.attempts, 3, "UNAVAILABLE is retried twice");
      }
      for (const host of DENIED) {
        const result = byHost.get(host);
        assert.equal(result?.status, "denied", host);
        assert.equal(result.code, "PERMISSION_DENIED");
        assert.equal(result.attempts, 1, "only UNAVAILABLE is retried");
        assert.match(
          result.error.message,
          /^denied-\d\.lab\.example\.com WmsSessionService\/Disconnect PERMISSION_DENIED: /,
        );
      }
      const misrouted = byHost.get(WRONG_HOST[0] ?? "");
      assert.equal(misrouted?.status, "failed");
      assert.equal(misrouted.code, "FAILED_PRECONDITION");
      assert.equal(statusOf(unreachable), "unreachable");
      assert.equal(byHost.get(unreachable)?.attempts, 3);
      assert.equal(statusOf(silentHost), "timeout");
      assert.equal(results.at(-1)?.host, silentHost, "the silent host never delays the others");
      assert.ok(silent.connections() >= 1, "the silent server was dialled");

      // Nothing happened on the host that was misrouted, denied, or whose backend was down.
      for (const host of fleet.filter((h) => !h.fqdn.startsWith("ws"))) {
        const disconnected = host.backend.disconnectCalls().map((c) => c.sessionId);
        assert.deepEqual(disconnected, [], host.fqdn);
      }
    } finally {
      controller.close();
    }
  });

  void it("lists sessions and reads agent info over the same long-lived channels", async () => {
    const controller = createController({
      credentials: credentials.createInsecure(),
      timeoutMs: 15_000,
      delay: () => Promise.resolve(),
    });
    const okTargets = fleet.slice(0, 5).map((h) => h.target);
    try {
      const lists = await collect(controller.listSessions(okTargets, { sessionIds: [1, 2] }));
      assert.equal(lists.length, 5);
      for (const result of lists) {
        assert.equal(result.status, "ok");
        assert.deepEqual(
          result.response.sessions.map((s) => s.sessionId),
          [1, 2],
        );
      }
      const infos = await collect(controller.getAgentInfo(okTargets));
      assert.deepEqual(
        infos.map((r) => r.status),
        Array(5).fill("ok"),
      );
      for (const info of infos) {
        assert.equal(info.status === "ok" && info.response.backend, "simulated");
      }
    } finally {
      controller.close();
    }
  });
});
