/**
 * How the audit table shows a record: which outcomes it highlights (those that say something
 * went wrong or was refused, and only those: the list of every outcome the console writes is
 * here, in one place), and how much of a record's hosts and detail its row shows, so that a
 * 1,000-host fleet's records stay readable (views/audit-page.tsx shows the rest on demand).
 */
import { API_ERROR_STATUS, type AuditRecord } from "../api/types.js";

/** `neutral`: done, or a step that is no failure; `bad`: something went wrong or was refused. */
export type AuditOutcomeKind = "neutral" | "bad";

/**
 * Every outcome the console writes, by who writes it:
 *
 * - neutral: `ok` (a login, an account's or a policy's change, a host's result);
 *   `requested` (an action's or a policy run's intent: the record written before anything is
 *   sent); `what-if` (a preview's intent and its one result record, console/api/routes/
 *   actions-route.ts `whatIfSummary`: nothing was changed, whatever the hosts answered);
 *   `dry-run` (a dry-run policy's intent and result); `running` (a policy run started) and
 *   `done` (it ended: its summary counts each host's results);
 * - bad, an action's host (`ActionHostResult.status`): `failed`, `denied`, `unreachable`,
 *   `timeout`, `unknown-host` (not in the inventory: nothing was sent);
 * - bad, a policy run (console/policies/scheduler.ts): `failed`, `cancelled` (the console
 *   stopped during the run), `skipped` and `missed` (a due time not run);
 * - bad, a refusal: every API error code (`API_ERROR_STATUS`: `unauthenticated`, `forbidden`,
 *   `csrf_failed`, `invalid_credentials`, `too_many_attempts`, …), written as the outcome of a
 *   `denied` or `login` record; `coalesced` (anonymous refusals counted, console/audit/refusals.ts).
 *
 * An outcome not listed (written by a newer console than this page) counts as bad: better a
 * record looked at for nothing than a failure nobody sees.
 */
export const AUDIT_OUTCOMES: Readonly<Record<string, AuditOutcomeKind>> = {
  ok: "neutral",
  requested: "neutral",
  "what-if": "neutral",
  "dry-run": "neutral",
  running: "neutral",
  done: "neutral",
  failed: "bad",
  denied: "bad",
  unreachable: "bad",
  timeout: "bad",
  "unknown-host": "bad",
  cancelled: "bad",
  skipped: "bad",
  missed: "bad",
  coalesced: "bad",
  ...Object.fromEntries(Object.keys(API_ERROR_STATUS).map((code) => [code, "bad" as const])),
};

/** What `outcome` means: {@link AUDIT_OUTCOMES}, and `bad` for one it does not list. */
export function auditOutcomeKind(outcome: string): AuditOutcomeKind {
  return Object.hasOwn(AUDIT_OUTCOMES, outcome) ? (AUDIT_OUTCOMES[outcome] ?? "bad") : "bad";
}

/**
 * How the audit table shows a record: `bad` for a bad outcome ({@link auditOutcomeKind}), and
 * for a policy run that ended `done` with hosts that failed (its `summary.failedHosts`): the run
 * acted, but not on every host. A what-if's or a dry run's failed hosts are counted in its record
 * and not highlighted: nothing was changed anywhere.
 */
export function auditRecordKind(record: Pick<AuditRecord, "outcome" | "detail">): AuditOutcomeKind {
  if (auditOutcomeKind(record.outcome) === "bad") return "bad";
  if (record.outcome !== "done") return "neutral";
  const summary = record.detail["summary"];
  const failedHosts =
    typeof summary === "object" && summary !== null
      ? (summary as Record<string, unknown>)["failedHosts"]
      : undefined;
  return typeof failedHosts === "number" && failedHosts > 0 ? "bad" : "neutral";
}

/**
 * At most this many of a record's hosts are named in its row; the rest are counted ("+997
 * more") and all of them are behind the cell's disclosure. Three keep the row of a 1,000-host
 * action's intent two lines high, as the row of a one-host result.
 */
export const AUDIT_HOSTS_SHOWN = 3;

/**
 * Each value of a record's detail is cut to this many characters in the row's short account
 * (an ellipsis ends a cut one), the whole detail behind the cell's disclosure: a what-if's
 * `failures` can be 12,000 characters, an intent's `hosts` a 1,000-host list. 80 keep a cut
 * value within two lines of the cell.
 */
export const AUDIT_DETAIL_VALUE_CHARS = 80;

/** A record's detail as the audit table writes it. */
export interface ShortAuditDetail {
  /** `key: value; key: value`, each value cut to {@link AUDIT_DETAIL_VALUE_CHARS}. */
  readonly short: string;
  /** Each entry whole (a string as it is, anything else as JSON), in the detail's order. */
  readonly entries: readonly (readonly [key: string, text: string])[];
  /** Some value was cut: `short` is not the whole detail. */
  readonly cut: boolean;
}

/** `text`, or its first characters and an ellipsis when it is longer than `maxChars`. */
function cut(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** The short account of a record's detail, and the whole of it. */
export function shortAuditDetail(detail: AuditRecord["detail"]): ShortAuditDetail {
  const entries = Object.entries(detail).map(
    ([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)] as const,
  );
  return {
    short: entries
      .map(([key, text]) => `${key}: ${cut(text, AUDIT_DETAIL_VALUE_CHARS)}`)
      .join("; "),
    entries,
    cut: entries.some(([, text]) => text.length > AUDIT_DETAIL_VALUE_CHARS),
  };
}
