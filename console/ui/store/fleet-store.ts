/**
 * The fleet as the page knows it: every host and every session, kept live from the console's
 * event stream (STYLE.md: state that arrives from the server lives in one store; views derive
 * from it). Events are queued as they arrive and applied together at most every
 * {@link BATCH_MS}, with one notification per batch, so a burst of a thousand changes costs one
 * render, not a thousand.
 */
import type { HostView, SessionView } from "../model.js";

/**
 * How long events wait to be applied together, in milliseconds: 100 ms keeps a change on screen
 * within a tenth of a second of its arrival (people read that as "at once") while 200 changes a
 * second become two renders, not two hundred.
 */
export const BATCH_MS = 100;

/**
 * Events waiting to be applied, at most: past this (a tab in the background for a long time, a
 * storm of changes) the queue is dropped and the page asks the console for the whole fleet again
 * ({@link FleetStoreOptions.onOverflow}), which costs less than catching up event by event.
 */
export const MAX_QUEUED_EVENTS = 50_000;

/** How long a changed row stays highlighted, in milliseconds. */
export const HIGHLIGHT_MS = 2_000;

/** Recent events kept per host for its page. */
export const MAX_RECENT_EVENTS_PER_HOST = 50;

/** A change of one session. */
export type SessionChange =
  | { readonly kind: "added" | "changed"; readonly session: SessionView }
  | { readonly kind: "removed"; readonly key: string; readonly sessionId: number };

/** A change to the fleet. */
export type FleetEvent =
  | { readonly kind: "host"; readonly host: HostView }
  | { readonly kind: "host-removed"; readonly host: string }
  | {
      /**
       * Changes of one host's sessions, in order; with `replace`, they are all its sessions
       * (a host that reconnected) and any other the store had is gone.
       */
      readonly kind: "sessions";
      readonly host: string;
      readonly replace: boolean;
      readonly changes: readonly SessionChange[];
    };

/** An event as a host's page lists it. */
export interface RecentEvent {
  readonly atMs: number;
  readonly text: string;
  /**
   * `status`: the host's (the console's history does not record it); `session`: a session's
   * change (the history records those); `list`: the whole list sent again.
   */
  readonly kind: "status" | "session" | "list";
}

/** Options of {@link FleetStore}. */
export interface FleetStoreOptions {
  /** The clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Called when the queue overflowed and was dropped: load the whole fleet again. */
  readonly onOverflow?: () => void;
}

/** The page's fleet: hosts, sessions, what changed lately. */
export class FleetStore {
  readonly #hosts = new Map<string, HostView>();
  readonly #sessions = new Map<string, SessionView>();
  readonly #byHost = new Map<string, Set<string>>();
  readonly #changedAt = new Map<string, number>();
  readonly #recent = new Map<string, RecentEvent[]>();
  readonly #listeners = new Set<() => void>();
  readonly #now: () => number;
  readonly #onOverflow: (() => void) | undefined;
  #queue: FleetEvent[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #version = 0;
  #sessionsVersion = 0;
  #sessionsChanged = false;
  #loaded = false;

  constructor(options: FleetStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#onOverflow = options.onOverflow;
  }

  /** Grows by one with every applied batch: views recompute what they derive when it moves. */
  get version(): number {
    return this.#version;
  }

  /**
   * Grows with every batch that changed a session (a host's status alone does not): what derives
   * from sessions only (the sessions table, sorted and filtered) is worked out again when it moves.
   */
  get sessionsVersion(): number {
    return this.#sessionsVersion;
  }

  /** Whether the whole fleet was loaded once. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Every host, in no particular order. */
  hosts(): IterableIterator<HostView> {
    return this.#hosts.values();
  }

  /** One host. */
  host(name: string): HostView | undefined {
    return this.#hosts.get(name);
  }

  /** Number of sessions in the fleet. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Every session of the fleet. */
  sessions(): IterableIterator<SessionView> {
    return this.#sessions.values();
  }

  /** The sessions of one host. */
  sessionsOf(host: string): SessionView[] {
    const keys = this.#byHost.get(host);
    if (keys === undefined) return [];
    const found: SessionView[] = [];
    for (const key of keys) {
      const session = this.#sessions.get(key);
      if (session !== undefined) found.push(session);
    }
    return found;
  }

  /** One session. */
  session(key: string): SessionView | undefined {
    return this.#sessions.get(key);
  }

  /** When the session (or host) of `key` changed, if it did in the last {@link HIGHLIGHT_MS}. */
  changedAt(key: string): number | undefined {
    const at = this.#changedAt.get(key);
    if (at === undefined) return undefined;
    if (this.#now() - at > HIGHLIGHT_MS) {
      this.#changedAt.delete(key);
      return undefined;
    }
    return at;
  }

  /** Whether anything is highlighted now (a view re-renders to let highlights fade). */
  get highlighting(): boolean {
    const now = this.#now();
    for (const [key, at] of this.#changedAt) {
      if (now - at <= HIGHLIGHT_MS) return true;
      this.#changedAt.delete(key);
    }
    return false;
  }

  /** The host's latest events, newest first. */
  recentEvents(host: string): readonly RecentEvent[] {
    return this.#recent.get(host) ?? [];
  }

  /** Calls `listener` after every applied batch; returns the function that stops it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Replaces the whole fleet (the event stream's `snapshot`, or the answers of `GET
   * /api/v1/hosts` and `GET /api/v1/sessions`), dropping queued events that the load already
   * holds. Applied at once.
   */
  load(hosts: readonly HostView[], sessions: readonly SessionView[]): void {
    this.#queue = [];
    this.#hosts.clear();
    this.#sessions.clear();
    this.#byHost.clear();
    for (const host of hosts) this.#hosts.set(host.name, host);
    for (const session of sessions) this.#put(session);
    this.#loaded = true;
    this.#sessionsChanged = true;
    this.#publish();
  }

  /** Queues an event; it is applied with the others of its batch. */
  enqueue(event: FleetEvent): void {
    if (this.#queue.length >= MAX_QUEUED_EVENTS) {
      this.#queue = [];
      this.#onOverflow?.();
      return;
    }
    this.#queue.push(event);
    this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Applies every queued event now, and notifies once. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    const now = this.#now();
    for (const event of queue) this.#apply(event, now);
    this.#publish();
  }

  /** Stops the batch timer (the page is going away). */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#listeners.clear();
  }

  #publish(): void {
    this.#version += 1;
    if (this.#sessionsChanged) this.#sessionsVersion += 1;
    this.#sessionsChanged = false;
    for (const listener of this.#listeners) listener();
  }

  #put(session: SessionView): void {
    this.#sessions.set(session.key, session);
    let keys = this.#byHost.get(session.host);
    if (keys === undefined) {
      keys = new Set();
      this.#byHost.set(session.host, keys);
    }
    keys.add(session.key);
  }

  #remove(key: string, host: string): void {
    this.#sessions.delete(key);
    this.#byHost.get(host)?.delete(key);
  }

  #note(host: string, atMs: number, text: string, kind: RecentEvent["kind"] = "session"): void {
    let list = this.#recent.get(host);
    if (list === undefined) {
      list = [];
      this.#recent.set(host, list);
    }
    list.unshift({ atMs, text, kind });
    if (list.length > MAX_RECENT_EVENTS_PER_HOST) list.length = MAX_RECENT_EVENTS_PER_HOST;
  }

  #touchHost(name: string, now: number): void {
    const host = this.#hosts.get(name);
    if (host !== undefined && (host.lastChangeMs ?? 0) < now) {
      this.#hosts.set(name, { ...host, lastChangeMs: now });
    }
  }

  #apply(event: FleetEvent, now: number): void {
    switch (event.kind) {
      case "host": {
        const before = this.#hosts.get(event.host.name);
        this.#hosts.set(event.host.name, {
          ...event.host,
          lastChangeMs: event.host.lastChangeMs ?? before?.lastChangeMs,
        });
        if (before?.status !== event.host.status) {
          this.#changedAt.set(event.host.name, now);
          const why = event.host.reason === undefined ? "" : `: ${event.host.reason}`;
          this.#note(event.host.name, now, `status ${event.host.status}${why}`, "status");
        }
        return;
      }
      case "host-removed": {
        this.#sessionsChanged = true;
        for (const session of this.sessionsOf(event.host)) this.#remove(session.key, event.host);
        this.#hosts.delete(event.host);
        this.#byHost.delete(event.host);
        return;
      }
      case "sessions": {
        const { host } = event;
        this.#sessionsChanged = true;
        if (event.replace) {
          const fresh = new Set(
            event.changes.flatMap((change) =>
              change.kind === "removed" ? [] : [change.session.key],
            ),
          );
          for (const session of this.sessionsOf(host)) {
            if (!fresh.has(session.key)) this.#remove(session.key, host);
          }
          this.#note(host, now, `${fresh.size} sessions (the whole list, again)`, "list");
        }
        for (const change of event.changes) {
          if (change.kind === "removed") {
            const before = this.#sessions.get(change.key);
            this.#remove(change.key, host);
            const who = before === undefined || before.user === "" ? "" : ` (${before.user})`;
            if (!event.replace) this.#note(host, now, `session ${change.sessionId}${who} ended`);
            continue;
          }
          const { session } = change;
          const before = this.#sessions.get(session.key);
          this.#put(session);
          if (before !== undefined && sameSession(before, session)) continue;
          this.#changedAt.set(session.key, now);
          if (event.replace) continue;
          const who = session.user === "" ? "" : ` (${session.user})`;
          this.#note(
            host,
            now,
            before === undefined
              ? `session ${session.sessionId}${who} started, ${session.state}`
              : describeChange(before, session),
          );
        }
        this.#touchHost(host, now);
        return;
      }
    }
  }
}

/** Whether two versions of a session show the same thing. */
function sameSession(a: SessionView, b: SessionView): boolean {
  return (
    a.state === b.state &&
    a.user === b.user &&
    a.locked === b.locked &&
    a.lastInputMs === b.lastInputMs &&
    a.station === b.station &&
    a.client === b.client &&
    a.protection === b.protection
  );
}

/** What changed in a session, in words. */
function describeChange(before: SessionView, after: SessionView): string {
  const who = after.user === "" ? "" : ` (${after.user})`;
  const parts: string[] = [];
  if (before.state !== after.state) parts.push(`${before.state} → ${after.state}`);
  if (before.user !== after.user) parts.push(`user ${before.user || "none"} → ${after.user}`);
  if (before.locked !== after.locked) parts.push(after.locked ? "locked" : "unlocked");
  if (before.lastInputMs !== after.lastInputMs && parts.length === 0) parts.push("input");
  return `session ${after.sessionId}${who}: ${parts.join(", ") || "changed"}`;
}
