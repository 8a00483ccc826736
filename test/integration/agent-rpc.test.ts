/**
 * Every outcome and every status of DESIGN section 2, against a real agent on 127.0.0.1:0 with
 * the simulated backend.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import {
  DisconnectRequest,
  Outcome,
  Protection,
  SessionState,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { WMSFLEET_VERSION } from "../../common/version.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { gate, startHarness, TEST_HOST } from "../helpers/agent-harness.js";
import { until } from "../helpers/until.js";

/** Asserts that a call failed with `code` and a message matching `message`. */
async function rejectsWith(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], Status[code]);
    assert.match(error.details, message);
    return true;
  });
}

const brief = (results: readonly SessionResult[]) =>
  results.map((r) => [r.sessionId, Outcome[r.outcome]] as const);

describe("ListSessions", () => {
  it("lists every session with its protection rule", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.listSessions({ expectedHost: TEST_HOST });
    assert.equal(response.host, TEST_HOST);
    assert.deepEqual(
      response.sessions.map((s) => s.sessionId),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 65536],
    );
    const byId = new Map(response.sessions.map((s) => [s.sessionId, s]));
    assert.equal(byId.get(0)?.protection, Protection.SERVICES_SESSION);
    assert.equal(byId.get(7)?.protection, Protection.AGENT_SESSION);
    assert.equal(byId.get(2)?.protection, Protection.UNSPECIFIED);
    const zoe = byId.get(3);
    assert.equal(zoe?.userName, "Zoë");
    assert.equal(zoe?.state, SessionState.ACTIVE);
    assert.equal(zoe?.stationName, "RDP-Tcp#3");
    assert.ok((zoe?.idleTime?.seconds ?? 0) >= 4000);
    // The console's and a station's idle times are unknown, as Windows reports them (issue 17).
    assert.equal(byId.get(1)?.idleTime, undefined);
    assert.equal(byId.get(1)?.lastInputTime, undefined);
    assert.equal(byId.get(2)?.idleTime, undefined);
    assert.equal(byId.get(65536)?.state, SessionState.LISTEN);
  });

  it("lists only the requested ids and leaves unknown ones out", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.listSessions({ sessionIds: [4, 2, 999] });
    assert.deepEqual(
      response.sessions.map((s) => s.sessionId),
      [2, 4],
    );
  });

  it("accepts expected_host in any case and with a trailing dot", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.listSessions({ expectedHost: "MPS01.Lab.Example.COM." });
    assert.equal(response.sessions.length, 13);
  });

  it("accepts expected_host localhost from a loopback caller (the cmdlet's default -Server)", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.listSessions({ expectedHost: "localhost" });
    assert.equal(response.host, TEST_HOST);
  });

  it("refuses a request meant for another host with FAILED_PRECONDITION", async (t) => {
    const { client } = await startHarness(t);
    await rejectsWith(
      client.listSessions({ expectedHost: "mps02.lab.example.com" }),
      Status.FAILED_PRECONDITION,
      /mps02\.lab\.example\.com.*mps01\.lab\.example\.com/,
    );
  });

  it("answers UNAVAILABLE while the session backend is down, and health follows", async (t) => {
    const { client, backend, agent } = await startHarness(t);
    assert.equal(agent.state(), "serving");
    backend.setAvailable(false);
    await rejectsWith(
      client.listSessions(),
      Status.UNAVAILABLE,
      /session backend cannot be reached.*1722|RPC server/i,
    );
    assert.equal(agent.state(), "backend-unavailable");
  });
});

describe("Disconnect", () => {
  it("disconnects, then answers a retry with ALREADY_DISCONNECTED", async (t) => {
    const { client, backend } = await startHarness(t);
    const first = await client.disconnect({ sessionIds: [2], expectedHost: TEST_HOST });
    assert.equal(first.host, TEST_HOST);
    assert.deepEqual(brief(first.results), [[2, "DISCONNECTED"]]);
    assert.equal(first.results[0]?.win32Error, 0);
    assert.equal(first.results[0]?.session?.userName, "amelia");
    const listed = await client.listSessions({ sessionIds: [2] });
    assert.equal(listed.sessions[0]?.state, SessionState.DISCONNECTED);
    const retry = await client.disconnect({ sessionIds: [2] });
    assert.deepEqual(brief(retry.results), [[2, "ALREADY_DISCONNECTED"]]);
    assert.deepEqual(backend.disconnectCalls(), [{ sessionId: 2, wait: true }]);
  });

  it("answers each outcome in request order, duplicates once", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.disconnect({
      sessionIds: [3, 999, 0, 7, 5, 65536, 8, 9, 10, 3, 1, 11, 6, 999],
      callerSessionId: 1,
    });
    assert.deepEqual(brief(response.results), [
      [3, "DISCONNECTED"],
      [999, "NOT_FOUND"],
      [0, "PROTECTED"],
      [7, "PROTECTED"],
      [5, "ALREADY_DISCONNECTED"],
      [65536, "NOT_DISCONNECTABLE"],
      [8, "NOT_DISCONNECTABLE"],
      [9, "NOT_DISCONNECTABLE"],
      [10, "NOT_DISCONNECTABLE"],
      [1, "PROTECTED"],
      [11, "DISCONNECTED"],
      [6, "DISCONNECTED"],
    ]);
    const protections = new Map(response.results.map((r) => [r.sessionId, r.protection]));
    assert.equal(protections.get(0), Protection.SERVICES_SESSION);
    assert.equal(protections.get(7), Protection.AGENT_SESSION);
    assert.equal(protections.get(1), Protection.CALLER_SESSION_ID);
    assert.equal(protections.get(3), Protection.UNSPECIFIED);
    assert.match(response.results[2]?.message ?? "", /services session/);
    assert.match(response.results[5]?.message ?? "", /listener/);
    assert.equal(response.results[1]?.session, undefined);
    assert.deepEqual(
      backend
        .disconnectCalls()
        .map((c) => c.sessionId)
        .sort((a, b) => a - b),
      [3, 6, 11],
    );
  });

  it("what_if reports WOULD_DISCONNECT and changes nothing", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.disconnect({ sessionIds: [2, 0, 5], whatIf: true });
    assert.deepEqual(brief(response.results), [
      [2, "WOULD_DISCONNECT"],
      [0, "PROTECTED"],
      [5, "ALREADY_DISCONNECTED"],
    ]);
    assert.deepEqual(backend.disconnectCalls(), []);
    const listed = await client.listSessions({ sessionIds: [2] });
    assert.equal(listed.sessions[0]?.state, SessionState.ACTIVE);
  });

  it("no_wait asks the backend not to wait", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.disconnect({ sessionIds: [4], noWait: true });
    assert.deepEqual(brief(response.results), [[4, "DISCONNECTED"]]);
    assert.match(response.results[0]?.message ?? "", /no_wait/);
    assert.deepEqual(backend.disconnectCalls(), [{ sessionId: 4, wait: false }]);
  });

  it("maps the OS's refusals: 5 and 7007 FAILED, 7022 and 2 NOT_FOUND, each with its code", async (t) => {
    const { client, backend } = await startHarness(t);
    backend.inject(2, { disconnectWin32Error: 5 });
    backend.inject(3, { disconnectWin32Error: 7007 });
    backend.inject(4, { disconnectWin32Error: 7022 });
    backend.inject(11, { disconnectWin32Error: 2 });
    backend.inject(6, { disconnectWin32Error: 7045 });
    const response = await client.disconnect({ sessionIds: [2, 3, 4, 11, 6] });
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome], r.win32Error]),
      [
        [2, "FAILED", 5],
        [3, "FAILED", 7007],
        [4, "NOT_FOUND", 7022],
        [11, "NOT_FOUND", 2],
        [6, "FAILED", 7045],
      ],
    );
    assert.match(response.results[1]?.message ?? "", /retry/);
  });

  it("a 1722 during a disconnect fails that session and marks the backend unavailable", async (t) => {
    const { client, backend, agent } = await startHarness(t);
    backend.inject(3, { disconnectWin32Error: 1722 });
    const response = await client.disconnect({ sessionIds: [2, 3] });
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome], r.win32Error]),
      [
        [2, "DISCONNECTED", 0],
        [3, "FAILED", 1722],
      ],
    );
    assert.equal(agent.state(), "backend-unavailable");
  });

  it("refuses bad requests with INVALID_ARGUMENT and touches no session", async (t) => {
    const { client, backend } = await startHarness(t);
    await rejectsWith(
      client.disconnect({ sessionIds: [] }),
      Status.INVALID_ARGUMENT,
      /at least one/,
    );
    await rejectsWith(
      client.disconnect({ sessionIds: Array.from({ length: 4097 }, (_, i) => i) }),
      Status.INVALID_ARGUMENT,
      /4097 ids; at most 4096/,
    );
    await rejectsWith(
      client.disconnect({ sessionIds: [2, 4294967295] }),
      Status.INVALID_ARGUMENT,
      /session_ids\[1\]: 4294967295 is WTS_CURRENT_SESSION/,
    );
    await rejectsWith(
      client.disconnect({ sessionIds: [2], callerSessionId: 4294967295 }),
      Status.INVALID_ARGUMENT,
      /caller_session_id/,
    );
    await rejectsWith(
      client.disconnect({ sessionIds: [2], expectedHost: "other.example.com" }),
      Status.FAILED_PRECONDITION,
      /nothing was changed/,
    );
    assert.deepEqual(backend.disconnectCalls(), []);
    const listed = await client.listSessions({ sessionIds: [2] });
    assert.equal(listed.sessions[0]?.state, SessionState.ACTIVE);
  });

  it("accepts the largest valid request within the default receive limit", async (t) => {
    const { client } = await startHarness(t);
    // 4096 of the largest ids (5-byte varints: about 20 KiB), a caller session and a host name.
    const ids = Array.from({ length: 4096 }, (_, i) => 0xfffffffe - i);
    const request = DisconnectRequest.fromPartial({
      sessionIds: ids,
      whatIf: true,
      callerSessionId: 0xfffffffe,
      expectedHost: TEST_HOST,
    });
    assert.ok(DisconnectRequest.encode(request).finish().length > 20_000);
    const response = await client.disconnect(request);
    assert.equal(response.results.length, 4096);
    assert.ok(response.results.every((r) => r.outcome === Outcome.NOT_FOUND));
  });

  it("answers a message over the size limit with RESOURCE_EXHAUSTED", async (t) => {
    const { client, backend } = await startHarness(t, { maxReceiveMessageBytes: 1024 });
    await rejectsWith(
      client.disconnect({ sessionIds: Array.from({ length: 1000 }, (_, i) => 70_000 + i) }),
      Status.RESOURCE_EXHAUSTED,
      /./,
    );
    assert.deepEqual(backend.disconnectCalls(), []);
  });

  it("answers RESOURCE_EXHAUSTED beyond the in-flight limit", async (t) => {
    const held = gate();
    const entered = gate();
    const { createSimulatedBackend } = await import("../../agent/backends/simulated.js");
    const inner = createSimulatedBackend({ env: {} });
    const slow: SessionBackend = {
      name: "simulated",
      listSessions: async () => {
        entered.open();
        await held.promise;
        return inner.listSessions();
      },
      disconnectSession: (id, options) => inner.disconnectSession(id, options),
      logoffSession: (id, options) => inner.logoffSession(id, options),
      sendMessage: (id, box) => inner.sendMessage(id, box),
      sessionOfProcess: (pid) => inner.sessionOfProcess(pid),
      agentSessionId: () => inner.agentSessionId(),
      isHealthy: () => inner.isHealthy(),
      close: () => inner.close(),
    };
    const { client } = await startHarness(t, { backend: slow, maxInFlightCalls: 1 });
    const first = client.listSessions();
    await entered.promise;
    await rejectsWith(
      client.listSessions(),
      Status.RESOURCE_EXHAUSTED,
      /too many calls in flight \(limit 1\)/,
    );
    held.open();
    assert.ok((await first).sessions.length > 0);
  });
});

/**
 * A classroom of `count` active sessions (ids 1..count) whose disconnects wait until the test
 * releases them, counting how many run at once.
 */
function heldDisconnects(count: number) {
  const inner = createSimulatedBackend({
    fixture: parseSimFixture(
      {
        agentSessionId: 1000,
        sessions: Array.from({ length: count }, (_, i) => ({
          sessionId: i + 1,
          state: "ACTIVE",
          userName: `stu${i + 1}`,
        })),
      },
      "held classroom",
    ),
    env: {},
  });
  const release = gate();
  let running = 0;
  let mostAtOnce = 0;
  const started: number[] = [];
  const held = new Set<number>();
  const backend: SessionBackend = {
    name: "simulated",
    listSessions: () => inner.listSessions(),
    disconnectSession: async (id, options) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      started.push(id);
      try {
        if (held.has(id)) await release.promise;
        await inner.disconnectSession(id, options);
      } finally {
        running -= 1;
      }
    },
    logoffSession: (id, options) => inner.logoffSession(id, options),
    sendMessage: (id, box) => inner.sendMessage(id, box),
    sessionOfProcess: (pid) => inner.sessionOfProcess(pid),
    agentSessionId: () => inner.agentSessionId(),
    isHealthy: () => inner.isHealthy(),
    close: () => inner.close(),
  };
  return {
    backend,
    /** Makes the disconnects of these sessions wait for {@link release}. */
    hold: (ids: readonly number[]) => ids.forEach((id) => held.add(id)),
    release: release.open,
    running: () => running,
    mostAtOnce: () => mostAtOnce,
    started,
  };
}

describe("disconnect limits: per request and per agent", () => {
  it(
    "lets an unrelated request finish while one request's slow sessions hold their slots",
    { timeout: 60_000 },
    async (t) => {
      const classroom = heldDisconnects(12);
      const { client } = await startHarness(t, { backend: classroom.backend });
      // Ten sessions that do not answer (a WTSDisconnectSession stuck for tens of seconds): with
      // one agent-wide queue of 8, the other request below waited behind all ten.
      const slow = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      classroom.hold(slow);
      const stuck = client.disconnect({ sessionIds: slow });
      await until(() => classroom.running() === 4, { everyMs: 10 });
      const other = await client.disconnect({ sessionIds: [11] });
      assert.deepEqual(brief(other.results), [[11, "DISCONNECTED"]]);
      assert.equal(classroom.running(), 4, "the slow request holds 4 slots, its own limit");
      classroom.release();
      assert.equal((await stuck).results.length, 10);
      assert.equal(classroom.mostAtOnce(), 5);
    },
  );

  it(
    "runs at most 16 disconnects at once over every request, each request at most 4",
    { timeout: 60_000 },
    async (t) => {
      const classroom = heldDisconnects(24);
      const { client } = await startHarness(t, { backend: classroom.backend });
      const ids = Array.from({ length: 24 }, (_, i) => i + 1);
      classroom.hold(ids);
      // Six requests of four sessions: 24 disconnects wanted at once.
      const requests = [0, 1, 2, 3, 4, 5].map((r) =>
        client.disconnect({ sessionIds: ids.slice(r * 4, r * 4 + 4) }),
      );
      await until(() => classroom.running() === 16, { everyMs: 10 });
      // Everything that could start has: the other 8 wait for the agent-wide limit.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(classroom.started.length, 16);
      classroom.release();
      const results = await Promise.all(requests);
      assert.ok(results.every((r) => r.results.every((x) => x.outcome === Outcome.DISCONNECTED)));
      assert.equal(classroom.mostAtOnce(), 16);
      assert.equal(classroom.started.length, 24);
    },
  );
});

describe("DisconnectAll", () => {
  it("answers every session it considered, skipping protected ones", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.disconnectAll({ callerSessionId: 1, expectedHost: TEST_HOST });
    assert.deepEqual(brief(response.results), [
      [0, "PROTECTED"],
      [1, "PROTECTED"],
      [2, "DISCONNECTED"],
      [3, "DISCONNECTED"],
      [4, "DISCONNECTED"],
      [5, "ALREADY_DISCONNECTED"],
      [6, "DISCONNECTED"],
      [7, "PROTECTED"],
      [8, "NOT_DISCONNECTABLE"],
      [9, "NOT_DISCONNECTABLE"],
      [10, "NOT_DISCONNECTABLE"],
      [11, "DISCONNECTED"],
      [65536, "NOT_DISCONNECTABLE"],
    ]);
    assert.deepEqual(
      backend
        .disconnectCalls()
        .map((c) => c.sessionId)
        .sort((a, b) => a - b),
      [2, 3, 4, 6, 11],
    );
    const again = await client.disconnectAll({ callerSessionId: 1, whatIf: true });
    assert.ok(again.results.every((r) => r.outcome !== Outcome.WOULD_DISCONNECT));
  });

  it("what_if changes nothing", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.disconnectAll({ whatIf: true });
    assert.equal(response.results.filter((r) => r.outcome === Outcome.WOULD_DISCONNECT).length, 6);
    assert.deepEqual(backend.disconnectCalls(), []);
  });

  it(
    "answers a hostile user name pattern at once, and keeps answering",
    { timeout: 60_000 },
    async (t) => {
      // A long (UPN-style) name: against it, this 33-character pattern as a regular expression
      // backtracks for hours (15 s already at 29 characters and a 30-character name), blocking
      // every other call meanwhile.
      const userName = "jonathan.alexander.montgomery-smith.2026";
      const simulated = createSimulatedBackend({
        fixture: parseSimFixture(
          { sessions: [{ sessionId: 2, state: "ACTIVE", userName, domainName: "LAB" }] },
          "long name",
        ),
        env: {},
      });
      const { client } = await startHarness(t, { simulated });
      const filter = (userNamePattern: string) => ({
        userNamePattern,
        states: [],
        minIdleTime: undefined,
      });
      const [hostile, listed] = await Promise.all([
        client.disconnectAll({ whatIf: true, filter: filter("*?".repeat(16) + "!") }),
        client.listSessions(),
      ]);
      assert.deepEqual(hostile.results, []);
      assert.equal(listed.sessions[0]?.userName, userName);
      const matching = await client.disconnectAll({
        whatIf: true,
        filter: filter("*?".repeat(16) + "6"),
      });
      assert.deepEqual(brief(matching.results), [[2, "WOULD_DISCONNECT"]]);
    },
  );

  it("filters by user name pattern, case-insensitively, against user and DOMAIN\\user", async (t) => {
    const { client } = await startHarness(t);
    const byUser = await client.disconnectAll({
      whatIf: true,
      filter: { userNamePattern: "zo?", states: [], minIdleTime: undefined },
    });
    assert.deepEqual(brief(byUser.results), [[3, "WOULD_DISCONNECT"]]);
    const byDomain = await client.disconnectAll({
      whatIf: true,
      filter: { userNamePattern: "lab\\*e*", states: [], minIdleTime: undefined },
    });
    assert.deepEqual(
      byDomain.results.map((r) => r.sessionId),
      [1, 2, 4, 5, 11],
    );
  });

  it("filters by state and minimum idle time", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.disconnectAll({
      whatIf: true,
      filter: {
        userNamePattern: "",
        states: [SessionState.ACTIVE, SessionState.IDLE],
        minIdleTime: { seconds: 3600, nanos: 0 },
      },
    });
    assert.deepEqual(brief(response.results), [
      [3, "WOULD_DISCONNECT"],
      [4, "WOULD_DISCONNECT"],
    ]);
  });

  it("refuses a malformed filter with INVALID_ARGUMENT and touches nothing", async (t) => {
    const { client, backend } = await startHarness(t);
    const none = { userNamePattern: "", states: [], minIdleTime: undefined };
    await rejectsWith(
      client.disconnectAll({ filter: { ...none, userNamePattern: "stu[1]" } }),
      Status.INVALID_ARGUMENT,
      /filter\.user_name_pattern/,
    );
    await rejectsWith(
      client.disconnectAll({
        filter: { ...none, states: [SessionState.ACTIVE, 42 as SessionState] },
      }),
      Status.INVALID_ARGUMENT,
      /filter\.states\[1\]/,
    );
    await rejectsWith(
      client.disconnectAll({ filter: { ...none, states: [SessionState.UNSPECIFIED] } }),
      Status.INVALID_ARGUMENT,
      /filter\.states\[0\]/,
    );
    await rejectsWith(
      client.disconnectAll({ filter: { ...none, minIdleTime: { seconds: -5, nanos: 0 } } }),
      Status.INVALID_ARGUMENT,
      /filter\.min_idle_time/,
    );
    await rejectsWith(
      client.disconnectAll({ expectedHost: "elsewhere.example.com" }),
      Status.FAILED_PRECONDITION,
      /elsewhere/,
    );
    assert.deepEqual(backend.disconnectCalls(), []);
  });
});

describe("GetAgentInfo", () => {
  it("describes the agent", async (t) => {
    const before = Date.now();
    const { client } = await startHarness(t);
    const info = await client.getAgentInfo();
    assert.equal(info.host, TEST_HOST);
    assert.equal(info.version, WMSFLEET_VERSION);
    assert.equal(info.backend, "simulated");
    assert.equal(info.agentSessionId, 7);
    assert.ok(info.startTime instanceof Date);
    assert.ok(info.startTime.getTime() >= before - 1000);
  });
});
