/**
 * `WatchSessions` over a fleet: one stream per host, kept open for as long as the caller
 * iterates. Each host's events come as they happen — `connected`, a `snapshot` of every session,
 * `changes` with their revisions, `heartbeat`s, and `disconnected` with the reason when the stream
 * is lost — and a lost stream is reopened with jittered backoff. A reopened stream starts with a
 * snapshot whose `cause` is `"reconnect"`: it replaces everything the consumer knew of that host.
 */
import { setMaxListeners } from "node:events";
import { Metadata, status as Status } from "@grpc/grpc-js";
import type {
  Session,
  SessionChange,
  WatchSessionsResponse,
} from "../proto/gen/wms/v1/wms_session.js";
import { SnapshotReason } from "../proto/gen/wms/v1/wms_session.js";
import { answersFor } from "./answers-for.js";
import type { ChannelPool } from "./channel-pool.js";
import type { ResolvedControllerOptions } from "./controller-options.js";
import { hostFailure } from "./fan-out.js";
import { formatHostPort } from "./host-name.js";
import { HostCallError, statusName, type HostStatus } from "./host-result.js";
import { mergeSources } from "./merge-sources.js";
import { StreamReader } from "./stream-reader.js";
import type { Target } from "./targets.js";

/** What every watch event says: which host, and when the controller received it. */
interface WatchEventBase {
  /** The host's FQDN, as requested. */
  readonly host: string;
  /** The address dialled, `host:port`. */
  readonly address: string;
  /** When this controller received (or, for `disconnected`, noticed) it. */
  readonly time: Date;
}

/** The agent accepted the watch: its snapshot follows at once. */
export interface WatchConnected extends WatchEventBase {
  readonly kind: "connected";
  /** Whether the host had been connected before in this watch (this is a reconnection). */
  readonly reconnected: boolean;
}

/**
 * Why a snapshot came: the first of this watch (`initial`), the first after a lost connection
 * (`reconnect`), or the agent resynchronising a watcher that fell behind (`resync`: changes were
 * dropped). Whatever the cause, a snapshot replaces everything the consumer knew of the host.
 */
export type SnapshotCause = "initial" | "reconnect" | "resync";

/** Every session of the host, at `revision` of the agent's view. */
export interface WatchSnapshot extends WatchEventBase {
  readonly kind: "snapshot";
  readonly cause: SnapshotCause;
  readonly revision: number;
  readonly sessions: readonly Session[];
}

/** Changes of the host's sessions, in order; the last one's revision is `revision`. */
export interface WatchChanges extends WatchEventBase {
  readonly kind: "changes";
  readonly revision: number;
  readonly changes: readonly SessionChange[];
}

/** Nothing changed for a while; the stream and the agent are alive. */
export interface WatchHeartbeat extends WatchEventBase {
  readonly kind: "heartbeat";
  readonly revision: number;
}

/**
 * The host's stream is lost (or could not be opened); the watch tries again in `retryInMs`.
 * `status` is a host status as other calls report it, or `ended` when the agent closed the stream
 * itself (it is draining: shutting down or restarting).
 */
export interface WatchDisconnected extends WatchEventBase {
  readonly kind: "disconnected";
  readonly status: Exclude<HostStatus, "ok"> | "ended";
  /** The gRPC status name, e.g. `UNAVAILABLE`; `OK` for `ended`. */
  readonly code: string;
  /** What went wrong, in words. */
  readonly message: string;
  /** The error naming host and RPC; absent for `ended`. */
  readonly error?: HostCallError;
  /** Whether a live stream was lost (true) or an attempt to open one failed (false). */
  readonly wasConnected: boolean;
  /** Failed attempts in a row, this one included. */
  readonly failures: number;
  /** Milliseconds until the next attempt. */
  readonly retryInMs: number;
}

/** One event of a watch. */
export type WatchEvent =
  WatchConnected | WatchSnapshot | WatchChanges | WatchHeartbeat | WatchDisconnected;

/**
 * The delay before the next attempt after `failures` failed attempts in a row: uniform in
 * `[c/2, c)` with `c = min(max, base × 2^(failures-1))`.
 */
export function watchBackoffMs(
  failures: number,
  options: Pick<
    ResolvedControllerOptions,
    "watchReconnectBaseDelayMs" | "watchReconnectMaxDelayMs" | "random"
  >,
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(
    options.watchReconnectMaxDelayMs,
    options.watchReconnectBaseDelayMs * 2 ** exponent,
  );
  return Math.floor(ceiling / 2 + (options.random() * ceiling) / 2);
}

/** How one attempt ended, before it becomes a `disconnected` event. */
type AttemptEnd = Pick<WatchDisconnected, "status" | "code" | "message" | "error">;

/** An attempt that the controller ends on its own account (bad stream, silence, ...). */
function localFailure(
  target: Target,
  status: AttemptEnd["status"],
  code: Status,
  message: string,
): AttemptEnd {
  const error = new HostCallError(target.fqdn, "WatchSessions", code, message);
  return { status, code: statusName(code), message, error };
}

/** Mutable state of one host's watch across attempts. */
interface HostWatchState {
  connected: boolean;
  everConnected: boolean;
}

/**
 * One attempt: opens the stream and yields its events until it ends; returns how it ended.
 * Checks what the contract promises: the first message is a snapshot, the host is the one asked,
 * and revisions follow each other without a gap (a gap means lost changes: the attempt ends and
 * the next one starts with a fresh snapshot).
 */
async function* attempt(
  target: Target,
  pool: ChannelPool,
  options: ResolvedControllerOptions,
  signal: AbortSignal,
  state: HostWatchState,
): AsyncGenerator<WatchEvent, AttemptEnd | undefined> {
  const address = formatHostPort(target.address);
  const client = pool.client(target);
  const call = client.watchSessions({ expectedHost: target.fqdn }, new Metadata(), {});
  const reader = new StreamReader<WatchSessionsResponse>(call, {
    firstMessageMs: options.timeoutMs,
    silenceMs: options.watchSilenceTimeoutMs,
  });
  const onAbort = () => reader.cancel("stop");
  signal.addEventListener("abort", onAbort, { once: true });
  const base = () => ({ host: target.fqdn, address, time: new Date() });
  let revision: number | undefined;
  try {
    for (;;) {
      const step = await reader.next();
      if (step.status !== undefined) {
        if (signal.aborted) return undefined;
        if (reader.cancelled === "first-message") {
          return localFailure(
            target,
            "timeout",
            Status.DEADLINE_EXCEEDED,
            `no snapshot within ${options.timeoutMs} ms of opening the watch`,
          );
        }
        if (reader.cancelled === "silence") {
          return localFailure(
            target,
            "timeout",
            Status.DEADLINE_EXCEEDED,
            `nothing received for ${options.watchSilenceTimeoutMs} ms, not even a heartbeat`,
          );
        }
        if (step.status.code === Status.OK) {
          return {
            status: "ended",
            code: "OK",
            message: "the agent ended the watch (it is shutting down or restarting)",
          };
        }
        const failure = hostFailure(
          Object.assign(new Error(step.status.details), step.status),
          target,
          "WatchSessions",
          client,
          { attempts: 1, durationMs: 0 },
        );
        return {
          status: failure.status,
          code: failure.code,
          message: failure.message,
          error: failure.error,
        };
      }
      const message = step.message;
      const event = message.event;
      const fail = (text: string) => {
        reader.cancel("stop");
        return localFailure(target, "failed", Status.DATA_LOSS, text);
      };
      if (!answersFor(target.fqdn, message.host)) {
        return fail(`the agent answered as ${JSON.stringify(message.host)}, not ${target.fqdn}`);
      }
      if (revision === undefined) {
        if (event?.$case !== "snapshot") {
          return fail(`the watch began with ${event?.$case ?? "an empty message"}, not a snapshot`);
        }
        revision = message.revision;
        yield { kind: "connected", ...base(), reconnected: state.everConnected };
        const cause: SnapshotCause = state.everConnected ? "reconnect" : "initial";
        state.connected = true;
        state.everConnected = true;
        yield {
          kind: "snapshot",
          ...base(),
          cause,
          revision,
          sessions: event.value.sessions,
        };
        continue;
      }
      switch (event?.$case) {
        case "snapshot":
          revision = message.revision;
          yield {
            kind: "snapshot",
            ...base(),
            cause: event.value.reason === SnapshotReason.RESYNC ? "resync" : "reconnect",
            revision,
            sessions: event.value.sessions,
          };
          break;
        case "changes": {
          for (const change of event.value.changes) {
            if (change.revision !== revision + 1) {
              return fail(
                `changes skipped from revision ${revision} to ${change.revision}; resynchronising`,
              );
            }
            revision = change.revision;
          }
          if (message.revision !== revision) {
            return fail(
              `the changes end at revision ${revision} but the message says ${message.revision}`,
            );
          }
          yield { kind: "changes", ...base(), revision, changes: event.value.changes };
          break;
        }
        case "heartbeat":
          if (message.revision !== revision) {
            return fail(
              `a heartbeat at revision ${message.revision} after revision ${revision}; resynchronising`,
            );
          }
          yield { kind: "heartbeat", ...base(), revision };
          break;
        default:
          return fail("a message without an event");
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Left early (the consumer stopped) or failed a check: the call must not outlive us.
    reader.cancel("stop");
  }
}

/**
 * Watches one host until `signal` aborts: attempts one after another, with a `disconnected`
 * event and a jittered pause between them. Never throws for the host's sake; ends (returns) when
 * the signal aborts.
 */
export async function* watchHost(
  target: Target,
  pool: ChannelPool,
  options: ResolvedControllerOptions,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent, void, undefined> {
  const state: HostWatchState = { connected: false, everConnected: false };
  let failures = 0;
  while (!signal.aborted) {
    state.connected = false;
    const end = yield* attempt(target, pool, options, signal, state);
    if (end === undefined || signal.aborted) return;
    const wasConnected = state.connected;
    // A stream that delivered its snapshot was a success: the count starts again.
    failures = wasConnected ? 1 : failures + 1;
    const retryInMs = watchBackoffMs(failures, options);
    yield {
      kind: "disconnected",
      host: target.fqdn,
      address: formatHostPort(target.address),
      time: new Date(),
      ...end,
      wasConnected,
      failures,
      retryInMs,
    };
    try {
      await options.delay(retryInMs, signal);
    } catch {
      return; // aborted
    }
  }
}

/**
 * Watches every target; yields each host's events as they come, one stream per host (no
 * throttle: a watch holds its stream for as long as it runs). Runs until `signal` aborts — then
 * the iteration throws the signal's reason — or until the consumer leaves the loop, which closes
 * every stream.
 */
export async function* watchFleet(
  targets: readonly Target[],
  pool: ChannelPool,
  options: ResolvedControllerOptions,
  signal?: AbortSignal,
): AsyncGenerator<WatchEvent, void, undefined> {
  signal?.throwIfAborted();
  const run = new AbortController();
  // Each host's open stream listens to this signal.
  setMaxListeners(0, run.signal);
  const onAbort = () => run.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    yield* mergeSources(
      targets.map((target) => watchHost(target, pool, options, run.signal)),
      run.signal,
    );
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!run.signal.aborted) run.abort(new Error("watch abandoned"));
  }
}
