import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BackendSession } from "../../agent/sessions/backend.js";
import { createLogoffMemory } from "../../agent/sessions/logoff-memory.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";

function session(sessionId: number, userName = `user${sessionId}`): BackendSession {
  return {
    sessionId,
    state: SessionState.ACTIVE,
    userName,
    domainName: "LAB",
    stationName: `Station ${sessionId}`,
    clientName: "",
    logonTime: new Date("2026-03-10T08:00:00Z"),
    lastInputTime: undefined,
    locked: false,
  };
}

void describe("logoff memory", () => {
  void it("recalls a log-off with the session as it was and when", () => {
    let clock = 1_000;
    const memory = createLogoffMemory({ now: () => clock });
    memory.remember(session(4, "amelia"));
    clock = 2_000;
    const recalled = memory.recall(4);
    assert.equal(recalled?.session.userName, "amelia");
    assert.equal(recalled?.atMs, 1_000);
    assert.equal(memory.recall(5), undefined);
  });

  void it("forgets a log-off once it is maxAgeMs old", () => {
    let clock = 0;
    const memory = createLogoffMemory({ maxAgeMs: 600_000, now: () => clock });
    memory.remember(session(1));
    clock = 300_000;
    memory.remember(session(2));
    clock = 599_999;
    assert.ok(memory.recall(1));
    clock = 600_000;
    assert.equal(memory.recall(1), undefined);
    assert.ok(memory.recall(2));
    assert.equal(memory.size(), 1);
  });

  void it("keeps at most maxEntries, dropping the oldest first", () => {
    const memory = createLogoffMemory({ maxEntries: 3, now: () => 0 });
    for (const id of [1, 2, 3, 4]) memory.remember(session(id));
    assert.equal(memory.size(), 3);
    assert.equal(memory.recall(1), undefined);
    // Remembering an id again makes it the newest.
    memory.remember(session(2, "again"));
    memory.remember(session(5));
    assert.equal(memory.recall(3), undefined);
    assert.equal(memory.recall(2)?.session.userName, "again");
    assert.deepEqual(
      [2, 4, 5].map((id) => memory.recall(id) !== undefined),
      [true, true, true],
    );
  });

  void it("refuses bounds that are not positive integers", () => {
    assert.throws(
      () => createLogoffMemory({ maxEntries: 0 }),
      /maxEntries must be a positive integer/,
    );
    assert.throws(
      () => createLogoffMemory({ maxAgeMs: 1.5 }),
      /maxAgeMs must be a positive integer/,
    );
  });
});
