/**
 * The agent's lifecycle (DESIGN section 5) seen through the standard health protocol: NOT_SERVING
 * until the backend answers, SERVING while up, NOT_SERVING at the start of a shutdown; in-flight
 * calls finish within the grace period, then the server is forced down.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, status as Status, type ServiceError } from "@grpc/grpc-js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { gate, startHarness } from "../helpers/agent-harness.js";
import { checkHealth, healthClient, type HealthClient } from "../helpers/health-client.js";
import { startTlsAgent, testPki } from "../helpers/tls-agent.js";

function healthClientOf(address: string): HealthClient {
  return healthClient(address, credentials.createInsecure());
}

/**
 * Reads a Watch stream without consuming it (a `for await` that stops early would destroy it):
 * `until(status)` resolves with the statuses delivered since the last call, once `status` came.
 */
function watchReader(stream: NodeJS.ReadableStream) {
  const pending: string[] = [];
  let wake: (() => void) | undefined;
  stream.on("data", (message: { status: string }) => {
    pending.push(message.status);
    wake?.();
  });
  // The test cancels the stream when done; any other error fails the test where it awaits.
  stream.on("error", (error: ServiceError) => {
    if (error.code !== Status.CANCELLED) pending.push(`error: ${error.message}`);
    wake?.();
  });
  return {
    async until(status: string): Promise<string[]> {
      while (!pending.includes(status)) await new Promise<void>((resolve) => (wake = resolve));
      return pending.splice(0, pending.indexOf(status) + 1);
    },
  };
}

/** A backend whose health and listing the test controls. */
function controllableBackend() {
  const inner = createSimulatedBackend({ env: {} });
  let healthy = false;
  let listGate: Promise<void> | undefined;
  let entered: (() => void) | undefined;
  const backend: SessionBackend = {
    name: "simulated",
    listSessions: async () => {
      entered?.();
      await listGate;
      return inner.listSessions();
    },
    disconnectSession: (id, options) => inner.disconnectSession(id, options),
    logoffSession: (id, options) => inner.logoffSession(id, options),
    sendMessage: (id, box) => inner.sendMessage(id, box),
    sessionOfProcess: (pid) => inner.sessionOfProcess(pid),
    agentSessionId: () => inner.agentSessionId(),
    isHealthy: () => Promise.resolve(healthy),
    close: () => inner.close(),
  };
  return {
    backend,
    setHealthy: (value: boolean) => (healthy = value),
    /** Holds every listSessions until `open()`; `entered` resolves when one is waiting. */
    hold() {
      const held = gate();
      const arrived = gate();
      listGate = held.promise;
      entered = arrived.open;
      return { open: held.open, entered: arrived.promise };
    },
  };
}

describe("agent lifecycle", () => {
  it("is NOT_SERVING until the backend answers, then SERVING", async (t) => {
    const control = controllableBackend();
    const { address, agent } = await startHarness(t, {
      backend: control.backend,
      healthIntervalMs: 10,
    });
    const client = healthClientOf(address);
    t.after(() => client.close());
    assert.equal(agent.state(), "backend-unavailable");
    assert.equal(await checkHealth(client), "NOT_SERVING");
    assert.equal(await checkHealth(client, "wms.v1.WmsSessionService"), "NOT_SERVING");
    const stream = client.Watch({ service: "wms.v1.WmsSessionService" });
    const reader = watchReader(stream);
    assert.deepEqual(await reader.until("NOT_SERVING"), ["NOT_SERVING"]);
    control.setHealthy(true);
    const seen = await reader.until("SERVING");
    stream.cancel();
    assert.equal(seen.at(-1), "SERVING");
    assert.equal(agent.state(), "serving");
  });

  it("tells watchers NOT_SERVING at the start of a shutdown and still drains cleanly", async (t) => {
    const { address, agent } = await startHarness(t);
    const client = healthClientOf(address);
    t.after(() => client.close());
    const stream = client.Watch({ service: "" });
    const reader = watchReader(stream);
    assert.deepEqual(await reader.until("SERVING"), ["SERVING"]);
    const ended = once(stream, "end");
    const shutdown = agent.shutdown({ graceMs: 30_000 });
    assert.deepEqual(await reader.until("NOT_SERVING"), ["NOT_SERVING"]);
    await ended;
    assert.equal(await shutdown, "drained");
    assert.equal(agent.state(), "stopped");
  });

  it("lets an in-flight call finish during a shutdown and refuses new ones", async (t) => {
    const control = controllableBackend();
    control.setHealthy(true);
    const { client, agent } = await startHarness(t, { backend: control.backend });
    const held = control.hold();
    const inFlight = client.listSessions();
    await held.entered;
    const shutdown = agent.shutdown({ graceMs: 30_000 });
    assert.equal(agent.state(), "draining");
    await assert.rejects(client.getAgentInfo(), (error: ServiceError) => {
      assert.equal(Status[error.code], "UNAVAILABLE");
      return true;
    });
    held.open();
    assert.ok((await inFlight).sessions.length > 0);
    assert.equal(await shutdown, "drained");
  });

  // The agent's own connections (injected into grpc-js) under mutual TLS, as in production. A
  // drain that ended when grpc-js's tryShutdown called back cut the call here on Node 24 (its
  // Http2Server.close() closes the sessions before grpc-js waits for them). One that waited for
  // every connection, the silent one included, would wait until the grace period ran out and cut
  // the call then (the handshake timeout is longer than the grace period).
  it("drains a TLS connection once its call has answered, and closes at once one still in its handshake", async (t) => {
    const control = controllableBackend();
    control.setHealthy(true);
    const { operator } = await testPki;
    const secure = await startTlsAgent(t, {
      backend: control.backend,
      handshakeTimeoutMs: 120_000,
    });
    const client = secure.client(operator);
    const held = control.hold();
    const inFlight = client.listSessions();
    await held.entered;
    // TCP connected, no ClientHello: a handshake in progress, with no HTTP/2 session yet.
    const silent = netConnect({ host: "127.0.0.1", port: secure.port });
    silent.on("error", () => undefined);
    t.after(() => silent.destroy());
    const silentClosed = once(silent, "close");
    while (secure.agent.openConnections() < 2) await sleep(10);

    const shutdown = secure.agent.shutdown({ graceMs: 60_000 });
    await silentClosed;
    assert.equal(secure.agent.state(), "draining");
    held.open();
    assert.ok((await inFlight).sessions.length > 0);
    assert.equal(await shutdown, "drained");
    assert.equal(secure.agent.openConnections(), 0);
  });

  it("forces the server down when the grace period runs out", async (t) => {
    const control = controllableBackend();
    control.setHealthy(true);
    const { client, agent } = await startHarness(t, { backend: control.backend });
    const held = control.hold();
    const inFlight = client.listSessions();
    await held.entered;
    assert.equal(await agent.shutdown({ graceMs: 50 }), "forced");
    await assert.rejects(inFlight, (error: ServiceError) => {
      assert.ok(
        ["CANCELLED", "UNAVAILABLE", "INTERNAL"].includes(Status[error.code]),
        Status[error.code],
      );
      return true;
    });
    held.open();
  });
});
