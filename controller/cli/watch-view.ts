/**
 * What `wmsctl watch` knows of the fleet and how it prints it: each host's connection and
 * sessions, brought up to date by the controller's watch events, as `ndjson` records (one a
 * line, one per session change) or as a live table for a terminal (with the latest events under
 * it). Pure: the command owns the clock, the timers and the terminal.
 */
import type { Session, SessionChange } from "../../proto/gen/wms/v1/wms_session.js";
import { ChangeKind } from "../../proto/gen/wms/v1/wms_session.js";
import type { WatchEvent } from "../watch.js";
import { sessionView, type SessionView } from "./report.js";
import { formatSeconds, formatTable, idleCell } from "./table.js";

/** How many of the latest events the table shows under it. */
export const RECENT_EVENTS = 6;

/** A host's connection as the table shows it. */
export type HostState =
  "connecting" | "connected" | "ended" | "failed" | "denied" | "unreachable" | "timeout";

/** One `ndjson` line of `wmsctl watch`. */
export type WatchRecord =
  | { time: string; host: string; event: "connected"; reconnected: boolean }
  | {
      time: string;
      host: string;
      event: "snapshot";
      cause: string;
      revision: number;
      sessions: SessionView[];
    }
  | {
      time: string;
      host: string;
      event: "added" | "changed" | "removed";
      revision: number;
      session: SessionView;
      /** `changed`: the fields that changed, as they were before. */
      was?: Partial<SessionView>;
    }
  | {
      time: string;
      host: string;
      event: "disconnected";
      status: string;
      code: string;
      message: string;
      retryInMs: number;
    };

interface HostView {
  state: HostState;
  sessions: Map<number, Session>;
  /** The status and code of the last `disconnected` printed, so that a retry that fails the same way is not a new line. */
  lastFailure: string | undefined;
}

const CHANGE_EVENTS: Readonly<Record<number, "added" | "changed" | "removed">> = {
  [ChangeKind.ADDED]: "added",
  [ChangeKind.CHANGED]: "changed",
  [ChangeKind.REMOVED]: "removed",
};

/** The fields of a session view that may change, compared to say what did. */
const COMPARED: readonly (keyof SessionView)[] = [
  "state",
  "userName",
  "domainName",
  "stationName",
  "clientName",
  "logonTime",
  "lastInputTime",
  "locked",
  "protection",
  "note",
];

const who = (s: SessionView) =>
  s.userName === "" ? "" : s.domainName === "" ? s.userName : `${s.domainName}\\${s.userName}`;

/** The fleet as the watch has seen it so far. */
export class WatchView {
  readonly #hosts = new Map<string, HostView>();
  readonly #recent: string[] = [];
  readonly #order: readonly string[];

  /** @param hosts the targets, in the order the table lists them */
  constructor(hosts: readonly string[]) {
    this.#order = hosts;
    for (const host of hosts) {
      this.#hosts.set(host, { state: "connecting", sessions: new Map(), lastFailure: undefined });
    }
  }

  /**
   * Applies one event; returns the `ndjson` records it makes (none for a heartbeat, nor for a
   * retry that failed as the one before it did).
   */
  apply(event: WatchEvent, nowMs: number): WatchRecord[] {
    const view = this.#host(event.host);
    const time = event.time.toISOString();
    const host = event.host;
    switch (event.kind) {
      case "connected":
        view.state = "connected";
        view.lastFailure = undefined;
        if (event.reconnected) this.#note(event.time, host, "connected again");
        return [{ time, host, event: "connected", reconnected: event.reconnected }];
      case "snapshot":
        view.sessions = new Map(event.sessions.map((s) => [s.sessionId, s]));
        if (event.cause === "resync") this.#note(event.time, host, "resynchronised");
        return [
          {
            time,
            host,
            event: "snapshot",
            cause: event.cause,
            revision: event.revision,
            sessions: event.sessions.map((s) => sessionView(s, nowMs, true)),
          },
        ];
      case "changes":
        return event.changes.flatMap((change) =>
          this.#change(view, host, event.time, change, nowMs),
        );
      case "heartbeat":
        return [];
      case "disconnected": {
        view.state = event.status;
        const failure = `${event.status} ${event.code}`;
        if (!event.wasConnected && view.lastFailure === failure) return [];
        view.lastFailure = failure;
        const retry = formatSeconds(Math.max(1, Math.round(event.retryInMs / 1000)));
        this.#note(
          event.time,
          host,
          event.status === "ended"
            ? `${event.message}; reconnecting in ${retry}`
            : `${event.status}: ${event.code}: ${event.message}; retrying in ${retry}`,
        );
        return [
          {
            time,
            host,
            event: "disconnected",
            status: event.status,
            code: event.code,
            message: event.message,
            retryInMs: event.retryInMs,
          },
        ];
      }
    }
  }

  /** How many hosts are in each state, in words: `2 connected, 1 unreachable`. */
  hostSummary(): string {
    const tally = new Map<HostState, number>();
    for (const view of this.#hosts.values())
      tally.set(view.state, (tally.get(view.state) ?? 0) + 1);
    return [...tally].map(([state, n]) => `${n} ${state}`).join(", ");
  }

  /** Sessions known now, over all hosts. */
  sessionCount(): number {
    let n = 0;
    for (const view of this.#hosts.values()) n += view.sessions.size;
    return n;
  }

  /**
   * The screen: a status line, the sessions table (cut to fit `rows` lines, with a note of what
   * was left out) and the latest events; every line cut to `columns`.
   */
  render(nowMs: number, rows = 50, columns = 200): string {
    const header = `${this.#order.length} host${this.#order.length === 1 ? "" : "s"}: ${this.hostSummary()} · ${this.sessionCount()} sessions · ${new Date(nowMs).toLocaleTimeString()} · Ctrl-C to stop`;
    const tableRows: string[][] = [];
    for (const host of this.#order) {
      const view = this.#host(host);
      if (view.sessions.size === 0 && view.state !== "connected") {
        tableRows.push([host, "", `(${view.state})`, "", "", "", "", ""]);
        continue;
      }
      const sessions = [...view.sessions.values()].sort((a, b) => a.sessionId - b.sessionId);
      for (const session of sessions) {
        const s = sessionView(session, nowMs, true);
        tableRows.push([
          view.state === "connected" ? host : `${host} (${view.state})`,
          String(s.sessionId),
          s.state,
          who(s),
          s.stationName,
          s.clientName,
          idleCell(s),
          s.locked ? "locked" : "",
        ]);
      }
    }
    // The last line stays free for the cursor; the table gets at least two thirds of the rest.
    const budget = Math.max(4, rows - 1);
    let count = Math.floor((budget - 1) / 3);
    if (budget - 2 - count < 2) count = 0;
    const events = count === 0 ? [] : this.#recent.slice(-count);
    const recent = events.length === 0 ? [] : ["", ...events];
    const room = Math.max(2, budget - 1 - recent.length);
    const table = formatTable(
      ["HOST", "ID", "STATE", "USER", "STATION", "CLIENT", "IDLE", "LOCKED"],
      tableRows,
    )
      .trimEnd()
      .split("\n");
    const shown =
      table.length <= room
        ? table
        : [
            ...table.slice(0, room - 1),
            `… ${table.length - room + 1} more sessions (wmsctl watch -o ndjson shows every change)`,
          ];
    return [header, ...shown, ...recent]
      .map((line) => ([...line].length > columns ? [...line].slice(0, columns).join("") : line))
      .join("\n");
  }

  #host(host: string): HostView {
    let view = this.#hosts.get(host);
    if (view === undefined) {
      view = { state: "connecting", sessions: new Map(), lastFailure: undefined };
      this.#hosts.set(host, view);
    }
    return view;
  }

  #change(
    view: HostView,
    host: string,
    at: Date,
    change: SessionChange,
    nowMs: number,
  ): WatchRecord[] {
    const event = CHANGE_EVENTS[change.kind];
    const session = change.session;
    if (event === undefined || session === undefined) return [];
    const before = view.sessions.get(session.sessionId);
    if (event === "removed") view.sessions.delete(session.sessionId);
    else view.sessions.set(session.sessionId, session);
    const now = sessionView(session, nowMs, true);
    const record: WatchRecord = {
      time: at.toISOString(),
      host,
      event,
      revision: change.revision,
      session: now,
    };
    let what: string = event;
    if (event === "changed" && before !== undefined) {
      const old = sessionView(before, nowMs, true);
      const was: Partial<Record<keyof SessionView, unknown>> = {};
      for (const key of COMPARED) if (old[key] !== now[key]) was[key] = old[key];
      record.was = was as Partial<SessionView>;
      what = Object.keys(was)
        .map((key) =>
          key === "state"
            ? `${old.state} → ${now.state}`
            : key === "locked"
              ? now.locked
                ? "locked"
                : "unlocked"
              : `${key} changed`,
        )
        .join(", ");
    }
    const user = who(now);
    this.#note(at, host, `session ${now.sessionId}${user === "" ? "" : ` ${user}`}: ${what}`);
    return [record];
  }

  #note(at: Date, host: string, text: string): void {
    this.#recent.push(`${at.toLocaleTimeString()}  ${host}  ${text}`);
    if (this.#recent.length > RECENT_EVENTS) this.#recent.shift();
  }
}
