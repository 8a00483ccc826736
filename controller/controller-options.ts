/**
 * The options of the controller, in the two forms of the codebase: `ControllerOptions` (all
 * optional but the credentials, each with its default) and `ResolvedControllerOptions`, made by
 * {@link resolveControllerOptions}, which fills the defaults and rejects bad values.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import { MAX_SESSION_ID } from "../common/session-id.js";
import type { Target } from "./targets.js";
import { isLocalTarget } from "./local-machine.js";

/** Calls in flight at once unless told otherwise: PowerShell's `ThrottleLimit` default. */
export const DEFAULT_THROTTLE = 32;
/**
 * Milliseconds one host gets unless told otherwise: an agent answers in milliseconds, and a
 * disconnect that waits for Remote Desktop Services takes a second or two at worst, so 10 s
 * separates a slow host from a dead one without holding a run up for long.
 */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Retries after `UNAVAILABLE` unless told otherwise: enough to ride over an agent restart. */
export const DEFAULT_RETRIES = 2;
/**
 * Milliseconds a TLS handshake with an agent may take unless told otherwise. A handshake is two
 * round trips and a signature or two: well under a second even over a school's slowest WAN link.
 * Ten seconds is only ever reached by a peer that accepts connections and does not answer TLS (not
 * an agent, a stuck proxy), which would otherwise hold the connection attempt for good.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Decides whether a target is the machine this process runs on. */
export type LocalTargetTest = (target: Target, signal: AbortSignal) => Promise<boolean>;

/** Options of `createController`. */
export interface ControllerOptions {
  /**
   * The credentials of every channel: one shared object (`credentials.createSsl(ca, key, cert)`
   * for mutual TLS; `credentials.createInsecure()` only for `--insecure-loopback` agents).
   */
  readonly credentials: ChannelCredentials;
  /** Calls in flight at once, over all hosts. @default {@link DEFAULT_THROTTLE} (32) */
  readonly throttle?: number;
  /**
   * Milliseconds one host gets, from its first attempt to its result, retries and backoff
   * included. @default {@link DEFAULT_TIMEOUT_MS} (10000)
   */
  readonly timeoutMs?: number;
  /** Retries after `UNAVAILABLE` (and only after it). @default {@link DEFAULT_RETRIES} (2) */
  readonly retries?: number;
  /**
   * The backoff before retry n is a random delay up to `min(retryMaxDelayMs, retryBaseDelayMs ×
   * 2^(n-1))` ("full jitter", so hosts that failed together do not retry together). @default 200
   */
  readonly retryBaseDelayMs?: number;
  /** @default 2000 */
  readonly retryMaxDelayMs?: number;
  /**
   * How long a retry waits, after its backoff, for a lost connection to the agent to come back
   * (an agent restarting), in milliseconds; a retry that gets none fails as `unreachable`.
   * @default 1000
   */
  readonly reconnectWindowMs?: number;
  /**
   * A watch whose connection is lost reconnects after a random delay in `[c/2, c)` where `c =
   * min(watchReconnectMaxDelayMs, watchReconnectBaseDelayMs × 2^(n-1))` after n failures in a row
   * ("equal jitter": spread out so that a fleet's watches do not all return to a restarted agent
   * at once, yet never a busy loop). 500 ms: an agent restart is noticed within about a second.
   * @default 500
   */
  readonly watchReconnectBaseDelayMs?: number;
  /**
   * The cap of the watch's reconnection delay, in milliseconds: how long a host that came back
   * can go unnoticed at worst; 15 s keeps 1,000 watches of hosts that are down to about 70
   * connection attempts a second.
   * @default 15000
   */
  readonly watchReconnectMaxDelayMs?: number;
  /**
   * A watch that receives nothing (no change, no heartbeat) for this long, in milliseconds, is
   * presumed dead (a network that drops packets without a reset) and reconnected: four of the
   * agent's 15-second heartbeats.
   * @default 60000
   */
  readonly watchSilenceTimeoutMs?: number;
  /**
   * Milliseconds a TLS handshake may take before the connection is abandoned (grpc-js then backs
   * off and tries again while the host's deadline lasts). @default
   * {@link DEFAULT_HANDSHAKE_TIMEOUT_MS} (10000)
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * The caller's own session on this machine, sent as `caller_session_id` to agents that
   * {@link ControllerOptions.isLocalTarget} says are this machine. @default none
   */
  readonly callerSessionId?: number;
  /**
   * Whether a target is this machine: its address (the override, or what the FQDN resolves to)
   * is loopback or one of this machine's interface addresses. @default {@link isLocalTarget}
   */
  readonly isLocalTarget?: LocalTargetTest;
  /** Extra grpc-js channel options for every channel. @default {} */
  readonly channelOptions?: ChannelOptions;
  /** Waits between retries; injected by tests. @default `setTimeout` of `node:timers/promises` */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The clock, in milliseconds, that each host's deadline and duration are measured on (only
   * the grpc-js deadline is turned into a wall-clock `Date`, from the time left on it); a
   * monotonic clock, so that a wall-clock step never cuts or stretches a deadline.
   * @default performance.now
   */
  readonly now?: () => number;
  /** Jitter source, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** {@link ControllerOptions} with every default filled in. */
export interface ResolvedControllerOptions {
  readonly credentials: ChannelCredentials;
  readonly throttle: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly reconnectWindowMs: number;
  readonly watchReconnectBaseDelayMs: number;
  readonly watchReconnectMaxDelayMs: number;
  readonly watchSilenceTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly callerSessionId: number | undefined;
  readonly isLocalTarget: LocalTargetTest;
  readonly channelOptions: ChannelOptions;
  readonly delay: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly now: () => number;
  readonly random: () => number;
}

function integer(value: number, name: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer in ${min}..${max}, not ${value}`);
  }
  return value;
}

/**
 * Fills defaults and checks values.
 * @throws TypeError on a value out of range (e.g. `throttle: 0`).
 */
export function resolveControllerOptions(options: ControllerOptions): ResolvedControllerOptions {
  if (typeof options.credentials !== "object" || options.credentials === null) {
    throw new TypeError("credentials are required (grpc-js ChannelCredentials)");
  }
  const callerSessionId = options.callerSessionId;
  return {
    credentials: options.credentials,
    throttle: integer(options.throttle ?? DEFAULT_THROTTLE, "throttle", 1, 100_000),
    timeoutMs: integer(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, "timeoutMs", 1, 2_147_483_647),
    retries: integer(options.retries ?? DEFAULT_RETRIES, "retries", 0, 100),
    retryBaseDelayMs: integer(options.retryBaseDelayMs ?? 200, "retryBaseDelayMs", 0, 600_000),
    retryMaxDelayMs: integer(options.retryMaxDelayMs ?? 2000, "retryMaxDelayMs", 0, 600_000),
    reconnectWindowMs: integer(options.reconnectWindowMs ?? 1000, "reconnectWindowMs", 0, 600_000),
    watchReconnectBaseDelayMs: integer(
      options.watchReconnectBaseDelayMs ?? 500,
      "watchReconnectBaseDelayMs",
      1,
      600_000,
    ),
    watchReconnectMaxDelayMs: integer(
      options.watchReconnectMaxDelayMs ?? 15_000,
      "watchReconnectMaxDelayMs",
      1,
      3_600_000,
    ),
    watchSilenceTimeoutMs: integer(
      options.watchSilenceTimeoutMs ?? 60_000,
      "watchSilenceTimeoutMs",
      1,
      2_147_483_647,
    ),
    handshakeTimeoutMs: integer(
      options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      "handshakeTimeoutMs",
      1,
      600_000,
    ),
    callerSessionId:
      callerSessionId === undefined
        ? undefined
        : integer(callerSessionId, "callerSessionId", 0, MAX_SESSION_ID),
    isLocalTarget: options.isLocalTarget ?? isLocalTarget,
    channelOptions: options.channelOptions ?? {},
    delay: options.delay ?? ((ms, signal) => sleep(ms, undefined, { signal })),
    now: options.now ?? (() => performance.now()),
    random: options.random ?? Math.random,
  };
}
