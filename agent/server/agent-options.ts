/**
 * The options of {@link startAgent}, in the two forms of the codebase: `AgentOptions` (everything
 * optional but the host name, each with its default and the reason for it) and
 * `ResolvedAgentOptions`, made by {@link resolveAgentOptions}, which fills the defaults and
 * rejects bad values with a `TypeError` before anything is bound.
 *
 * The limits are sized for what a real fleet sends one agent: a console with one connection and
 * a watch stream, a few monitors asking health, an administrator's `wmsctl` now and then. They
 * are far above that, so that no honest client ever meets them, and far below what would let a
 * stranger exhaust the host.
 */
import { ServerCredentials } from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import type { Authorizer } from "./access.js";
import type { AuditSink } from "../audit/audit-record.js";
import { DEFAULT_MAX_AUDIT_RECORD_BYTES, MIN_AUDIT_RECORD_BYTES } from "../audit/bounded-record.js";
import type { SessionBackend } from "../sessions/backend.js";
import type { PeerProcessResolver } from "../caller/caller-process.js";
import type { HostAddresses } from "../caller/host-addresses.js";
import {
  DEFAULT_MAX_MESSAGE_WAIT_MS,
  DEFAULT_MAX_WAITING_MESSAGES,
} from "../sessions/session-service.js";
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_WATCHERS,
  DEFAULT_RESCAN_INTERVAL_MS,
} from "../sessions/session-watch.js";

/** Options of `startAgent`. All optional except the host name. */
export interface AgentOptions {
  /** The host's fully qualified name, answered as `host` and checked against `expected_host`. */
  readonly hostFqdn: string;
  /** @default the simulated classroom */
  readonly backend?: SessionBackend;
  /**
   * `HOST:PORT` addresses to bind (`[v6]:PORT` for IPv6; a name binds every address it resolves
   * to); port 0 picks a free port (read it back from `Agent.ports`).
   * @default ["127.0.0.1:0"]
   */
  readonly listen?: readonly string[];
  /** @default ServerCredentials.createInsecure() — callers must only do this on loopback */
  readonly credentials?: ServerCredentials;
  /** Who may call what; `undefined` lets every caller in (insecure loopback). */
  readonly authorize?: Authorizer;
  /**
   * Where mutating calls (disconnect, log off, message) are recorded: an intent before acting, a
   * result after; `undefined` records nothing.
   */
  readonly audit?: AuditSink;
  /**
   * Largest audit record, in bytes of JSON; larger ones are summarised (counts and first ids
   * instead of a huge request's every id), so no caller can fill the disk through the audit log.
   * @default 65536 — a Disconnect of the 4,096 ids the contract allows (about 45 KiB) and the
   *   results of every session of a large host are recorded whole
   */
  readonly maxAuditRecordBytes?: number;
  /** @default a silent logger */
  readonly logger?: Logger;
  /** Milliseconds in-flight calls get to finish on shutdown before the server is forced down. @default 10000 */
  readonly graceMs?: number;
  /** Milliseconds between backend health probes. @default 5000 */
  readonly healthIntervalMs?: number;
  /**
   * Finds the process of a caller on this host (protection rule 3); `null` for none (every local
   * caller is then unresolved, and refused).
   * @default procfs and netlink on Linux, the TCP table on Windows
   */
  readonly peerResolver?: PeerProcessResolver | null;
  /**
   * Which peers run on this host (protection rule 3 applies to them alone).
   * @default loopback and this host's interface addresses, read again after a second
   */
  readonly hostAddresses?: HostAddresses;
  /**
   * Calls in flight at once, over every connection and service; more are answered
   * `RESOURCE_EXHAUSTED`.
   * @default 1024 — a fleet's clients keep a handful in flight; 1,024 absorbs a burst of a
   *   thousand (the load test) and bounds the requests held at once to 1,024 ×
   *   {@link maxReceiveMessageBytes} = 64 MiB.
   */
  readonly maxInFlightCalls?: number;
  /**
   * Largest accepted request message, in bytes; a larger one is answered `RESOURCE_EXHAUSTED`
   * before it is buffered whole.
   * @default 65536 — the largest valid request is a `Disconnect` of 4,096 ids (5-byte varints:
   *   about 20 KiB) with its host name; 64 KiB leaves room for requests to come (a message of
   *   4,096 characters and a title) without letting each stream hold a megabyte.
   */
  readonly maxReceiveMessageBytes?: number;
  /**
   * Open TCP connections at once. When a new one arrives at the limit, the oldest connection that
   * has not yet made an authorized call (a handshake in progress, a silent socket, a caller
   * without a role) is closed to make room; if every connection has made one, the newcomer is
   * closed instead.
   * @default 1024 — one agent sees a console, some monitors and a few `wmsctl` runs, each with one
   *   connection; 1,024 leaves room for a large site and bounds what connections hold (about
   *   100 KiB each with TLS and HTTP/2) to about 100 MiB.
   */
  readonly maxConnections?: number;
  /**
   * HTTP/2 streams one connection may have open at once (`SETTINGS_MAX_CONCURRENT_STREAMS`);
   * a client's further calls wait on its side.
   * @default 100 — the smallest value RFC 9113 section 6.5.2 recommends, and far more than a
   *   console's watch plus its calls; it bounds what one connection can make the agent hold.
   */
  readonly maxConcurrentStreams?: number;
  /**
   * Milliseconds a connection may stay without a call before the agent closes it (GOAWAY, then
   * the client reconnects on its next call).
   * @default 300000 — a console or monitor calls far more often than every 5 minutes; a
   *   connection left behind (a client gone without closing, a socket stuck half-closed) is
   *   released in minutes instead of never.
   */
  readonly maxConnectionIdleMs?: number;
  /**
   * Milliseconds between HTTP/2 pings on each connection, and how long the answer may take before
   * the connection is dropped: a client that vanished without closing (power cut, cable, a
   * half-closed socket) is noticed even while a stream (a watch) is open on it.
   * @default 60000 and 20000 — a ping a minute costs nothing; a dead peer is gone within
   *   80 seconds instead of grpc-js's 2 hours.
   */
  readonly keepaliveTimeMs?: number;
  /** @default 20000 — see {@link keepaliveTimeMs} */
  readonly keepaliveTimeoutMs?: number;
  /**
   * Refused calls (no role, wrong role, no certificate) one client may make in a burst before the
   * agent closes its connection; the allowance refills at {@link refusedCallsPerMinute}. A client
   * is its certificate (SHA-256 fingerprint), or its address without one.
   * @default 20 — a misconfigured client's retries and a monitor's probes stay well below; a
   *   flood of refused calls (each one a log line and, for a mutating call, an audit record)
   *   does not.
   */
  readonly maxRefusedCallBurst?: number;
  /** @default 60 — see {@link maxRefusedCallBurst} */
  readonly refusedCallsPerMinute?: number;
  /**
   * Disconnects, log-offs and messages not waited for that one request runs at once.
   * @default 4 — Remote Desktop Services serialises much of the work; a few at a time hide its
   *   latency without letting one request of 4,096 ids occupy the host.
   */
  readonly maxParallelOperationsPerRequest?: number;
  /**
   * The same, over every request of the agent.
   * @default 16 — several requests make progress side by side, so one slow session (a
   *   `WTSDisconnectSession` that waits tens of seconds) does not hold up unrelated calls, while
   *   the session manager is never asked for more than a handful at a time.
   */
  readonly maxParallelOperations?: number;
  /** Message boxes waiting for an answer at once. @default 64 (`DEFAULT_MAX_WAITING_MESSAGES`) */
  readonly maxWaitingMessages?: number;
  /** Longest timeout of a `SendMessage` that waits, in milliseconds. @default 3600000 */
  readonly maxMessageWaitMs?: number;
  /**
   * The clock idle times are computed with (milliseconds since the epoch): for tests and examples
   * that show a fixed moment. @default Date.now
   */
  readonly now?: () => number;
  /** `WatchSessions` streams at once. @default 256 (`DEFAULT_MAX_WATCHERS`) */
  readonly maxWatchers?: number;
  /** Milliseconds of silence after which a watcher gets a heartbeat. @default 15000 */
  readonly watchHeartbeatIntervalMs?: number;
  /** Milliseconds between listings the watch makes unasked (its safety net). @default 30000 */
  readonly watchRescanIntervalMs?: number;
}

/** {@link AgentOptions} with every default filled in and checked. */
export interface ResolvedAgentOptions {
  readonly hostFqdn: string;
  readonly backend: SessionBackend | undefined;
  readonly listen: readonly string[];
  readonly credentials: ServerCredentials;
  readonly authorize: Authorizer | undefined;
  readonly audit: AuditSink | undefined;
  readonly maxAuditRecordBytes: number;
  readonly logger: Logger;
  readonly graceMs: number;
  readonly healthIntervalMs: number;
  readonly peerResolver: PeerProcessResolver | null | undefined;
  readonly hostAddresses: HostAddresses | undefined;
  readonly maxInFlightCalls: number;
  readonly maxReceiveMessageBytes: number;
  readonly maxConnections: number;
  readonly maxConcurrentStreams: number;
  readonly maxConnectionIdleMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly maxRefusedCallBurst: number;
  readonly refusedCallsPerMinute: number;
  readonly maxParallelOperationsPerRequest: number;
  readonly maxParallelOperations: number;
  readonly maxWaitingMessages: number;
  readonly maxMessageWaitMs: number;
  readonly now: () => number;
  readonly maxWatchers: number;
  readonly watchHeartbeatIntervalMs: number;
  readonly watchRescanIntervalMs: number;
}

/** The largest delay Node's timers accept (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be an integer in ${min}..${max}, not ${String(value)}`);
  }
  return value;
}

/**
 * Fills defaults and checks values.
 * @throws TypeError on a missing host name, an empty `listen`, or a value out of range (e.g.
 *   `maxConnections: 0`).
 */
export function resolveAgentOptions(options: AgentOptions): ResolvedAgentOptions {
  if (typeof options.hostFqdn !== "string" || options.hostFqdn.trim() === "") {
    throw new TypeError("hostFqdn is required (the host's fully qualified name)");
  }
  const listen = options.listen ?? ["127.0.0.1:0"];
  if (!Array.isArray(listen) || listen.length === 0) {
    throw new TypeError("listen must name at least one HOST:PORT address");
  }
  for (const address of listen) {
    if (typeof address !== "string" || address.trim() === "") {
      throw new TypeError(`listen: ${JSON.stringify(address)} is not a HOST:PORT address`);
    }
  }
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  if (!(credentials instanceof ServerCredentials)) {
    throw new TypeError("credentials must be grpc-js ServerCredentials");
  }
  for (const [name, value] of [
    ["authorize", options.authorize],
    ["peerResolver", options.peerResolver],
    ["now", options.now],
  ] as const) {
    if (value !== undefined && value !== null && typeof value !== "function") {
      throw new TypeError(`${name} must be a function`);
    }
  }
  const maxParallelOperations = integer(
    options.maxParallelOperations ?? 16,
    "maxParallelOperations",
    1,
    1024,
  );
  return {
    hostFqdn: options.hostFqdn,
    backend: options.backend,
    listen,
    credentials,
    authorize: options.authorize,
    audit: options.audit,
    maxAuditRecordBytes: integer(
      options.maxAuditRecordBytes ?? DEFAULT_MAX_AUDIT_RECORD_BYTES,
      "maxAuditRecordBytes",
      MIN_AUDIT_RECORD_BYTES,
      64 * 1024 * 1024,
    ),
    logger: options.logger ?? pino({ enabled: false }),
    graceMs: integer(options.graceMs ?? 10_000, "graceMs", 0, MAX_TIMER_MS),
    healthIntervalMs: integer(
      options.healthIntervalMs ?? 5000,
      "healthIntervalMs",
      1,
      MAX_TIMER_MS,
    ),
    peerResolver: options.peerResolver,
    hostAddresses: options.hostAddresses,
    maxInFlightCalls: integer(options.maxInFlightCalls ?? 1024, "maxInFlightCalls", 1, 1_000_000),
    maxReceiveMessageBytes: integer(
      options.maxReceiveMessageBytes ?? 64 * 1024,
      "maxReceiveMessageBytes",
      1024,
      64 * 1024 * 1024,
    ),
    maxConnections: integer(options.maxConnections ?? 1024, "maxConnections", 1, 1_000_000),
    maxConcurrentStreams: integer(
      options.maxConcurrentStreams ?? 100,
      "maxConcurrentStreams",
      1,
      2 ** 31 - 1,
    ),
    maxConnectionIdleMs: integer(
      options.maxConnectionIdleMs ?? 300_000,
      "maxConnectionIdleMs",
      1,
      MAX_TIMER_MS,
    ),
    keepaliveTimeMs: integer(options.keepaliveTimeMs ?? 60_000, "keepaliveTimeMs", 1, MAX_TIMER_MS),
    keepaliveTimeoutMs: integer(
      options.keepaliveTimeoutMs ?? 20_000,
      "keepaliveTimeoutMs",
      1,
      MAX_TIMER_MS,
    ),
    maxRefusedCallBurst: integer(
      options.maxRefusedCallBurst ?? 20,
      "maxRefusedCallBurst",
      1,
      1_000_000,
    ),
    refusedCallsPerMinute: integer(
      options.refusedCallsPerMinute ?? 60,
      "refusedCallsPerMinute",
      0,
      1_000_000,
    ),
    maxParallelOperationsPerRequest: integer(
      options.maxParallelOperationsPerRequest ?? Math.min(4, maxParallelOperations),
      "maxParallelOperationsPerRequest",
      1,
      maxParallelOperations,
    ),
    maxParallelOperations,
    maxWaitingMessages: integer(
      options.maxWaitingMessages ?? DEFAULT_MAX_WAITING_MESSAGES,
      "maxWaitingMessages",
      0,
      100_000,
    ),
    maxMessageWaitMs: integer(
      options.maxMessageWaitMs ?? DEFAULT_MAX_MESSAGE_WAIT_MS,
      "maxMessageWaitMs",
      1,
      MAX_TIMER_MS,
    ),
    now: options.now ?? Date.now,
    maxWatchers: integer(options.maxWatchers ?? DEFAULT_MAX_WATCHERS, "maxWatchers", 0, 1_000_000),
    watchHeartbeatIntervalMs: integer(
      options.watchHeartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      "watchHeartbeatIntervalMs",
      1,
      MAX_TIMER_MS,
    ),
    watchRescanIntervalMs: integer(
      options.watchRescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS,
      "watchRescanIntervalMs",
      1,
      MAX_TIMER_MS,
    ),
  };
}
