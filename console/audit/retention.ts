/**
 * The audit trail's retention: records older than `--audit-days` are removed in the background,
 * once at start and then every {@link AUDIT_PRUNE_INTERVAL_MS}, a batch of
 * {@link AUDIT_PRUNE_BATCH_RECORDS} at a time so that a large first pruning never holds the event
 * loop (the store is synchronous SQLite) for more than a few milliseconds at once.
 */
import type { Logger } from "pino";
import { startRetention } from "../retention.js";
import type { ConsoleStore } from "../store/store.js";

/**
 * Days of audit trail kept unless `--audit-days` says otherwise: a year, so that "who logged off
 * the whole lab last spring?" still has its answer at the next school year's review, while the
 * trail of a console that runs for years stops growing.
 */
export const DEFAULT_AUDIT_DAYS = 365;
/** The longest retention `--audit-days` takes: ten years. */
export const MAX_AUDIT_DAYS = 3660;
/** Milliseconds between two prunings: hourly keeps the trail within an hour of its limit. */
export const AUDIT_PRUNE_INTERVAL_MS = 3_600_000;
/** Records removed per store call: about a millisecond or two of SQLite each. */
export const AUDIT_PRUNE_BATCH_RECORDS = 2000;

const DAY_MS = 86_400_000;

/**
 * Removes every record older than `days` before `nowMs`, a batch at a time, letting the event
 * loop go between batches (and stopping there once `signal` aborts); returns how many went.
 */
export async function pruneAudit(
  store: ConsoleStore,
  days: number,
  nowMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const before = new Date(nowMs - days * DAY_MS);
  let removed = 0;
  for (;;) {
    const batch = await store.pruneAudit(before, AUDIT_PRUNE_BATCH_RECORDS);
    removed += batch;
    if (batch < AUDIT_PRUNE_BATCH_RECORDS) return removed;
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted === true) return removed;
  }
}

/** Prunes now and every {@link AUDIT_PRUNE_INTERVAL_MS}; returns the function that stops it. */
export function startAuditRetention(options: {
  readonly store: ConsoleStore;
  readonly days: number;
  readonly logger: Logger;
  readonly now?: () => number;
}): () => void {
  return startRetention({
    ...options,
    prune: (nowMs, signal) => pruneAudit(options.store, options.days, nowMs, signal),
    intervalMs: AUDIT_PRUNE_INTERVAL_MS,
    messages: { pruned: "audit pruned", failed: "cannot prune the audit trail" },
  });
}
