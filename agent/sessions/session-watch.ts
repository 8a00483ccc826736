/**
 * `WatchSessions`: one view of the host's sessions per agent, and every watcher told what changed
 * (DESIGN section 8).
 *
 * The hub lists the sessions when the backend says they may have changed (`watchChanges`), and
 * every `rescanIntervalMs` in case it did not (the only source for a backend without events);
 * listings that would overlap are coalesced into one more. Each listing is compared with the view:
 * every session that appeared, changed (anything but its idle time, which the reader computes from
 * `last_input_time`) or went away is a change with the next revision, sent to every watcher at
 * once as one message.
 *
 * A watcher first gets a snapshot, then changes, and a heartbeat after an interval in which it was
 * sent nothing. A watcher whose stream cannot take more (its write buffer is full: `write()`
 * returned false) is not sent the changes it cannot take; once the stream drains it gets a fresh
 * snapshot (`RESYNC`) instead, so a slow watcher costs a bounded buffer, never a growing queue.
 */
import { status as Status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  ChangeKind,
  SnapshotReason,
  type Session,
  type SessionChange,
  type WatchSessionsResponse,
} from "../../proto/gen/wms/v1/wms_session.js";
import type { BackendSession } from "./backend.js";
import type { CallerProcess, ProtectionContext } from "./protection.js";
import { RpcError } from "../server/rpc-error.js";
import { toProtoSession } from "./session-service.js";

/**
 * Most watchers at once, agent-wide.
 * @default 256 — a console and dozens of `wmsctl watch` fit; each holds a stream and a write
 *   buffer of at most 16 messages
 */
export const DEFAULT_MAX_WATCHERS = 256;

/**
 * Milliseconds of silence after which a watcher is sent a heartbeat.
 * @default 15000 — well inside the idle timeouts of proxies and load balancers (60 s and more),
 *   often enough for a client to notice a dead agent in half a minute
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;

/**
 * Milliseconds between listings made whether or not the backend reported a change: the safety net
 * for changes a backend misses, and the only source for one without events.
 * @default 30000 — a missed change is seen within half a minute; a listing costs the session
 *   manager a few milliseconds
 */
export const DEFAULT_RESCAN_INTERVAL_MS = 30_000;

/** One view serves every watcher: the rules that depend on the caller (3 and 4) are left out. */
const REMOTE: CallerProcess = { kind: "remote" };

/** Where a watcher's messages go: the server stream of one `WatchSessions` call. */
export interface WatchSink {
  /** Writes one message; `false` when the stream's buffer is full (the message is kept). */
  write(message: WatchSessionsResponse): boolean;
  /** Calls `callback` once, when the buffer has room again. */
  onDrain(callback: () => void): void;
  /** Ends the stream cleanly (status OK), after what it holds. */
  end(): void;
  /**
   * Ends a stream whose reader takes nothing (its buffer full), without waiting for it. Optional:
   * without it such a stream ends when its reader reads or goes away.
   */
  cut?(): void;
}

/** What the hub needs of the agent. */
export interface SessionWatchOptions {
  /** Lists the sessions; rejects (an `RpcError` `UNAVAILABLE`) when the backend cannot. */
  readonly list: () => Promise<BackendSession[]>;
  /** The backend's news of changes, if it has any (`SessionBackend.watchChanges`). */
  readonly watchChanges?: ((listener: () => void) => () => void) | undefined;
  /** The agent's own session, for the protection shown (rules 1 and 2 only). */
  readonly agentSessionId: () => Promise<number>;
  /** The agent's host name, in every message. */
  readonly hostFqdn: string;
  /** @default {@link DEFAULT_MAX_WATCHERS} */
  readonly maxWatchers?: number;
  /** @default {@link DEFAULT_HEARTBEAT_INTERVAL_MS} */
  readonly heartbeatIntervalMs?: number;
  /** @default {@link DEFAULT_RESCAN_INTERVAL_MS} */
  readonly rescanIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Counters of the hub, for logs, tests and the benchmark. */
export interface WatchStats {
  readonly watchers: number;
  /** The revision of the view: the number of changes seen since the agent started. */
  readonly revision: number;
  readonly listings: number;
  /** Snapshots sent to watchers that had fallen behind. */
  readonly resyncs: number;
  /** Watchers whose buffer is full now. */
  readonly behind: number;
}

/** The watch of one agent. */
export interface SessionWatchHub {
  /**
   * Adds a watcher and sends it the snapshot. Resolves to the function that removes it (call it
   * when the stream closes; calling it twice is harmless).
   * @throws RpcError `RESOURCE_EXHAUSTED` beyond the watcher limit, `UNAVAILABLE` while the
   *   backend cannot list its sessions or the agent is shutting down.
   */
  watch(sink: WatchSink): Promise<() => void>;
  /** Lists the sessions now (as if the backend had reported a change); resolves when applied. */
  refresh(): Promise<void>;
  stats(): WatchStats;
  /** Ends every watch and refuses new ones: the agent is shutting down. */
  close(): void;
}

interface Watcher {
  readonly sink: WatchSink;
  /** Its snapshot was sent: changes may follow. */
  ready: boolean;
  /** Its buffer is full: nothing is written until it drains. */
  behind: boolean;
  /** Changes were withheld while it was behind: it needs a snapshot. */
  missed: boolean;
  /** Something was written since the last heartbeat tick. */
  sent: boolean;
}

/** Creates the hub; it lists nothing until the first watcher comes. */
export function createSessionWatchHub(options: SessionWatchOptions): SessionWatchHub {
  const maxWatchers = options.maxWatchers ?? DEFAULT_MAX_WATCHERS;
  const heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const rescanMs = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const { hostFqdn } = options;
  const watchers = new Set<Watcher>();
  let view: Map<number, BackendSession> | undefined;
  let protection: ProtectionContext | undefined;
  let revision = 0;
  let listings = 0;
  let resyncs = 0;
  let closed = false;
  let refreshing: Promise<void> | undefined;
  let dirty = false;
  let running: { stop: () => void } | undefined;
  let starting: Promise<void> | undefined;

  const proto = (session: BackendSession, nowMs: number): Session =>
    toProtoSession(
      session,
      protection ?? { agentSessionId: 0, caller: REMOTE, requestCallerSessionId: undefined },
      nowMs,
    );

  const snapshot = (reason: SnapshotReason): WatchSessionsResponse => {
    const nowMs = now();
    return {
      host: hostFqdn,
      revision,
      event: {
        $case: "snapshot",
        value: { sessions: [...(view?.values() ?? [])].map((s) => proto(s, nowMs)), reason },
      },
    };
  };

  /** Writes to one watcher, minding its buffer: once it is full, the watcher is behind. */
  const send = (watcher: Watcher, message: WatchSessionsResponse): void => {
    watcher.sent = true;
    if (watcher.sink.write(message)) return;
    watcher.behind = true;
    watcher.sink.onDrain(() => {
      if (!watchers.has(watcher)) return;
      watcher.behind = false;
      if (watcher.missed) {
        watcher.missed = false;
        resyncs++;
        send(watcher, snapshot(SnapshotReason.RESYNC));
      }
    });
  };

  const broadcast = (message: WatchSessionsResponse): void => {
    for (const watcher of watchers) {
      if (!watcher.ready) continue;
      if (watcher.behind) watcher.missed = true;
      else send(watcher, message);
    }
  };

  /**
   * Compares a listing with the view, advances the revision and tells every watcher. The first
   * listing of a view is no change: it makes the view, under a revision of its own (a view made
   * again after a time without watchers never shows its contents under an old revision).
   */
  const apply = (sessions: readonly BackendSession[]): void => {
    const next = new Map(sessions.map((s) => [s.sessionId, s]));
    const previous = view;
    if (previous === undefined) {
      view = next;
      revision++;
      return;
    }
    const ids = [...new Set([...previous.keys(), ...next.keys()])].sort((a, b) => a - b);
    const nowMs = now();
    const changes: SessionChange[] = [];
    for (const id of ids) {
      const before = previous.get(id);
      const after = next.get(id);
      let kind: ChangeKind | undefined;
      if (before === undefined) kind = ChangeKind.ADDED;
      else if (after === undefined) kind = ChangeKind.REMOVED;
      else if (!sameSession(before, after)) kind = ChangeKind.CHANGED;
      const session = after ?? before;
      if (kind === undefined || session === undefined) continue;
      changes.push({ kind, session: proto(session, nowMs), revision: ++revision });
    }
    view = next;
    if (changes.length === 0) return;
    broadcast({ host: hostFqdn, revision, event: { $case: "changes", value: { changes } } });
  };

  const refresh = (): Promise<void> => {
    if (refreshing !== undefined) {
      dirty = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        do {
          dirty = false;
          const sessions = await options.list();
          listings++;
          // The last watcher may have gone meanwhile: then there is no view to keep.
          if (running !== undefined) apply(sessions);
        } while (dirty && !closed && running !== undefined);
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  };

  const onChange = () => {
    refresh().catch((error: unknown) =>
      options.logger?.warn({ err: error }, "watch: the sessions could not be listed"),
    );
  };

  /** Listens to the backend and starts the timers, for the first watcher. */
  const start = (): { stop: () => void } => {
    const unsubscribe = options.watchChanges?.(() => {
      options.logger?.debug("watch: the backend reported a change");
      onChange();
    });
    const rescan = setInterval(onChange, rescanMs);
    rescan.unref();
    const heartbeat = setInterval(() => {
      for (const watcher of watchers) {
        if (watcher.ready && !watcher.sent && !watcher.behind) {
          send(watcher, {
            host: hostFqdn,
            revision,
            event: { $case: "heartbeat", value: { time: new Date(now()) } },
          });
        }
        watcher.sent = false;
      }
    }, heartbeatMs);
    heartbeat.unref();
    return {
      stop() {
        unsubscribe?.();
        clearInterval(rescan);
        clearInterval(heartbeat);
      },
    };
  };

  /** The view, made by the first watcher (who also starts the listening and the timers). */
  const ensureView = async (): Promise<void> => {
    if (view !== undefined) return;
    starting ??= (async () => {
      try {
        const agentSessionId = await options.agentSessionId();
        protection = { agentSessionId, caller: REMOTE, requestCallerSessionId: undefined };
        running ??= start();
        await refresh();
      } finally {
        starting = undefined;
      }
    })();
    await starting;
  };

  const remove = (watcher: Watcher): void => {
    if (!watchers.delete(watcher)) return;
    if (watchers.size === 0 && running !== undefined) {
      running.stop();
      running = undefined;
      view = undefined;
    }
  };

  return {
    async watch(sink) {
      if (closed) {
        throw new RpcError(Status.UNAVAILABLE, "wms-agent is shutting down; watch another time");
      }
      if (watchers.size >= maxWatchers) {
        throw new RpcError(
          Status.RESOURCE_EXHAUSTED,
          `too many watchers (limit ${maxWatchers}); retry later`,
        );
      }
      const watcher: Watcher = { sink, ready: false, behind: false, missed: false, sent: false };
      watchers.add(watcher);
      try {
        await ensureView();
      } catch (error) {
        remove(watcher);
        throw error;
      }
      // Closed (or the view dropped) while the view was being made: the stream was ended.
      if (!watchers.has(watcher) || view === undefined) return () => remove(watcher);
      watcher.ready = true;
      send(watcher, snapshot(SnapshotReason.INITIAL));
      return () => remove(watcher);
    },
    refresh,
    stats: () => ({
      watchers: watchers.size,
      revision,
      listings,
      resyncs,
      behind: [...watchers].filter((w) => w.behind).length,
    }),
    close() {
      closed = true;
      running?.stop();
      running = undefined;
      for (const watcher of watchers) {
        watcher.sink.end();
        if (watcher.behind) watcher.sink.cut?.();
      }
      watchers.clear();
      view = undefined;
    },
  };
}

/** Whether two listings of a session differ in anything a watcher is told (idle time aside). */
function sameSession(a: BackendSession, b: BackendSession): boolean {
  return (
    a.state === b.state &&
    a.userName === b.userName &&
    a.domainName === b.domainName &&
    a.stationName === b.stationName &&
    a.clientName === b.clientName &&
    a.locked === b.locked &&
    a.logonTime?.getTime() === b.logonTime?.getTime() &&
    a.lastInputTime?.getTime() === b.lastInputTime?.getTime() &&
    a.note === b.note &&
    a.groups?.join("\n") === b.groups?.join("\n")
  );
}
