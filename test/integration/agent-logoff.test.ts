/**
 * `Logoff` and `LogoffAll` (DESIGN section 8) against a real agent on 127.0.0.1:0 with the
 * simulated backend: every outcome, every status, the protection rules, idempotence through the
 * agent's memory of its log-offs, and the audit record.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { AuditRecord, ResultRecord } from "../../agent/audit/audit-record.js";
import {
  Outcome,
  Protection,
  SessionState,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { startHarness, TEST_HOST } from "../helpers/agent-harness.js";

async function rejectsWith(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], Status[code]);
    assert.match(error.details, message);
    return true;
  });
}

const brief = (results: readonly SessionResult[]) =>
  results.map((r) => [r.sessionId, Outcome[r.outcome]] as const);

describe("Logoff", () => {
  it("logs off a station (back to its logon screen) and a remote session (gone)", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.logoff({ sessionIds: [2, 5], expectedHost: TEST_HOST });
    assert.equal(response.host, TEST_HOST);
    assert.deepEqual(brief(response.results), [
      [2, "LOGGED_OFF"],
      [5, "LOGGED_OFF"],
    ]);
    assert.equal(response.results[0]?.message, "logged off");
    assert.equal(response.results[0]?.session?.userName, "amelia");
    assert.equal(response.results[1]?.session?.userName, "remote1");
    assert.deepEqual(backend.logoffCalls(), [
      { sessionId: 2, wait: true },
      { sessionId: 5, wait: true },
    ]);
    const listed = await client.listSessions({ sessionIds: [2, 5] });
    assert.deepEqual(
      listed.sessions.map((s) => [s.sessionId, SessionState[s.state], s.userName]),
      [[2, "CONNECTED", ""]],
    );
  });

  it("answers a retry with ALREADY_LOGGED_OFF: a success with nothing to do", async (t) => {
    const { client, backend } = await startHarness(t);
    await client.logoff({ sessionIds: [2, 5] });
    const retry = await client.logoff({ sessionIds: [2, 5] });
    assert.deepEqual(brief(retry.results), [
      [2, "ALREADY_LOGGED_OFF"],
      [5, "ALREADY_LOGGED_OFF"],
    ]);
    assert.match(
      retry.results[0]?.message ?? "",
      /logged LAB\\amelia off at .*nobody is logged on/,
    );
    assert.match(retry.results[1]?.message ?? "", /logged LAB\\remote1 off at .*has ended/);
    // The session as it was when this agent logged it off.
    assert.equal(retry.results[1]?.session?.userName, "remote1");
    assert.equal(backend.logoffCalls().length, 2, "the retry reached no backend");
    const all = await client.logoffAll({ whatIf: true });
    const byId = new Map(all.results.map((r) => [r.sessionId, Outcome[r.outcome]]));
    assert.equal(byId.get(2), "ALREADY_LOGGED_OFF");
    assert.equal(byId.has(5), false, "a session that is gone is not listed by LogoffAll");
  });

  it("answers each outcome in request order, duplicates once", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.logoff({
      sessionIds: [3, 999, 0, 7, 1, 65536, 8, 9, 10, 6, 4, 3, 11],
      callerSessionId: 1,
    });
    assert.deepEqual(brief(response.results), [
      [3, "LOGGED_OFF"],
      [999, "NOT_FOUND"],
      [0, "PROTECTED"],
      [7, "PROTECTED"],
      [1, "PROTECTED"],
      [65536, "NOT_DISCONNECTABLE"],
      [8, "NOT_DISCONNECTABLE"],
      [9, "NOT_DISCONNECTABLE"],
      [10, "NOT_DISCONNECTABLE"],
      [6, "NOT_DISCONNECTABLE"],
      [4, "LOGGED_OFF"],
      [11, "LOGGED_OFF"],
    ]);
    const results = new Map(response.results.map((r) => [r.sessionId, r]));
    assert.equal(results.get(0)?.protection, Protection.SERVICES_SESSION);
    assert.equal(results.get(7)?.protection, Protection.AGENT_SESSION);
    assert.equal(results.get(1)?.protection, Protection.CALLER_SESSION_ID);
    assert.match(results.get(1)?.message ?? "", /you cannot close the cmdlet's session/);
    assert.equal(results.get(999)?.message, "no session with id 999");
    assert.equal(results.get(65536)?.message, "a listener session cannot be logged off");
    assert.equal(results.get(8)?.message, "the session is down; it cannot be logged off");
    assert.equal(
      results.get(9)?.message,
      "the session is still initializing; it cannot be logged off",
    );
    assert.equal(results.get(10)?.message, "the session is being reset; it cannot be logged off");
    assert.equal(
      results.get(6)?.message,
      "nobody is logged on to the session: there is nothing to log off",
    );
    assert.deepEqual(
      backend
        .logoffCalls()
        .map((c) => c.sessionId)
        .sort((a, b) => a - b),
      [3, 4, 11],
    );
  });

  it("logs off a disconnected session (its user is still logged on)", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.logoff({ sessionIds: [5] });
    assert.deepEqual(brief(response.results), [[5, "LOGGED_OFF"]]);
  });

  it("what_if reports WOULD_LOG_OFF and changes nothing", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.logoff({ sessionIds: [2, 0, 6], whatIf: true });
    assert.deepEqual(brief(response.results), [
      [2, "WOULD_LOG_OFF"],
      [0, "PROTECTED"],
      [6, "NOT_DISCONNECTABLE"],
    ]);
    assert.equal(response.results[0]?.message, "what if: would log off");
    assert.deepEqual(backend.logoffCalls(), []);
    const again = await client.logoff({ sessionIds: [2], whatIf: true });
    assert.deepEqual(brief(again.results), [[2, "WOULD_LOG_OFF"]], "what-if is not remembered");
  });

  it("no_wait asks the backend not to wait, and the log-off is remembered", async (t) => {
    const { client, backend } = await startHarness(t);
    backend.inject(4, { logoffLatencyMs: 60_000 });
    const response = await client.logoff({ sessionIds: [4], noWait: true });
    assert.deepEqual(brief(response.results), [[4, "LOGGED_OFF"]]);
    assert.equal(response.results[0]?.message, "log-off started (no_wait)");
    assert.deepEqual(backend.logoffCalls(), [{ sessionId: 4, wait: false }]);
  });

  it("maps the OS's refusals to FAILED and NOT_FOUND with their codes, and remembers none", async (t) => {
    const { client, backend } = await startHarness(t);
    backend.inject(2, { logoffWin32Error: 5 });
    backend.inject(3, { logoffWin32Error: 7024, logoffFailTimes: 1 });
    backend.inject(4, { logoffWin32Error: 7022 });
    const response = await client.logoff({ sessionIds: [2, 3, 4] });
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome], r.win32Error]),
      [
        [2, "FAILED", 5],
        [3, "FAILED", 7024],
        [4, "NOT_FOUND", 7022],
      ],
    );
    assert.match(response.results[1]?.message ?? "", /retry/);
    const retry = await client.logoff({ sessionIds: [3] });
    assert.deepEqual(brief(retry.results), [[3, "LOGGED_OFF"]]);
  });

  it("refuses bad requests with INVALID_ARGUMENT or FAILED_PRECONDITION and logs nobody off", async (t) => {
    const { client, backend } = await startHarness(t);
    await rejectsWith(client.logoff({ sessionIds: [] }), Status.INVALID_ARGUMENT, /at least one/);
    await rejectsWith(
      client.logoff({ sessionIds: Array.from({ length: 4097 }, (_, i) => i) }),
      Status.INVALID_ARGUMENT,
      /4097 ids; at most 4096/,
    );
    await rejectsWith(
      client.logoff({ sessionIds: [2, 4294967295] }),
      Status.INVALID_ARGUMENT,
      /session_ids\[1\]: 4294967295 is WTS_CURRENT_SESSION/,
    );
    await rejectsWith(
      client.logoff({ sessionIds: [2], callerSessionId: 4294967295 }),
      Status.INVALID_ARGUMENT,
      /caller_session_id/,
    );
    await rejectsWith(
      client.logoff({ sessionIds: [2], expectedHost: "other.example.com" }),
      Status.FAILED_PRECONDITION,
      /nothing was changed/,
    );
    assert.deepEqual(backend.logoffCalls(), []);
  });

  it("answers UNAVAILABLE while the session backend is down", async (t) => {
    const { client, backend, agent } = await startHarness(t);
    backend.setAvailable(false);
    await rejectsWith(
      client.logoff({ sessionIds: [2] }),
      Status.UNAVAILABLE,
      /session backend cannot be reached/,
    );
    assert.equal(agent.state(), "backend-unavailable");
  });

  it("writes the audit records of every call, refused ones included", async (t) => {
    const records: AuditRecord[] = [];
    const { client } = await startHarness(t, {
      audit: {
        write: (json) => Promise.resolve(void records.push(JSON.parse(json) as AuditRecord)),
      },
    });
    await client.logoff({ sessionIds: [2, 0], expectedHost: TEST_HOST });
    await client.logoffAll({
      whatIf: true,
      filter: { userNamePattern: "zo?", states: [], minIdleTime: undefined },
    });
    await rejectsWith(client.logoff({ sessionIds: [] }), Status.INVALID_ARGUMENT, /./);
    // A call that could act has its intent (with the request) first; a what-if has none.
    assert.deepEqual(
      records.map((r) => r.kind),
      ["intent", "result", "result", "intent", "result"],
    );
    const results = records.filter((r): r is ResultRecord => r.kind === "result");
    const requestOf = (result: ResultRecord) =>
      result.request ??
      records.find((r) => r.kind === "intent" && r.callId === result.callId)?.request;
    assert.deepEqual(
      results.map((r) => [r.rpc, requestOf(r), r.results?.map((x) => [x.sessionId, x.outcome])]),
      [
        [
          "Logoff",
          { sessionIds: [2, 0], expectedHost: TEST_HOST },
          [
            [2, "LOGGED_OFF"],
            [0, "PROTECTED"],
          ],
        ],
        ["LogoffAll", { whatIf: true, filter: { userNamePattern: "zo?" } }, [[3, "WOULD_LOG_OFF"]]],
        ["Logoff", {}, undefined],
      ],
    );
    assert.equal(results[0]?.results?.[0]?.user, "LAB\\amelia");
    assert.equal(results[2]?.status?.code, "INVALID_ARGUMENT");
  });
});

describe("LogoffAll", () => {
  it("answers every session it considered, skipping protected ones", async (t) => {
    const { client, backend } = await startHarness(t);
    const response = await client.logoffAll({ callerSessionId: 1, expectedHost: TEST_HOST });
    assert.deepEqual(brief(response.results), [
      [0, "PROTECTED"],
      [1, "PROTECTED"],
      [2, "LOGGED_OFF"],
      [3, "LOGGED_OFF"],
      [4, "LOGGED_OFF"],
      [5, "LOGGED_OFF"],
      [6, "NOT_DISCONNECTABLE"],
      [7, "PROTECTED"],
      [8, "NOT_DISCONNECTABLE"],
      [9, "NOT_DISCONNECTABLE"],
      [10, "NOT_DISCONNECTABLE"],
      [11, "LOGGED_OFF"],
      [65536, "NOT_DISCONNECTABLE"],
    ]);
    assert.deepEqual(
      backend
        .logoffCalls()
        .map((c) => c.sessionId)
        .sort((a, b) => a - b),
      [2, 3, 4, 5, 11],
    );
    const again = await client.logoffAll({ callerSessionId: 1 });
    assert.ok(again.results.every((r) => r.outcome !== Outcome.LOGGED_OFF));
    assert.deepEqual(
      again.results.filter((r) => r.outcome === Outcome.ALREADY_LOGGED_OFF).map((r) => r.sessionId),
      [2],
      "the station logged off is back at its logon screen; the remote sessions are gone",
    );
  });

  it("logs off only the disconnected sessions of a state filter", async (t) => {
    const { client } = await startHarness(t);
    const response = await client.logoffAll({
      filter: { userNamePattern: "", states: [SessionState.DISCONNECTED], minIdleTime: undefined },
    });
    assert.deepEqual(brief(response.results), [
      [0, "PROTECTED"],
      [5, "LOGGED_OFF"],
    ]);
  });

  it("filters by idle time computed from the last input; unknown is never idle", async (t) => {
    const { client, backend } = await startHarness(t);
    backend.updateSession(2, { lastInputTime: null });
    const response = await client.logoffAll({
      whatIf: true,
      filter: { userNamePattern: "", states: [], minIdleTime: { seconds: 3600, nanos: 0 } },
    });
    assert.deepEqual(brief(response.results), [
      [3, "WOULD_LOG_OFF"],
      [4, "WOULD_LOG_OFF"],
    ]);
  });

  it("refuses a malformed filter with INVALID_ARGUMENT", async (t) => {
    const { client, backend } = await startHarness(t);
    await rejectsWith(
      client.logoffAll({ filter: { userNamePattern: "a:b", states: [], minIdleTime: undefined } }),
      Status.INVALID_ARGUMENT,
      /filter\.user_name_pattern/,
    );
    await rejectsWith(
      client.logoffAll({
        filter: { userNamePattern: "", states: [42 as SessionState], minIdleTime: undefined },
      }),
      Status.INVALID_ARGUMENT,
      /filter\.states\[0\]/,
    );
    assert.deepEqual(backend.logoffCalls(), []);
  });
});
