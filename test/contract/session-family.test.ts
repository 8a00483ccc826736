/**
 * The session family (`Logoff`, `LogoffAll`, `SendMessage`, `WatchSessions`) as a third party sees
 * it: a client built only from `wms_session.proto` with `@grpc/proto-loader`, field names and enum
 * names as the `.proto` spells them, against a real agent.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type ClientReadableStream,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { MessageResponse } from "../../proto/gen/wms/v1/wms_session.js";
import { startHarness, TEST_HOST } from "../helpers/agent-harness.js";

const root = fileURLToPath(new URL("../../proto/", import.meta.url));
const definition = loadSync("wms/v1/wms_session.proto", {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [root],
});
const wms = loadPackageDefinition(definition) as unknown as {
  wms: { v1: { WmsSessionService: ServiceClientConstructor } };
};

type Json = Record<string, unknown>;

function call(client: Client, method: string, request: object): Promise<Json> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method];
    assert.ok(fn, `the client has no method ${method}`);
    fn.call(client, request, (error: Error | null, response: Json) =>
      error === null ? resolve(response) : reject(error),
    );
  });
}

const outcomes = (response: Json) =>
  (response["results"] as Json[]).map((r) => [r["session_id"], r["outcome"], r["response"]]);

describe("the session family from the .proto alone", () => {
  it("logs off by id and by filter, idempotently", async (t) => {
    const { address } = await startHarness(t);
    const client = new wms.wms.v1.WmsSessionService(address, credentials.createInsecure());
    t.after(() => client.close());
    const whatIf = await call(client, "Logoff", {
      session_ids: [2, 0],
      what_if: true,
      expected_host: TEST_HOST,
    });
    assert.deepEqual(outcomes(whatIf), [
      [2, "OUTCOME_WOULD_LOG_OFF", "MESSAGE_RESPONSE_UNSPECIFIED"],
      [0, "OUTCOME_PROTECTED", "MESSAGE_RESPONSE_UNSPECIFIED"],
    ]);
    const done = await call(client, "Logoff", { session_ids: [2], no_wait: true });
    assert.deepEqual(outcomes(done), [[2, "OUTCOME_LOGGED_OFF", "MESSAGE_RESPONSE_UNSPECIFIED"]]);
    const all = await call(client, "LogoffAll", {
      what_if: true,
      caller_session_id: 1,
      filter: { user_name_pattern: "zo*", states: ["SESSION_STATE_ACTIVE"] },
    });
    assert.deepEqual(outcomes(all), [[3, "OUTCOME_WOULD_LOG_OFF", "MESSAGE_RESPONSE_UNSPECIFIED"]]);
    const again = await call(client, "Logoff", { session_ids: [2] });
    assert.deepEqual(outcomes(again), [
      [2, "OUTCOME_ALREADY_LOGGED_OFF", "MESSAGE_RESPONSE_UNSPECIFIED"],
    ]);
  });

  it("sends a message and reads the answer by its enum name", async (t) => {
    const { address, backend } = await startHarness(t);
    backend.inject(3, { messageResponse: MessageResponse.CANCEL });
    const client = new wms.wms.v1.WmsSessionService(address, credentials.createInsecure());
    t.after(() => client.close());
    const response = await call(client, "SendMessage", {
      session_ids: [3, 6],
      title: "Lab",
      text: "Shall I close your session?",
      buttons: "MESSAGE_BUTTONS_OK_CANCEL",
      timeout: { seconds: 60 },
      wait: true,
    });
    assert.equal(response["host"], TEST_HOST);
    assert.deepEqual(outcomes(response), [
      [3, "OUTCOME_MESSAGE_SENT", "MESSAGE_RESPONSE_CANCEL"],
      [6, "OUTCOME_NOT_DISCONNECTABLE", "MESSAGE_RESPONSE_UNSPECIFIED"],
    ]);
    const filtered = await call(client, "SendMessage", {
      filter: { user_name_pattern: "zo*", states: ["SESSION_STATE_ACTIVE"] },
      text: "Hello",
    });
    assert.deepEqual(outcomes(filtered), [
      [3, "OUTCOME_MESSAGE_SENT", "MESSAGE_RESPONSE_NOT_WAITED"],
    ]);
  });

  it("watches: a snapshot first, then a change made by another client", async (t) => {
    const { address, client: other } = await startHarness(t);
    const client = new wms.wms.v1.WmsSessionService(address, credentials.createInsecure());
    t.after(() => client.close());
    const stream = (
      client as unknown as { WatchSessions(request: object): ClientReadableStream<Json> }
    ).WatchSessions({ expected_host: TEST_HOST });
    t.after(() => stream.cancel());
    const messages: Json[] = [];
    const twoMessages = new Promise<void>((resolve, reject) => {
      stream.on("data", (message: Json) => {
        messages.push(message);
        if (messages.length === 1) void other.disconnect({ sessionIds: [2] });
        if (messages.length === 2) resolve();
      });
      stream.on("error", reject);
    });
    await twoMessages;
    const [snapshot, changes] = messages;
    assert.equal(snapshot?.["event"], "snapshot");
    assert.equal(snapshot?.["host"], TEST_HOST);
    const first = snapshot?.["snapshot"] as { sessions: Json[]; reason: string };
    assert.equal(first.reason, "SNAPSHOT_REASON_INITIAL");
    assert.equal(first.sessions.length, 13);
    assert.equal(
      first.sessions.find((s) => s["session_id"] === 0)?.["protection"],
      "PROTECTION_SERVICES_SESSION",
    );
    assert.equal(changes?.["event"], "changes");
    const [change] = (changes?.["changes"] as { changes: Json[] }).changes;
    assert.equal(change?.["kind"], "CHANGE_KIND_CHANGED");
    assert.equal((change?.["session"] as Json)["state"], "SESSION_STATE_DISCONNECTED");
    assert.equal(change?.["revision"], String(Number(snapshot?.["revision"]) + 1));
    assert.equal(changes?.["revision"], change?.["revision"]);
  });
});
