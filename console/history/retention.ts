/**
 * The history's retention: changes older than `--history-days` are removed in the background,
 * once at start and then every {@link PRUNE_INTERVAL_MS}.
 */
import type { Logger } from "pino";
import { startRetention } from "../retention.js";
import type { ConsoleStore } from "../store/store.js";

/** Days of history kept unless `--history-days` says otherwise: a school term and then some. */
export const DEFAULT_HISTORY_DAYS = 90;
/** The longest retention `--history-days` takes: ten years. */
export const MAX_HISTORY_DAYS = 3660;
/** Milliseconds between two prunings: hourly keeps the table within an hour of the limit. */
export const PRUNE_INTERVAL_MS = 3_600_000;

const DAY_MS = 86_400_000;

/** Removes what is older than `days` before `nowMs`; returns how many changes went. */
export function pruneHistory(store: ConsoleStore, days: number, nowMs: number): Promise<number> {
  return store.pruneHistory(new Date(nowMs - days * DAY_MS));
}

/** Prunes now and every {@link PRUNE_INTERVAL_MS}; returns the function that stops it. */
export function startHistoryRetention(options: {
  readonly store: ConsoleStore;
  readonly days: number;
  readonly logger: Logger;
  readonly now?: () => number;
}): () => void {
  return startRetention({
    ...options,
    prune: (nowMs) => pruneHistory(options.store, options.days, nowMs),
    intervalMs: PRUNE_INTERVAL_MS,
    messages: { pruned: "history pruned", failed: "cannot prune the history" },
  });
}
