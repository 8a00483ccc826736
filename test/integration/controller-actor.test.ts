/**
 * The controller's `actor` option: every call of the session service carries it as
 * `wmsfleet-actor`, and the agent writes it into its audit records (warn-then-act's message,
 * listing and action included); a name that cannot be a header value is refused before anything
 * is sent.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { AuditRecord, AuditSink } from "../../agent/audit/audit-record.js";
import { createController, credentials, type HostResult } from "../../controller/index.js";
import { startFleet, stopFleet } from "../helpers/controller-fleet.js";

function memoryAudit(): AuditSink & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return {
    records,
    write(json) {
      records.push(JSON.parse(json) as AuditRecord);
      return Promise.resolve();
    },
  };
}

async function drain<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>[]> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  return list;
}

it("sends the actor with every action, message and warn-then-act step; the agent records it", async (t) => {
  const audit = memoryAudit();
  const hosts = await startFleet([{ fqdn: "ws1.lab.example.com", audit }]);
  t.after(() => stopFleet(hosts));
  const controller = createController({ credentials: credentials.createInsecure() });
  t.after(() => controller.close());
  const targets = hosts.map((h) => h.target);
  const [disconnected] = await drain(
    controller.disconnect(targets, [7], { whatIf: true, actor: "console:alice" }),
  );
  assert.equal(disconnected?.status, "ok");
  await drain(
    controller.sendMessage(
      targets,
      { kind: "ids", sessionIds: [2] },
      { text: "hi", whatIf: true, actor: "console:bob" },
    ),
  );
  await drain(
    controller.warnThenAct(targets, {
      action: "logoff",
      selection: { kind: "ids", sessionIds: [9] },
      warning: { text: "saving your work?" },
      graceMs: 0,
      whatIf: true,
      actor: "console:carol",
    }),
  );
  await drain(controller.disconnect(targets, [8], { whatIf: true }));
  assert.deepEqual(
    audit.records.map((r) => [r.rpc, r.kind, r.actor]),
    // A what-if acts on nothing: the agent writes its result record only.
    [
      ["Disconnect", "result", "console:alice"],
      ["SendMessage", "result", "console:bob"],
      ["Logoff", "result", "console:carol"],
      ["SendMessage", "result", "console:carol"],
      ["Disconnect", "result", undefined],
    ],
  );
});

it("refuses an actor that cannot be a header value, before anything is sent", () => {
  const controller = createController({ credentials: credentials.createInsecure() });
  try {
    for (const actor of ["", "zoë", "a\nb", "x".repeat(257)]) {
      assert.throws(
        () => controller.disconnect([], [1], { actor }),
        TypeError,
        JSON.stringify(actor),
      );
      assert.throws(
        () =>
          controller.warnThenAct([], {
            action: "logoff",
            selection: { kind: "ids", sessionIds: [1] },
            warning: { text: "x" },
            graceMs: 0,
            actor,
          }),
        TypeError,
      );
    }
  } finally {
    controller.close();
  }
});
