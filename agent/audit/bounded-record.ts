/**
 * Keeps every audit record within `maxAuditRecordBytes` of JSON, so that no caller can make the
 * agent copy a huge request into its audit log (a refused call with a 1 MiB request would
 * otherwise write megabytes per call, and fill the disk in seconds).
 *
 * A record that fits is written as it is. One that does not is summarised, in steps, until it
 * fits, and says so in `summarised` (its full size, and the original length of everything cut):
 * 1. every array outside `results` is cut to its first {@link KEPT_ITEMS} items and every string
 *    to {@link KEPT_CHARS} characters (a request's 250,000 session ids become the first 16);
 * 2. `results` keeps the sessions the agent acted on (`DISCONNECTED`, `LOGGED_OFF`,
 *    `MESSAGE_SENT`, `FAILED`) in full, and the others are counted by outcome, with their first
 *    session ids (`resultCounts`);
 * 3. only the counts are kept;
 * 4. as a last resort (a certificate with a giant subject, say), only the fields that say which
 *    call it was, who made it and how it ended.
 */
import type {
  AuditRecord,
  AuditSessionResult,
  OutcomeSummary,
  RecordSummary,
  ResultRecord,
} from "./audit-record.js";

/**
 * Default of `maxAuditRecordBytes`: 64 KiB. A `Disconnect` of the 4,096 ids the contract allows is
 * about 45 KiB of JSON, and the results of every session of a large host (a few hundred, about
 * 200 bytes each) fit too: real calls are recorded whole. Beyond it a record is summarised, so a
 * caller can add at most 64 KiB to the audit log per call.
 */
export const DEFAULT_MAX_AUDIT_RECORD_BYTES = 64 * 1024;

/** Smallest accepted `maxAuditRecordBytes`: the last-resort record of step 4 always fits. */
export const MIN_AUDIT_RECORD_BYTES = 4096;

/** Items of an array kept when a record is summarised. */
export const KEPT_ITEMS = 16;

/** Characters of a string kept when a record is summarised. */
export const KEPT_CHARS = 256;

/** Outcomes that mean the agent changed, or tried to change, a session: never summarised away first. */
const ACTED = new Set(["DISCONNECTED", "LOGGED_OFF", "MESSAGE_SENT", "FAILED"]);

/**
 * The record as one line of JSON, at most `maxBytes` bytes (UTF-8).
 * @throws TypeError when `maxBytes` is below {@link MIN_AUDIT_RECORD_BYTES}.
 */
export function serializeBounded(record: AuditRecord, maxBytes: number): string {
  checkMaxAuditRecordBytes(maxBytes);
  const whole = JSON.stringify(record);
  const bytes = Buffer.byteLength(whole);
  if (bytes <= maxBytes) return whole;

  const lengths: Record<string, number> = {};
  const { results, ...rest } = record as ResultRecord;
  const cut = cutValue(rest, "", lengths) as Omit<ResultRecord, "results">;
  const fits = (candidate: object): string | undefined => {
    const json = JSON.stringify(candidate);
    return Buffer.byteLength(json) <= maxBytes ? json : undefined;
  };

  if (results === undefined) {
    const json = fits({ ...cut, summarised: summary(bytes, lengths) });
    if (json !== undefined) return json;
  } else {
    const counts = countOutcomes(results);
    const acted = results.flatMap((result, index) =>
      ACTED.has(result.outcome) ? [cutValue(result, `results[${index}]`, lengths)] : [],
    );
    const withLength = { ...lengths, results: results.length };
    const json =
      fits({
        ...cut,
        results: acted,
        resultCounts: counts,
        summarised: summary(bytes, withLength),
      }) ?? fits({ ...cut, resultCounts: counts, summarised: summary(bytes, withLength) });
    if (json !== undefined) return json;
  }
  return JSON.stringify(lastResort(record, bytes));
}

/**
 * Checks a `maxAuditRecordBytes` value.
 * @throws TypeError naming the smallest accepted value.
 */
export function checkMaxAuditRecordBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_AUDIT_RECORD_BYTES) {
    throw new TypeError(
      `maxAuditRecordBytes: ${maxBytes} is not a whole number of bytes of at least ${MIN_AUDIT_RECORD_BYTES}`,
    );
  }
}

function summary(bytes: number, lengths: Record<string, number>): RecordSummary {
  return { bytes, lengths };
}

/** Per outcome, the number of results and the first session ids. */
function countOutcomes(results: readonly AuditSessionResult[]): Record<string, OutcomeSummary> {
  const counts: Record<string, { count: number; firstSessionIds: number[] }> = {};
  for (const { outcome, sessionId } of results) {
    const entry = (counts[cutString(outcome)] ??= { count: 0, firstSessionIds: [] });
    entry.count += 1;
    if (entry.firstSessionIds.length < KEPT_ITEMS) entry.firstSessionIds.push(sessionId);
  }
  return counts;
}

/**
 * A copy of a JSON value with every array cut to {@link KEPT_ITEMS} items and every string to
 * {@link KEPT_CHARS} characters; the original length of each is noted in `lengths` by its path.
 */
function cutValue(value: unknown, path: string, lengths: Record<string, number>): unknown {
  if (typeof value === "string") {
    if (value.length <= KEPT_CHARS) return value;
    lengths[path] = value.length;
    return cutString(value);
  }
  if (Array.isArray(value)) {
    if (value.length > KEPT_ITEMS) lengths[path] = value.length;
    return value
      .slice(0, KEPT_ITEMS)
      .map((item, index) => cutValue(item, `${path}[${index}]`, lengths));
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = cutValue(item, path === "" ? key : `${path}.${key}`, lengths);
    }
    return copy;
  }
  return value;
}

/** The first {@link KEPT_CHARS} characters and `…`, never splitting a surrogate pair. */
function cutString(value: string): string {
  if (value.length <= KEPT_CHARS) return value;
  let end = KEPT_CHARS;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…`;
}

/** Step 4: which call, who, and how it ended; nothing else. */
function lastResort(record: AuditRecord, bytes: number): object {
  const status = record.kind === "result" ? record.status : undefined;
  return {
    kind: record.kind,
    callId: cutString(record.callId),
    time: cutString(record.time),
    rpc: cutString(record.rpc),
    identity: record.identity === null ? null : cutString(record.identity),
    peer: cutString(record.peer),
    ...(status === undefined
      ? {}
      : { status: { code: cutString(status.code), message: cutString(status.message) } }),
    summarised: { bytes, lengths: {} },
  };
}
