/**
 * `SendMessage` (DESIGN section 8) against a real agent on 127.0.0.1:0 with the simulated
 * backend, whose users answer as injected and whose clock the test moves: every outcome and
 * response, every refusal of a bad request, the limits on waiting, a drain during a wait, and the
 * audit record.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { AuditRecord, ResultRecord } from "../../agent/audit/audit-record.js";
import { createManualClock, type ManualClock } from "../../agent/backends/sim-clock.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import type { AgentOptions } from "../../agent/server/agent.js";
import {
  MessageButtons,
  MessageResponse,
  Outcome,
  SessionState,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { startHarness, TEST_FIXTURE, TEST_HOST, type Harness } from "../helpers/agent-harness.js";
import { until } from "../helpers/until.js";

async function rejectsWith(call: Promise<unknown>, code: Status, message: RegExp): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], Status[code]);
    assert.match(error.details, message);
    return true;
  });
}

const brief = (results: readonly SessionResult[]) =>
  results.map(
    (r) => [r.sessionId, Outcome[r.outcome], MessageResponse[r.response] ?? r.response] as const,
  );

/** An agent over the test host whose simulated users live by `clock`. */
async function startMessaging(
  t: TestContext,
  options: Partial<AgentOptions> = {},
): Promise<Harness & { clock: ManualClock }> {
  const clock = createManualClock();
  const simulated = createSimulatedBackend({
    fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
    env: {},
    clock,
  });
  return { ...(await startHarness(t, { ...options, simulated })), clock };
}

const text = "The lab closes in 10 minutes: please save your work.";

describe("SendMessage", () => {
  it("shows the message without waiting: MESSAGE_SENT, NOT_WAITED", async (t) => {
    const { client, backend } = await startMessaging(t);
    const response = await client.sendMessage({
      sessionIds: [2, 3],
      text,
      expectedHost: TEST_HOST,
    });
    assert.equal(response.host, TEST_HOST);
    assert.deepEqual(brief(response.results), [
      [2, "MESSAGE_SENT", "NOT_WAITED"],
      [3, "MESSAGE_SENT", "NOT_WAITED"],
    ]);
    assert.equal(response.results[0]?.message, "shown (the answer was not waited for)");
    assert.equal(response.results[0]?.session?.userName, "amelia");
    assert.deepEqual(backend.messageCalls(), [
      {
        sessionId: 2,
        title: "Message from your administrator",
        text,
        buttons: MessageButtons.OK,
        timeoutSeconds: undefined,
        wait: false,
      },
      {
        sessionId: 3,
        title: "Message from your administrator",
        text,
        buttons: MessageButtons.OK,
        timeoutSeconds: undefined,
        wait: false,
      },
    ]);
  });

  it("waits for each user's answer, or TIMEOUT for one who gives none", async (t) => {
    const { client, backend, clock } = await startMessaging(t);
    backend.inject(2, { messageResponse: MessageResponse.YES, messageResponseDelayMs: 4_000 });
    backend.inject(3, { messageResponse: MessageResponse.NO });
    // OK is no button of a Yes/No box: the box's first button is what the user pressed.
    backend.inject(11, { messageResponse: MessageResponse.OK });
    const call = client.sendMessage({
      sessionIds: [2, 3, 4, 11],
      title: "Lab",
      text: "Save your work now?",
      buttons: MessageButtons.YES_NO,
      timeout: { seconds: 30, nanos: 0 },
      wait: true,
    });
    await until(() => backend.messageCalls().length === 4);
    clock.advance(30_000);
    const response = await call;
    assert.deepEqual(brief(response.results), [
      [2, "MESSAGE_SENT", "YES"],
      [3, "MESSAGE_SENT", "NO"],
      [4, "MESSAGE_SENT", "TIMEOUT"],
      [11, "MESSAGE_SENT", "YES"],
    ]);
    assert.equal(response.results[0]?.message, "shown; the user answered YES");
    assert.equal(response.results[2]?.message, "shown; no answer before the timeout");
    assert.equal(backend.messageCalls()[0]?.timeoutSeconds, 30);
    // Answering is input: the user who answered is back; the one who did not stays idle. At a
    // station Windows does not track input, so an answer there leaves its idle time unknown.
    const listed = await client.listSessions({ sessionIds: [2, 4, 11] });
    const [station, silent, answered] = listed.sessions;
    assert.equal(answered?.lastInputTime?.getTime(), clock.now() - 30_000, "answered at once");
    assert.ok((silent?.idleTime?.seconds ?? 0) >= 9000);
    assert.equal(station?.lastInputTime, undefined);
  });

  it("answers for sessions a message cannot reach, and NOT_FOUND, saying why", async (t) => {
    const { client, backend } = await startMessaging(t);
    const response = await client.sendMessage({
      sessionIds: [0, 6, 65536, 8, 9, 10, 999, 7],
      text,
    });
    assert.deepEqual(brief(response.results), [
      [0, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
      [6, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
      [65536, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
      [8, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
      [9, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
      [10, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
      [999, "NOT_FOUND", "UNSPECIFIED"],
      // The agent's own session is protected from being lost, not from a message.
      [7, "MESSAGE_SENT", "NOT_WAITED"],
    ]);
    const messages = response.results.map((r) => r.message);
    assert.match(messages[0] ?? "", /services session \(session 0\) shows no desktop/);
    assert.match(messages[1] ?? "", /nobody is logged on to the session: there is no one to read/);
    assert.equal(messages[2], "a listener session has no user to show a message to");
    assert.equal(messages[3], "the session is down; a message cannot be shown");
    assert.deepEqual(
      backend.messageCalls().map((c) => c.sessionId),
      [7],
    );
  });

  it("what_if reports WOULD_SEND_MESSAGE and shows nothing", async (t) => {
    const { client, backend } = await startMessaging(t);
    const response = await client.sendMessage({
      sessionIds: [2, 6],
      text,
      whatIf: true,
      wait: true,
      timeout: { seconds: 60, nanos: 0 },
    });
    assert.deepEqual(brief(response.results), [
      [2, "WOULD_SEND_MESSAGE", "UNSPECIFIED"],
      [6, "NOT_DISCONNECTABLE", "UNSPECIFIED"],
    ]);
    assert.deepEqual(backend.messageCalls(), []);
  });

  it("messages the sessions a filter matches, in session id order", async (t) => {
    const { client } = await startMessaging(t);
    const response = await client.sendMessage({
      filter: { userNamePattern: "", states: [SessionState.ACTIVE], minIdleTime: undefined },
      text,
      whatIf: true,
    });
    assert.deepEqual(
      response.results.map((r) => r.sessionId),
      [1, 2, 3, 7],
    );
    const all = await client.sendMessage({
      filter: { userNamePattern: "", states: [], minIdleTime: undefined },
      text,
    });
    assert.equal(all.results.length, 13, "an empty filter matches every session");
  });

  it("rounds the timeout up to whole seconds", async (t) => {
    const { client, backend } = await startMessaging(t);
    await client.sendMessage({
      sessionIds: [2],
      text,
      timeout: { seconds: 1, nanos: 500_000_000 },
    });
    assert.equal(backend.messageCalls()[0]?.timeoutSeconds, 2);
  });

  it("maps the OS's refusals to FAILED with the code", async (t) => {
    const { client, backend } = await startMessaging(t);
    backend.inject(2, { messageWin32Error: 7045 });
    backend.inject(3, { messageWin32Error: 7022 });
    const response = await client.sendMessage({ sessionIds: [2, 3], text });
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome], r.win32Error]),
      [
        [2, "FAILED", 7045],
        [3, "NOT_FOUND", 7022],
      ],
    );
  });

  it("refuses a bad request with INVALID_ARGUMENT naming the field, and shows nothing", async (t) => {
    const { client, backend } = await startMessaging(t, { maxMessageWaitMs: 60_000 });
    const cases: [Parameters<typeof client.sendMessage>[0], RegExp][] = [
      [{ text }, /name the sessions to message: session_ids .* or filter/],
      [
        {
          sessionIds: [2],
          filter: { userNamePattern: "", states: [], minIdleTime: undefined },
          text,
        },
        /give either session_ids or filter, not both/,
      ],
      [{ sessionIds: [2], text: "" }, /^text: a message needs text \(1 to 4096 characters\)$/],
      [{ sessionIds: [2], text: "é".repeat(4097) }, /^text: 4097 characters; at most 4096/],
      [{ sessionIds: [2], text: "a\0b" }, /^text: contains a NUL character/],
      [{ sessionIds: [2], text, title: "t".repeat(257) }, /^title: 257 characters; at most 256/],
      [{ sessionIds: [2], text, title: "two\nlines" }, /^title: a title is one line/],
      [
        { sessionIds: [2], text, buttons: 42 as MessageButtons },
        /^buttons: 42 is not a MessageButtons/,
      ],
      [
        { sessionIds: [2], text, timeout: { seconds: 0, nanos: 0 } },
        /^timeout: a message box stays at least 1 second/,
      ],
      [
        { sessionIds: [2], text, timeout: { seconds: -1, nanos: 0 } },
        /^timeout: seconds must be a non-negative/,
      ],
      [
        { sessionIds: [2], text, timeout: { seconds: 86_401, nanos: 0 } },
        /^timeout: 86401 s is longer than 24 hours/,
      ],
      [
        { sessionIds: [2], text, wait: true },
        /^wait needs a timeout: .*\(at most 60 s on this agent\)$/,
      ],
      [
        { sessionIds: [2], text, wait: true, timeout: { seconds: 61, nanos: 0 } },
        /^timeout: 61 s is longer than this agent lets a call wait for answers \(60 s\)/,
      ],
      [
        { sessionIds: [2, 4294967295], text },
        /^session_ids\[1\]: 4294967295 is WTS_CURRENT_SESSION/,
      ],
      [
        { filter: { userNamePattern: "a:b", states: [], minIdleTime: undefined }, text },
        /^filter\.user_name_pattern/,
      ],
    ];
    for (const [request, message] of cases) {
      await rejectsWith(client.sendMessage(request), Status.INVALID_ARGUMENT, message);
    }
    await rejectsWith(
      client.sendMessage({ sessionIds: [2], text, expectedHost: "other.example.com" }),
      Status.FAILED_PRECONDITION,
      /nothing was changed/,
    );
    assert.deepEqual(backend.messageCalls(), []);
  });

  it("answers UNAVAILABLE while the session backend is down, and shows nothing", async (t) => {
    const { client, backend } = await startMessaging(t);
    backend.setAvailable(false);
    await rejectsWith(
      client.sendMessage({ sessionIds: [2], text }),
      Status.UNAVAILABLE,
      /session backend cannot be reached/,
    );
    assert.deepEqual(backend.messageCalls(), []);
  });

  it("accepts 4096 characters of text and 256 of title", async (t) => {
    const { client, backend } = await startMessaging(t);
    const response = await client.sendMessage({
      sessionIds: [2],
      text: "😀".repeat(4096),
      title: "t".repeat(256),
    });
    assert.equal(response.results[0]?.outcome, Outcome.MESSAGE_SENT);
    assert.equal([...(backend.messageCalls()[0]?.text ?? "")].length, 4096);
  });

  it("bounds the message boxes waiting at once: RESOURCE_EXHAUSTED beyond, nothing sent", async (t) => {
    const { client, backend, clock } = await startMessaging(t, { maxWaitingMessages: 2 });
    const waitFor = (sessionIds: number[]) =>
      client.sendMessage({ sessionIds, text, wait: true, timeout: { seconds: 60, nanos: 0 } });
    const first = waitFor([2, 3]);
    await until(() => backend.messageCalls().length === 2);
    await rejectsWith(
      waitFor([4]),
      Status.RESOURCE_EXHAUSTED,
      /1 message boxes would wait for answers, and 2 of this agent's 2 are waiting already; nothing was sent/,
    );
    assert.equal(backend.messageCalls().length, 2);
    // A message that does not wait is not held back.
    const quick = await client.sendMessage({ sessionIds: [4], text });
    assert.deepEqual(brief(quick.results), [[4, "MESSAGE_SENT", "NOT_WAITED"]]);
    clock.advance(60_000);
    assert.deepEqual(brief((await first).results), [
      [2, "MESSAGE_SENT", "TIMEOUT"],
      [3, "MESSAGE_SENT", "TIMEOUT"],
    ]);
    const again = waitFor([4]);
    await until(() => backend.messageCalls().length === 4);
    clock.advance(60_000);
    assert.deepEqual(brief((await again).results), [[4, "MESSAGE_SENT", "TIMEOUT"]]);
  });

  it("stops waiting when the agent drains: the answer is not reported, the drain is not held", async (t) => {
    const { client, backend, agent } = await startMessaging(t);
    const call = client.sendMessage({
      sessionIds: [2],
      text,
      wait: true,
      timeout: { seconds: 3600, nanos: 0 },
    });
    await until(() => backend.messageCalls().length === 1);
    const stopped = agent.shutdown({ graceMs: 60_000 });
    const response = await call;
    assert.deepEqual(brief(response.results), [[2, "MESSAGE_SENT", "NOT_WAITED"]]);
    assert.match(response.results[0]?.message ?? "", /shutting down.*stays on screen/);
    assert.equal(await stopped, "drained");
  });

  it("writes an audit record with each answer", async (t) => {
    const records: AuditRecord[] = [];
    const { client, backend, clock } = await startMessaging(t, {
      audit: {
        write: (json) => Promise.resolve(void records.push(JSON.parse(json) as AuditRecord)),
      },
    });
    backend.inject(2, { messageResponse: MessageResponse.OK });
    const call = client.sendMessage({
      sessionIds: [2, 4],
      text,
      wait: true,
      timeout: { seconds: 5, nanos: 0 },
    });
    await until(() => backend.messageCalls().length === 2);
    clock.advance(5_000);
    await call;
    // The intent, with the request, before any message is shown; the result after.
    assert.deepEqual(
      records.map((r) => [r.kind, r.rpc]),
      [
        ["intent", "SendMessage"],
        ["result", "SendMessage"],
      ],
    );
    assert.deepEqual(records[0]?.request, {
      sessionIds: [2, 4],
      text,
      timeout: { seconds: 5 },
      wait: true,
    });
    const result = records[1] as ResultRecord;
    assert.equal(result.callId, records[0]?.callId);
    assert.deepEqual(
      result.results?.map((r) => [r.sessionId, r.outcome, r.response, r.user]),
      [
        [2, "MESSAGE_SENT", "OK", "LAB\\amelia"],
        [4, "MESSAGE_SENT", "TIMEOUT", "LAB\\józef"],
      ],
    );
  });
});
