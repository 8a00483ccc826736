/**
 * How many refused calls one client may make: a token bucket per client (its certificate, or its
 * address when it has none). Each refused call takes a token; the bucket holds
 * `burst` tokens and refills at `perMinute`. A client whose bucket is empty has its connection
 * closed, and its further refused calls are neither logged nor audited one by one, so that a
 * caller with no role can cost the agent neither its log, its audit file nor its descriptors.
 *
 * The table of clients is bounded: beyond `maxClients` the least recently refused is forgotten
 * (which only gives it a full bucket again).
 */

/** Options of {@link createRefusalLimiter}. */
export interface RefusalLimiterOptions {
  /** Refused calls in a burst before the limit applies. */
  readonly burst: number;
  /** Refused calls per minute allowed after the burst (the refill rate); 0 never refills. */
  readonly perMinute: number;
  /** Clients remembered at once. @default 4096 */
  readonly maxClients?: number;
  /** Clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

/** The verdict on one refused call. */
export interface RefusalVerdict {
  /** The call is within the client's allowance: refuse it normally (log, audit). */
  readonly withinAllowance: boolean;
  /** This call emptied the bucket: the moment to say so once in the log. */
  readonly firstOverLimit: boolean;
}

/** Counts refused calls per client. */
export interface RefusalLimiter {
  /** Takes a token for a refused call of `client`. */
  refuse(client: string): RefusalVerdict;
}

interface Bucket {
  tokens: number;
  updated: number;
  over: boolean;
}

/** Makes a limiter; see the module comment. */
export function createRefusalLimiter(options: RefusalLimiterOptions): RefusalLimiter {
  const now = options.now ?? (() => performance.now());
  const maxClients = options.maxClients ?? 4096;
  const refillPerMs = options.perMinute / 60_000;
  const buckets = new Map<string, Bucket>();
  return {
    refuse(client) {
      const time = now();
      let bucket = buckets.get(client);
      if (bucket === undefined) {
        bucket = { tokens: options.burst, updated: time, over: false };
      } else {
        buckets.delete(client);
        bucket.tokens = Math.min(
          options.burst,
          bucket.tokens + (time - bucket.updated) * refillPerMs,
        );
        bucket.updated = time;
      }
      // Most recently refused last, so that the first entry is the one to forget.
      buckets.set(client, bucket);
      if (buckets.size > maxClients) {
        const oldest = buckets.keys().next();
        if (oldest.done !== true) buckets.delete(oldest.value);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        bucket.over = false;
        return { withinAllowance: true, firstOverLimit: false };
      }
      const firstOverLimit = !bucket.over;
      bucket.over = true;
      return { withinAllowance: false, firstOverLimit };
    },
  };
}
