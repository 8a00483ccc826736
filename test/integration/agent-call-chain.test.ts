/**
 * The one interceptor chain every call goes through (agent/server/call-chain.ts), under mutual
 * TLS: authorization when a call starts (before its message is read), the refused-call
 * allowance of callers without a role (connection closed, audit and log bounded), refusal beyond
 * the in-flight limit and while draining, for every service alike, one log line per call; and
 * the connection limit that makes room for a real client.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect as http2Connect, type IncomingHttpHeaders } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { AuditRecord } from "../../agent/audit/audit-record.js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import { openFileAuditSink } from "../../agent/audit/audit-file.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { gate, TEST_FIXTURE, TEST_HOST } from "../helpers/agent-harness.js";
import { until } from "../helpers/until.js";
import { pemFolder } from "../helpers/test-pki.js";
import { startTlsAgent, testPki } from "../helpers/tls-agent.js";

const DISCONNECT = "/wms.v1.WmsSessionService/Disconnect";

/** The gRPC status a call failed with, by name; `OK` when it succeeded. */
async function statusOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return Status[(error as ServiceError).code] ?? String(error);
  }
}

/** A backend whose ListSessions waits until the test opens the gate. */
function heldListing() {
  const inner = createSimulatedBackend({
    fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
    env: {},
  });
  const held = gate();
  let waiting = 0;
  const backend: SessionBackend = {
    name: "simulated",
    listSessions: async () => {
      waiting += 1;
      await held.promise;
      return inner.listSessions();
    },
    disconnectSession: (id, options) => inner.disconnectSession(id, options),
    logoffSession: (id, options) => inner.logoffSession(id, options),
    sendMessage: (id, box) => inner.sendMessage(id, box),
    sessionOfProcess: (pid) => inner.sessionOfProcess(pid),
    agentSessionId: () => inner.agentSessionId(),
    isHealthy: () => Promise.resolve(true),
    close: () => inner.close(),
  };
  return { backend, open: held.open, waiting: () => waiting };
}

describe("the interceptor chain", () => {
  it("refuses a caller without a role when its call starts, before its message is read", async (t) => {
    const secure = await startTlsAgent(t);
    const { ca, stranger } = await testPki;
    const session = http2Connect(`https://127.0.0.1:${secure.port}`, {
      ca: ca.cert,
      cert: stranger.cert,
      key: stranger.key,
      servername: TEST_HOST,
    });
    session.on("error", () => undefined);
    t.after(() => session.destroy());
    const stream = session.request({
      ":method": "POST",
      ":path": DISCONNECT,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => undefined);
    const answered = new Promise<IncomingHttpHeaders>((resolve) =>
      stream.once("response", resolve),
    );
    // 60 KiB of a message that announces one byte more: it is never complete, and the stream is
    // never ended. An agent that read the message before deciding would never answer.
    const prefix = Buffer.from([0, 0, 0, 0, 0]);
    prefix.writeUInt32BE(60 * 1024 + 1, 1);
    stream.write(Buffer.concat([prefix, Buffer.alloc(60 * 1024)]));
    const headers = await answered;
    assert.equal(headers["grpc-status"], String(Status.PERMISSION_DENIED));
    assert.match(
      decodeURIComponent(String(headers["grpc-message"])),
      /^identity "stranger" is not allowed to call wms\.v1\.WmsSessionService\/Disconnect/,
    );
    assert.deepEqual(secure.backend.disconnectCalls(), []);
  });

  it("judges each of two open connections by its own certificate, calls interleaved", async (t) => {
    // The certificate is read once per connection and kept with it, found by the call's two
    // endpoints: two connections must never see each other's identity.
    const secure = await startTlsAgent(t, { allow: { "kiosk-7": "reader" } });
    const { reader, stranger } = await testPki;
    const allowed = secure.client(reader);
    const refused = secure.client(stranger);
    for (let round = 0; round < 3; round++) {
      const [ok, denied] = await Promise.allSettled([
        allowed.listSessions(),
        refused.listSessions(),
      ]);
      assert.equal(ok.status, "fulfilled");
      assert.equal(denied.status, "rejected");
      assert.match((denied.reason as ServiceError).details, /^identity "stranger" is not allowed/);
    }
  });

  it("tells clients at most 100 streams per connection", async (t) => {
    const secure = await startTlsAgent(t);
    const { ca, operator } = await testPki;
    const session = http2Connect(`https://127.0.0.1:${secure.port}`, {
      ca: ca.cert,
      cert: operator.cert,
      key: operator.key,
      servername: TEST_HOST,
    });
    session.on("error", () => undefined);
    t.after(() => session.destroy());
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      session.once("remoteSettings", resolve),
    );
    assert.equal(settings.maxConcurrentStreams, 100);
  });

  it("closes the connection of a caller without a role once its allowance is spent; audit and log stay bounded", async (t) => {
    const folder = await pemFolder(t);
    const path = `${folder.dir}/audit.jsonl`;
    const audit = await openFileAuditSink(path);
    t.after(() => audit.close());
    const burst = 5;
    const secure = await startTlsAgent(t, {
      audit,
      maxRefusedCallBurst: burst,
      // No refill: the counts below do not depend on how long the test takes.
      refusedCallsPerMinute: 0,
    });
    const { stranger, reader } = await testPki;
    const attacker = secure.client(stranger);
    const statuses: string[] = [];
    for (let call = 0; call < 60; call++) {
      statuses.push(await statusOf(attacker.disconnect({ sessionIds: [2] })));
    }
    assert.deepEqual(statuses.slice(0, burst), Array<string>(burst).fill("PERMISSION_DENIED"));
    // Then RESOURCE_EXHAUSTED and the connection closed under it (UNAVAILABLE for a call that
    // was on its way), again on every new connection.
    assert.deepEqual(
      [...new Set(statuses.slice(burst))].sort(),
      statuses.slice(burst).includes("UNAVAILABLE")
        ? ["RESOURCE_EXHAUSTED", "UNAVAILABLE"]
        : ["RESOURCE_EXHAUSTED"],
    );
    // A caller with a role is refused as before, every time, and is never cut off.
    const readerClient = secure.client(reader);
    for (let call = 0; call < 30; call++) {
      assert.equal(
        await statusOf(readerClient.disconnect({ sessionIds: [2] })),
        "PERMISSION_DENIED",
      );
    }
    assert.equal(await statusOf(readerClient.listSessions()), "OK");

    const records = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditRecord)
      .filter((record) => record.kind === "result");
    assert.deepEqual(
      records.map((r) => [r.identity, r.status?.code]).filter(([who]) => who === "stranger"),
      Array.from({ length: burst }, () => ["stranger", "PERMISSION_DENIED"]),
    );
    assert.equal(records.filter((r) => r.identity === "kiosk-7").length, 30);
    const refusedLines = secure.logs.filter(
      (line) => line.msg === "rpc failed" && line["identity"] === "stranger",
    );
    assert.equal(refusedLines.length, burst, "one line per refused call within the allowance");
    assert.equal(
      secure.logs.filter((line) => /^too many refused calls/.test(line.msg ?? "")).length,
      1,
      "one warning when the allowance is spent",
    );
    assert.deepEqual(secure.backend.disconnectCalls(), []);
  });

  it("refuses every service beyond the in-flight limit and while draining, and logs one line per call", async (t) => {
    const held = heldListing();
    const secure = await startTlsAgent(t, { backend: held.backend, maxInFlightCalls: 2 });
    const { operator, reader } = await testPki;
    const client = secure.client(operator);
    const first = client.listSessions();
    const second = secure.client(reader).listSessions();
    await until(() => held.waiting() === 2, {
      what: "two calls in flight",
      everyMs: 20,
      signal: t.signal,
    });
    assert.equal(await statusOf(client.getAgentInfo()), "RESOURCE_EXHAUSTED");
    await assert.rejects(secure.health(), (error: ServiceError) => {
      assert.equal(Status[error.code], "RESOURCE_EXHAUSTED");
      assert.match(error.details, /too many calls in flight \(limit 2\)/);
      return true;
    });
    held.open();
    assert.equal((await first).sessions.length, 13);
    assert.equal((await second).sessions.length, 13);
    assert.equal(await secure.health(), "SERVING");

    const lines = secure.logs.filter((line) => line.msg === "rpc" || line.msg === "rpc failed");
    // One line per call, in the order they ended (the two held calls in either order).
    const described = lines.map(
      (line) => `${String(line["rpc"])} ${String(line["identity"])} ${String(line["code"])}`,
    );
    assert.deepEqual(
      [...described.slice(0, 2), ...described.slice(2, 4).sort(), ...described.slice(4)],
      [
        "wms.v1.WmsSessionService/GetAgentInfo ops RESOURCE_EXHAUSTED",
        "grpc.health.v1.Health/Check ops RESOURCE_EXHAUSTED",
        "wms.v1.WmsSessionService/ListSessions kiosk-7 OK",
        "wms.v1.WmsSessionService/ListSessions ops OK",
        "grpc.health.v1.Health/Check ops OK",
      ],
    );
    for (const line of lines) {
      assert.match(String(line["peer"]), /^127\.0\.0\.1:\d+$/);
      assert.equal(typeof line["durationMs"], "number");
    }

    // Draining: every service answers UNAVAILABLE, health included.
    const stillOpen = secure.client(operator);
    assert.equal(await statusOf(stillOpen.listSessions()), "OK");
    const shutdown = secure.agent.shutdown({ graceMs: 30_000 });
    assert.equal(await statusOf(stillOpen.getAgentInfo()), "UNAVAILABLE");
    assert.equal(await shutdown, "drained");
  });

  it("makes room for a real client by closing the oldest connection that made no authorized call", async (t) => {
    const maxConnections = 3;
    const secure = await startTlsAgent(t, { maxConnections });
    const silent: Socket[] = [];
    const closed: boolean[] = [];
    const openSilent = async () => {
      const socket = netConnect({ host: "127.0.0.1", port: secure.port });
      socket.on("error", () => undefined);
      const index = silent.push(socket) - 1;
      closed[index] = false;
      socket.once("close", () => (closed[index] = true));
      t.after(() => socket.destroy());
      await new Promise<void>((resolve) => socket.once("connect", resolve));
    };
    for (let i = 0; i < maxConnections; i++) await openSilent();
    await until(() => secure.agent.openConnections() === maxConnections, {
      what: "three accepted",
      everyMs: 20,
      signal: t.signal,
    });

    // A real client connects: the oldest silent connection is closed to make room.
    const { operator, reader } = await testPki;
    const first = secure.client(operator);
    assert.equal(await statusOf(first.listSessions()), "OK");
    await until(() => closed[0] === true, {
      what: "the oldest silent connection closed",
      everyMs: 20,
      signal: t.signal,
    });
    assert.deepEqual(closed, [true, false, false]);
    assert.ok(secure.agent.openConnections() <= maxConnections);

    // Two more real clients take the other two places.
    const second = secure.client(reader);
    assert.equal(await statusOf(second.listSessions()), "OK");
    const third = secure.client(operator);
    assert.equal(await statusOf(third.getAgentInfo()), "OK");
    await until(() => closed.every(Boolean), {
      what: "every silent connection closed",
      everyMs: 20,
      signal: t.signal,
    });

    // Every place is held by a connection that made an authorized call: a newcomer is refused.
    await openSilent();
    await until(() => closed[3] === true, {
      what: "the newcomer closed",
      everyMs: 20,
      signal: t.signal,
    });
    for (const client of [first, second, third]) {
      assert.equal(await statusOf(client.listSessions()), "OK");
    }
    assert.equal(secure.agent.openConnections(), maxConnections);
    assert.equal(
      secure.logs.filter((line) => /^connection limit reached/.test(line.msg ?? "")).length,
      1,
      "one warning, repeats counted",
    );
  });
});
