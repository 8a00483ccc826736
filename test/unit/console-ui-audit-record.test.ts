/** How the audit table reads a record's outcome and shortens its detail (console/ui/audit-record.ts). */
import assert from "node:assert/strict";
import { it } from "node:test";
import { API_ERROR_STATUS } from "../../console/api/types.js";
import {
  AUDIT_DETAIL_VALUE_CHARS,
  shortAuditDetail,
  auditOutcomeKind,
  auditRecordKind,
} from "../../console/ui/audit-record.js";

it("counts intents, what-ifs, dry runs and runs that start or end as neutral; failures and refusals as bad", () => {
  for (const outcome of ["ok", "requested", "what-if", "dry-run", "running", "done"]) {
    assert.equal(auditOutcomeKind(outcome), "neutral", outcome);
  }
  const bad = ["failed", "denied", "unreachable", "timeout", "unknown-host", "cancelled"];
  for (const outcome of [
    ...bad,
    "skipped",
    "missed",
    "coalesced",
    ...Object.keys(API_ERROR_STATUS),
  ]) {
    assert.equal(auditOutcomeKind(outcome), "bad", outcome);
  }
  assert.equal(auditOutcomeKind("something-new"), "bad", "an outcome the page does not know");
  assert.equal(auditOutcomeKind("toString"), "bad", "not an Object.prototype member");
});

it("shows a policy run that ended with failed hosts as bad; a what-if or a dry run with them not", () => {
  const run = (outcome: string, failedHosts: unknown) => ({
    outcome,
    detail: { run: 3, summary: { hosts: 10, failedHosts, matched: 4, outcomes: {} } },
  });
  assert.equal(auditRecordKind(run("done", 2)), "bad", "acted, but not everywhere");
  assert.equal(auditRecordKind(run("done", 0)), "neutral");
  assert.equal(auditRecordKind(run("dry-run", 2)), "neutral", "nothing was changed");
  assert.equal(auditRecordKind(run("failed", 0)), "bad");
  assert.equal(auditRecordKind({ outcome: "done", detail: {} }), "neutral", "no summary");
  assert.equal(auditRecordKind(run("done", "2")), "neutral", "a count that is no number");
  const whatIf = { outcome: "what-if", detail: { statuses: { ok: 8, unreachable: 2 } } };
  assert.equal(auditRecordKind(whatIf), "neutral");
});

it("cuts each long value of a detail with an ellipsis and keeps the whole of each", () => {
  const failures = Array.from({ length: 200 }, (_, i) => ({ host: `ws${i}`, status: "timeout" }));
  const long = "x".repeat(AUDIT_DETAIL_VALUE_CHARS + 1);
  const text = shortAuditDetail({ intent: 7, whatIf: true, message: long, failures });
  assert.equal(text.cut, true);
  assert.equal(
    text.short,
    `intent: 7; whatIf: true; message: ${"x".repeat(AUDIT_DETAIL_VALUE_CHARS - 1)}…; failures: ${JSON.stringify(failures).slice(0, AUDIT_DETAIL_VALUE_CHARS - 1)}…`,
  );
  assert.deepEqual(text.entries, [
    ["intent", "7"],
    ["whatIf", "true"],
    ["message", long],
    ["failures", JSON.stringify(failures)],
  ]);

  const exact = "y".repeat(AUDIT_DETAIL_VALUE_CHARS);
  assert.deepEqual(shortAuditDetail({ reason: exact }), {
    short: `reason: ${exact}`,
    entries: [["reason", exact]],
    cut: false,
  });
  assert.deepEqual(shortAuditDetail({}), { short: "", entries: [], cut: false });
});
