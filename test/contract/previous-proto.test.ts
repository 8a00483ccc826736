/**
 * Backward compatibility: a client built from the `.proto` as it was before the session family
 * (`test/fixtures/proto-previous/`, the file of commit 39fa895) keeps working against the agent of
 * today. New fields of `Session` and `SessionResult` are unknown to it and skipped; every field it
 * knows keeps its number, type and meaning.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { startHarness, TEST_HOST } from "../helpers/agent-harness.js";

const loaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function service(root: string): ServiceClientConstructor {
  const definition = loadSync("wms/v1/wms_session.proto", {
    ...loaderOptions,
    includeDirs: [root],
  });
  return (
    loadPackageDefinition(definition) as unknown as {
      wms: { v1: { WmsSessionService: ServiceClientConstructor } };
    }
  ).wms.v1.WmsSessionService;
}

const previous = service(fileURLToPath(new URL("../fixtures/proto-previous/", import.meta.url)));
const current = service(fileURLToPath(new URL("../../proto/", import.meta.url)));

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

describe("a client built from the previous .proto", () => {
  it("knows only the four RPCs of its time", () => {
    assert.deepEqual(Object.keys(previous.service).sort(), [
      "Disconnect",
      "DisconnectAll",
      "GetAgentInfo",
      "ListSessions",
    ]);
  });

  it("lists, disconnects and reads the agent's info as before", async (t) => {
    const { address, backend } = await startHarness(t);
    const old = new previous(address, credentials.createInsecure());
    const now = new current(address, credentials.createInsecure());
    t.after(() => {
      old.close();
      now.close();
    });

    const info = await call(old, "GetAgentInfo", {});
    assert.equal(info["host"], TEST_HOST);
    assert.equal(info["backend"], "simulated");

    const oldList = await call(old, "ListSessions", { expected_host: TEST_HOST });
    const newList = await call(now, "ListSessions", { expected_host: TEST_HOST });
    const oldSessions = oldList["sessions"] as Json[];
    const newSessions = newList["sessions"] as Json[];
    assert.equal(oldSessions.length, 13);
    // Every field the old client knows means the same; the new ones it simply does not see.
    const known = Object.keys(oldSessions[0] ?? {}).sort();
    assert.deepEqual(known, [
      "client_name",
      "domain_name",
      "idle_time",
      "logon_time",
      "protection",
      "session_id",
      "state",
      "station_name",
      "user_name",
    ]);
    for (const [index, session] of oldSessions.entries()) {
      const fresh = newSessions[index] ?? {};
      for (const field of known.filter((f) => f !== "idle_time")) {
        assert.deepEqual(session[field], fresh[field], `session ${index}: ${field}`);
      }
    }
    assert.ok("last_input_time" in (newSessions[1] ?? {}));

    const disconnect = await call(old, "Disconnect", { session_ids: [2, 0, 999], what_if: false });
    assert.deepEqual(
      (disconnect["results"] as Json[]).map((r) => [
        r["session_id"],
        r["outcome"],
        r["protection"],
      ]),
      [
        [2, "OUTCOME_DISCONNECTED", "PROTECTION_UNSPECIFIED"],
        [0, "OUTCOME_PROTECTED", "PROTECTION_SERVICES_SESSION"],
        [999, "OUTCOME_NOT_FOUND", "PROTECTION_UNSPECIFIED"],
      ],
    );
    assert.deepEqual(Object.keys((disconnect["results"] as Json[])[0] ?? {}).sort(), [
      "message",
      "outcome",
      "protection",
      "session",
      "session_id",
      "win32_error",
    ]);
    const retry = await call(old, "Disconnect", { session_ids: [2] });
    assert.equal((retry["results"] as Json[])[0]?.["outcome"], "OUTCOME_ALREADY_DISCONNECTED");

    const all = await call(old, "DisconnectAll", {
      what_if: true,
      caller_session_id: 1,
      filter: {
        user_name_pattern: "*",
        states: ["SESSION_STATE_ACTIVE"],
        min_idle_time: { seconds: 60 },
      },
    });
    assert.deepEqual(
      (all["results"] as Json[]).map((r) => [r["session_id"], r["outcome"]]),
      [[3, "OUTCOME_WOULD_DISCONNECT"]],
    );
    assert.deepEqual(backend.disconnectCalls(), [{ sessionId: 2, wait: true }]);
  });
});
