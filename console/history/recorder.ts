/**
 * The session history (DESIGN section 10): every session change the fleet model sees — logon,
 * logoff, connect, disconnect, lock, unlock, and idle time crossing a threshold the policies use —
 * written to the store in batches (one transaction per {@link HistoryRecorderOptions.flushMs} or
 * per {@link MAX_HISTORY_BATCH} changes, never one per change).
 *
 * The recorder keeps its own view of each host's sessions and records the differences. A host
 * that goes offline records nothing (the fleet forgets its sessions, but nobody logged off); when
 * it comes back, its snapshot is compared with what the recorder knew, so a logoff that happened
 * meanwhile is recorded then (at the time it was seen). A session seen for the first time (at
 * start-up, or a host added) is recorded as a logon at its logon time when the agent gives one.
 *
 * It also answers since when a session has been disconnected ({@link disconnectedSince}): the
 * time it saw the change, or, when it never saw the session connected, the time it first saw it
 * disconnected — never earlier than the truth, so a policy's "disconnected for at least" never
 * acts early.
 */
import type { Logger } from "pino";
import type { ApiEvent, ApiHost, ApiSession, ApiSessionChange } from "../api/types.js";
import type { Fleet } from "../fleet/fleet.js";
import type { ConsoleStore, HistoryKind, NewHistoryEvent } from "../store/store.js";

/** Milliseconds between two writes of the changes gathered: 1 s keeps the history current. */
export const DEFAULT_HISTORY_FLUSH_MS = 1000;
/**
 * Changes written in one transaction at most; a larger burst is written in several, with the
 * event loop let go between two. A thousand take 10 to 60 ms on a busy two-core machine
 * (`npm run bench:history`): larger batches gain little and hold requests up longer.
 */
export const MAX_HISTORY_BATCH = 1000;
/**
 * Changes kept in memory while the store cannot take them (a full disk): beyond, the oldest are
 * dropped and counted in the log. 200,000 changes are about 40 MB: a whole fleet's busy hour.
 */
export const MAX_PENDING_HISTORY = 200_000;
/** Milliseconds between two looks at idle times (idle crossing a threshold is no change). */
export const IDLE_CHECK_MS = 15_000;

/** Options of {@link createHistoryRecorder}. */
export interface HistoryRecorderOptions {
  readonly store: ConsoleStore;
  readonly fleet: Fleet;
  readonly logger: Logger;
  /** The idle thresholds the policies use, in milliseconds (asked at each idle check). */
  readonly idleThresholdsMs?: () => readonly number[];
  /** @default {@link DEFAULT_HISTORY_FLUSH_MS} */
  readonly flushMs?: number;
  /** Wall clock, ms. @default Date.now */
  readonly now?: () => number;
  /** Start the flush and idle timers. @default true (tests call flush and checkIdle) */
  readonly timers?: boolean;
}

/** The history recorder. */
export interface HistoryRecorder {
  /**
   * Since when (Unix ms) the session has been disconnected, as far as the console knows;
   * undefined when it is not disconnected or the console has not seen it.
   */
  disconnectedSince(host: string, sessionId: number): number | undefined;
  /** Records idle thresholds crossed since the last look. */
  checkIdle(): void;
  /** Writes what is gathered. */
  flush(): Promise<void>;
  /** Stops listening and the timers, and writes what is gathered. */
  close(): Promise<void>;
}

/** What the recorder remembers of a session. */
interface Known {
  user: string;
  state: string;
  locked: boolean;
  logonTime: string | null;
  lastInputTime: string | null;
  disconnectedSince: number | undefined;
  /** Idle thresholds already recorded since the last input. */
  idleRecorded: Set<number>;
}

/** `DOMAIN\user`, or the user name alone. */
export const userOf = (session: Pick<ApiSession, "user" | "domain">) =>
  session.user === ""
    ? ""
    : session.domain === ""
      ? session.user
      : `${session.domain}\\${session.user}`;

/** A duration in words for the `idle` change's detail: `30m`, `1h30m`, `45s`. */
export function shortDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const parts: string[] = [];
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) parts.push(`${d}d`);
  if (h > 0) parts.push(`${h}h`);
  if (m > 0) parts.push(`${m}m`);
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join("");
}

/** Starts recording the fleet's changes. */
export function createHistoryRecorder(options: HistoryRecorderOptions): HistoryRecorder {
  const { store, fleet, logger } = options;
  const now = options.now ?? Date.now;
  const hosts = new Map<string, Map<number, Known>>();
  /** A snapshot (or an emptied host) waits for the host's next status: applied only if online. */
  const pendingReplace = new Map<string, readonly ApiSessionChange[]>();
  let pending: NewHistoryEvent[] = [];
  let dropped = 0;
  let writing: Promise<void> = Promise.resolve();

  const record = (
    time: number,
    host: string,
    sessionId: number,
    user: string,
    kind: HistoryKind,
    detail = "",
  ) => {
    pending.push({ time: new Date(time), host, sessionId, user, kind, detail });
    if (pending.length > MAX_PENDING_HISTORY) {
      const excess = pending.length - MAX_PENDING_HISTORY;
      pending.splice(0, excess);
      dropped += excess;
    }
  };

  const remember = (session: ApiSession, time: number, before?: Known): Known => ({
    user: userOf(session),
    state: session.state,
    locked: session.locked,
    logonTime: session.logonTime,
    lastInputTime: session.lastInputTime,
    disconnectedSince:
      session.state !== "DISCONNECTED" ? undefined : (before?.disconnectedSince ?? time),
    idleRecorded:
      before !== undefined && before.lastInputTime === session.lastInputTime
        ? before.idleRecorded
        : new Set(),
  });

  /** Records what changed from `before` to `session` (undefined: removed). */
  const compare = (
    host: string,
    sessionId: number,
    before: Known | undefined,
    session: ApiSession | undefined,
    time: number,
  ): Known | undefined => {
    if (session === undefined) {
      if (before !== undefined && before.user !== "") {
        record(time, host, sessionId, before.user, "logoff");
      }
      return undefined;
    }
    const user = userOf(session);
    const sameLogon =
      before !== undefined && before.user === user && before.logonTime === session.logonTime;
    if (!sameLogon) {
      if (before !== undefined && before.user !== "") {
        record(time, host, sessionId, before.user, "logoff");
      }
      if (user !== "") {
        // First sight of a logon made while the console did not watch: its real logon time.
        const logon = session.logonTime === null ? time : Date.parse(session.logonTime);
        record(Math.min(time, logon), host, sessionId, user, "logon", session.state);
      }
      return remember(session, time);
    }
    const known = remember(session, time, before);
    if (user !== "") {
      if (before.state !== "DISCONNECTED" && session.state === "DISCONNECTED") {
        known.disconnectedSince = time;
        record(time, host, sessionId, user, "disconnect");
      } else if (before.state === "DISCONNECTED" && session.state !== "DISCONNECTED") {
        record(time, host, sessionId, user, "connect", session.state);
      }
      if (!before.locked && session.locked) record(time, host, sessionId, user, "lock");
      if (before.locked && !session.locked) record(time, host, sessionId, user, "unlock");
    }
    return known;
  };

  const applyChanges = (host: string, changes: readonly ApiSessionChange[], replace: boolean) => {
    const time = now();
    let sessions = hosts.get(host);
    if (sessions === undefined) {
      sessions = new Map();
      hosts.set(host, sessions);
    }
    const seen = new Set<number>();
    for (const change of changes) {
      const id = change.kind === "removed" ? change.sessionId : change.session.sessionId;
      seen.add(id);
      const next = compare(
        host,
        id,
        sessions.get(id),
        change.kind === "removed" ? undefined : change.session,
        time,
      );
      if (next === undefined) sessions.delete(id);
      else sessions.set(id, next);
    }
    if (replace) {
      for (const [id, before] of [...sessions]) {
        if (seen.has(id)) continue;
        compare(host, id, before, undefined, time);
        sessions.delete(id);
      }
    }
  };

  const onHost = (host: ApiHost) => {
    const replace = pendingReplace.get(host.host);
    if (replace === undefined) return;
    pendingReplace.delete(host.host);
    if (host.status === "online") applyChanges(host.host, replace, true);
  };

  const onEvent = (event: ApiEvent) => {
    switch (event.type) {
      case "snapshot":
        break;
      case "host":
        onHost(event.host);
        break;
      case "host-removed":
        hosts.delete(event.host);
        pendingReplace.delete(event.host);
        break;
      case "sessions":
        if (event.replace) pendingReplace.set(event.host, event.changes);
        else applyChanges(event.host, event.changes, false);
        break;
    }
  };
  const unsubscribe = fleet.subscribe(onEvent);

  const checkIdle = () => {
    const thresholds = [...new Set(options.idleThresholdsMs?.() ?? [])]
      .filter((ms) => ms > 0)
      .sort((a, b) => a - b);
    if (thresholds.length === 0) return;
    const time = now();
    for (const [host, sessions] of hosts) {
      for (const [id, known] of sessions) {
        if (known.user === "" || known.lastInputTime === null) continue;
        const last = Date.parse(known.lastInputTime);
        for (const threshold of thresholds) {
          if (time - last < threshold) break;
          if (known.idleRecorded.has(threshold)) continue;
          known.idleRecorded.add(threshold);
          record(last + threshold, host, id, known.user, "idle", shortDuration(threshold));
        }
      }
    }
  };

  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      while (pending.length > 0) {
        const batch = pending.slice(0, MAX_HISTORY_BATCH);
        try {
          await store.appendHistory(batch);
        } catch (error) {
          logger.error({ err: error, waiting: pending.length }, "cannot write the session history");
          return;
        }
        pending = pending.slice(batch.length);
        // Let requests in between two batches: a burst never holds the event loop for long.
        if (pending.length > 0) await new Promise((resolve) => setImmediate(resolve));
      }
      if (dropped > 0) {
        logger.error({ dropped }, "session history changes dropped while the store failed");
        dropped = 0;
      }
    });
    return writing;
  };

  const timers = options.timers ?? true;
  const flushTimer = timers
    ? setInterval(() => void flush(), options.flushMs ?? DEFAULT_HISTORY_FLUSH_MS)
    : undefined;
  const idleTimer = timers ? setInterval(checkIdle, IDLE_CHECK_MS) : undefined;
  flushTimer?.unref();
  idleTimer?.unref();

  return {
    disconnectedSince: (host, sessionId) => hosts.get(host)?.get(sessionId)?.disconnectedSince,
    checkIdle,
    flush,
    async close() {
      unsubscribe();
      clearInterval(flushTimer);
      clearInterval(idleTimer);
      await flush();
    },
  };
}
