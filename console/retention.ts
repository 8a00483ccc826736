/**
 * The schedule every retention of the console shares (the audit trail's, the history's): prune
 * once at start and then every `intervalMs`, never two prunings at once, log what went, and stop
 * a pruning under way at its next step when the console closes.
 */
import type { Logger } from "pino";

/** Options of {@link startRetention}. */
export interface RetentionOptions {
  /**
   * Removes what is older than the retention at `nowMs`; resolves how much went; may stop early
   * once `signal` aborts.
   */
  readonly prune: (nowMs: number, signal: AbortSignal) => Promise<number>;
  /** Days kept, for the log. */
  readonly days: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** The log lines: after a pruning that removed something, and after one that failed. */
  readonly messages: { readonly pruned: string; readonly failed: string };
  /** The wall clock. @default Date.now */
  readonly now?: () => number;
}

/** Prunes now and every `intervalMs`; returns the function that stops it. */
export function startRetention(options: RetentionOptions): () => void {
  const now = options.now ?? Date.now;
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  const prune = () => {
    if (stop.signal.aborted || running !== undefined) return;
    running = options
      .prune(now(), stop.signal)
      .then(
        (removed) => {
          if (removed > 0)
            options.logger.info({ removed, days: options.days }, options.messages.pruned);
        },
        (error: unknown) => {
          if (!stop.signal.aborted) options.logger.warn({ err: error }, options.messages.failed);
        },
      )
      .finally(() => (running = undefined));
  };
  prune();
  const timer = setInterval(prune, options.intervalMs);
  timer.unref();
  return () => {
    stop.abort();
    clearInterval(timer);
  };
}
