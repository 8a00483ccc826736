/**
 * Trust the agent's answer only as far as it goes: an answer that names another host than the
 * FQDN asked is that host `failed`, never `ok`, whatever the RPC; an agent asked as `localhost`
 * answers with its own name, and may.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import {
  WmsSessionServiceService,
  type WmsSessionServiceServer,
} from "../../proto/gen/wms/v1/wms_session.js";
import { createController, type HostResult } from "../../controller/index.js";
import { answersFor } from "../../controller/controller.js";
import {
  loopbackTarget,
  startHost,
  stopFleet,
  type FleetHost,
} from "../helpers/controller-fleet.js";

async function collect<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>[]> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  return list;
}

/**
 * An agent that passes every request and answers as `host`: a misconfigured or impostor agent
 * that does not check `expected_host`.
 */
async function startLyingAgent(host: string): Promise<{ port: number; stop(): Promise<void> }> {
  const server = new Server();
  const implementation: Partial<WmsSessionServiceServer> = {
    listSessions: (_call, callback) => callback(null, { host, sessions: [] }),
    disconnect: (_call, callback) => callback(null, { host, results: [] }),
    disconnectAll: (_call, callback) => callback(null, { host, results: [] }),
    getAgentInfo: (_call, callback) =>
      callback(null, {
        host,
        version: "0.0.0",
        backend: "fake",
        agentSessionId: 0,
        startTime: undefined,
      }),
  };
  server.addService(WmsSessionServiceService, implementation as WmsSessionServiceServer);
  new HealthImplementation({ "wms.v1.WmsSessionService": "SERVING" }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
  return {
    port,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

void describe("the host of an answer", () => {
  let liar: { port: number; stop(): Promise<void> };
  let local: FleetHost;
  before(async () => {
    liar = await startLyingAgent("other.lab.example.com");
    local = await startHost({ fqdn: "localhost", agentFqdn: "mps07.lab.example.com" });
  });
  after(async () => {
    await liar.stop();
    await stopFleet([local]);
  });

  void it("is compared without case or a trailing dot; localhost answers with its own name", () => {
    assert.equal(answersFor("h1.lab.example.com", "H1.Lab.Example.COM."), true);
    assert.equal(answersFor("h1.lab.example.com", "h2.lab.example.com"), false);
    assert.equal(answersFor("h1.lab.example.com", ""), false);
    assert.equal(answersFor("localhost", "mps07.lab.example.com"), true);
    assert.equal(answersFor("localhost", ""), false);
  });

  void it("makes the host failed, not ok, for every RPC, and says why", async () => {
    const controller = createController({ credentials: credentials.createInsecure() });
    const target = loopbackTarget("h1.lab.example.com", liar.port);
    try {
      const runs: HostResult<unknown>[][] = [
        await collect(controller.listSessions([target])),
        await collect(controller.disconnect([target], [3])),
        await collect(controller.disconnectAll([target])),
        await collect(controller.getAgentInfo([target])),
        await collect(controller.checkHealth([target], { agentInfo: true })),
      ];
      for (const [result] of runs) {
        assert.equal(result?.status, "failed");
        assert.equal(result.code, "FAILED_PRECONDITION");
        assert.equal(result.attempts, 1, "not retried");
        assert.match(
          result.message,
          new RegExp(
            `^the answer is from other\\.lab\\.example\\.com, not h1\\.lab\\.example\\.com: the agent at 127\\.0\\.0\\.1:${liar.port} is not the host asked`,
          ),
        );
      }
    } finally {
      controller.close();
    }
  });

  void it("accepts an agent asked as localhost that answers with its own FQDN", async () => {
    const controller = createController({ credentials: credentials.createInsecure() });
    try {
      const [result] = await collect(controller.getAgentInfo([local.target]));
      assert.equal(result?.status, "ok");
      assert.equal(result.response.host, "mps07.lab.example.com");
    } finally {
      controller.close();
    }
  });
});
