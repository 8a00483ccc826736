import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import {
  checkExpectedHost,
  checkSessionId,
  validateSessionIds,
} from "../../agent/sessions/request-validation.js";
import { MAX_SESSION_IDS, WTS_CURRENT_SESSION } from "../../common/session-id.js";
import { RpcError } from "../../agent/server/rpc-error.js";

/** An assertion that `fn` throws an `RpcError` with `code` whose message matches every pattern. */
function assertRpcError(fn: () => unknown, code: Status, ...patterns: (RegExp | string)[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RpcError, `expected an RpcError, got ${String(error)}`);
    assert.equal(error.code, code, `code of ${error.message}`);
    for (const pattern of patterns) {
      if (typeof pattern === "string") assert.ok(error.message.includes(pattern), error.message);
      else assert.match(error.message, pattern);
    }
    return true;
  });
}

const DISCONNECT = { allowEmpty: false } as const;
const LIST = { allowEmpty: true } as const;

void describe("validateSessionIds", () => {
  void it("keeps valid ids in the order given", () => {
    assert.deepEqual(validateSessionIds([3, 5, 7], DISCONNECT), [3, 5, 7]);
    assert.deepEqual(validateSessionIds([9, 1, 4], DISCONNECT), [9, 1, 4]);
    assert.deepEqual(validateSessionIds([0], DISCONNECT), [0]);
    assert.deepEqual(validateSessionIds([4294967294], DISCONNECT), [4294967294]);
  });

  void it("answers duplicates once, keeping the first-seen order", () => {
    assert.deepEqual(validateSessionIds([5, 3, 5, 7, 3, 3], DISCONNECT), [5, 3, 7]);
    assert.deepEqual(validateSessionIds([2, 2, 2], DISCONNECT), [2]);
  });

  void it("does not modify its input", () => {
    const ids = [4, 4, 1];
    validateSessionIds(ids, DISCONNECT);
    assert.deepEqual(ids, [4, 4, 1]);
  });

  void it("refuses an empty Disconnect and allows an empty ListSessions", () => {
    assertRpcError(
      () => validateSessionIds([], DISCONNECT),
      Status.INVALID_ARGUMENT,
      "session_ids: at least one session id is required",
    );
    assert.deepEqual(validateSessionIds([], LIST), []);
  });

  void it("accepts 4096 ids and refuses 4097", () => {
    assert.equal(MAX_SESSION_IDS, 4096);
    const ids = Array.from({ length: 4096 }, (_, i) => i + 1);
    assert.deepEqual(validateSessionIds(ids, DISCONNECT), ids);
    assertRpcError(
      () => validateSessionIds([...ids, 5000], DISCONNECT),
      Status.INVALID_ARGUMENT,
      "session_ids: 4097 ids; at most 4096 are accepted",
    );
    assertRpcError(
      () => validateSessionIds([...ids, 5000], LIST),
      Status.INVALID_ARGUMENT,
      "4097 ids",
    );
  });

  void it("refuses 4294967295 (WTS_CURRENT_SESSION) naming its position", () => {
    assert.equal(WTS_CURRENT_SESSION, 4294967295);
    assertRpcError(
      () => validateSessionIds([3, 4294967295], DISCONNECT),
      Status.INVALID_ARGUMENT,
      "session_ids[1]: 4294967295 is WTS_CURRENT_SESSION",
      "is refused",
    );
  });

  void it("refuses ids that are not uint32 integers, naming the position", () => {
    for (const [id, shown] of [
      [1.5, "1.5"],
      [-1, "-1"],
      [Number.NaN, "NaN"],
      [Number.POSITIVE_INFINITY, "Infinity"],
      [4294967296, "4294967296"],
    ] as const) {
      assertRpcError(
        () => validateSessionIds([1, 2, id], DISCONNECT),
        Status.INVALID_ARGUMENT,
        `session_ids[2]: ${shown} is not a session id (uint32)`,
      );
    }
  });

  void it("names the field given by the caller", () => {
    assertRpcError(
      () => validateSessionIds([-3], { allowEmpty: true, field: "filter.session_ids" }),
      Status.INVALID_ARGUMENT,
      /^filter\.session_ids\[0\]: -3 is not a session id/,
    );
  });
});

void describe("checkSessionId", () => {
  void it("accepts 0..4294967294", () => {
    for (const id of [0, 1, 65536, 4294967294]) checkSessionId(id, "caller_session_id");
  });

  void it("refuses WTS_CURRENT_SESSION and non-uint32 values, naming the field", () => {
    assertRpcError(
      () => checkSessionId(4294967295, "caller_session_id"),
      Status.INVALID_ARGUMENT,
      /^caller_session_id: 4294967295 is WTS_CURRENT_SESSION/,
    );
    assertRpcError(
      () => checkSessionId(-1, "caller_session_id"),
      Status.INVALID_ARGUMENT,
      "caller_session_id: -1 is not a session id (uint32)",
    );
    assertRpcError(
      () => checkSessionId(0.25, "caller_session_id"),
      Status.INVALID_ARGUMENT,
      "caller_session_id: 0.25 is not a session id",
    );
  });
});

void describe("checkExpectedHost", () => {
  const host = "h1.lab.example.com";

  void it("lets an empty expected_host through", () => {
    checkExpectedHost("", host);
  });

  void it("accepts this agent's name regardless of case and one trailing dot", () => {
    for (const expected of [
      "h1.lab.example.com",
      "H1.LAB.EXAMPLE.COM",
      "h1.Lab.Example.com.",
      "H1.LAB.EXAMPLE.COM.",
    ]) {
      checkExpectedHost(expected, host);
    }
    checkExpectedHost("h1.lab.example.com", "H1.lab.example.com.");
  });

  void it("refuses another host with FAILED_PRECONDITION naming both", () => {
    for (const expected of [
      "h2.lab.example.com",
      "h1",
      "h1.lab.example.com.evil",
      "h1.lab.example.com..",
      " h1.lab.example.com",
    ]) {
      assertRpcError(
        () => checkExpectedHost(expected, host),
        Status.FAILED_PRECONDITION,
        `expected_host is ${JSON.stringify(expected)} but this agent is "h1.lab.example.com"; nothing was changed`,
      );
    }
  });
});

describe("checkExpectedHost and localhost", () => {
  it("accepts localhost only from a loopback peer", () => {
    assert.doesNotThrow(() => checkExpectedHost("localhost", "mps01.lab.example.com", true));
    assert.doesNotThrow(() => checkExpectedHost("LOCALHOST.", "mps01.lab.example.com", true));
    assert.throws(
      () => checkExpectedHost("localhost", "mps01.lab.example.com", false),
      (error: RpcError) => error.code === Status.FAILED_PRECONDITION,
    );
    assert.throws(
      () => checkExpectedHost("mps02.lab.example.com", "mps01.lab.example.com", true),
      (error: RpcError) => error.code === Status.FAILED_PRECONDITION,
    );
  });
});
