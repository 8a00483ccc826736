/** The columns of a session table and how each sorts. */
import type { Column } from "../components/data-grid.js";
import { SessionStateBadge } from "../components/status.js";
import { formatDuration, formatTime, compareText } from "../format.js";
import { idleMsAt, qualifiedUser, type SessionView } from "../model.js";

/** The session table's columns; `withHost` adds the host's (the fleet table has it). */
export function sessionColumns(nowMs: number, withHost: boolean): Column<SessionView>[] {
  const columns: Column<SessionView>[] = [
    {
      id: "host",
      header: "Host",
      width: "minmax(9rem, 1.4fr)",
      sortable: true,
      cell: (s) => (
        <a href={`#/hosts/${encodeURIComponent(s.host)}`} tabIndex={-1}>
          {s.host}
        </a>
      ),
    },
    {
      id: "id",
      header: "ID",
      width: "3.5rem",
      sortable: true,
      align: "end",
      cell: (s) => s.sessionId,
    },
    {
      id: "user",
      header: "User",
      width: "minmax(7rem, 1fr)",
      sortable: true,
      cell: (s) => qualifiedUser(s) || <span class="muted">—</span>,
    },
    {
      id: "groups",
      header: "Groups",
      width: "minmax(7rem, 1fr)",
      sortable: true,
      cell: (s) => <SessionGroups session={s} />,
    },
    {
      id: "state",
      header: "State",
      width: "8.5rem",
      sortable: true,
      cell: (s) => <SessionStateBadge state={s.state} />,
    },
    {
      id: "locked",
      header: "Locked",
      width: "4.5rem",
      sortable: true,
      cell: (s) => (s.locked ? "locked" : ""),
    },
    {
      id: "idle",
      header: "Idle",
      width: "6rem",
      sortable: true,
      align: "end",
      cell: (s) => formatDuration(idleMsAt(s, nowMs)),
    },
    {
      id: "station",
      header: "Station",
      width: "minmax(6rem, 0.8fr)",
      sortable: true,
      cell: (s) => s.station,
    },
    {
      id: "client",
      header: "Client",
      width: "minmax(6rem, 0.8fr)",
      sortable: true,
      cell: (s) => s.client,
    },
    {
      id: "logon",
      header: "Logon",
      width: "8.5rem",
      sortable: true,
      cell: (s) => formatTime(s.logonMs, nowMs),
    },
    {
      id: "protection",
      header: "Protection",
      width: "minmax(6rem, 0.8fr)",
      sortable: true,
      cell: (s) =>
        s.protection === undefined ? "" : <span class="protected">{s.protection}</span>,
    },
  ];
  return withHost ? columns : columns.filter((column) => column.id !== "host");
}

/** At most this many of a user's groups are named in the table; the rest are counted. */
const GROUPS_SHOWN = 2;

/** A session's groups: the first few and how many more (all of them in the tooltip). */
function SessionGroups(props: { session: SessionView }) {
  const { groups, note } = props.session;
  if (groups === null) {
    return (
      <span class="muted" title={note}>
        unknown
      </span>
    );
  }
  const shown = groups.slice(0, GROUPS_SHOWN).join(", ");
  const more = groups.length - GROUPS_SHOWN;
  return (
    <span title={groups.join("\n")}>
      {shown}
      {more > 0 ? <span class="muted"> +{more}</span> : null}
    </span>
  );
}

/** Compares two sessions by a column, for sorting. */
export function compareSessions(
  column: string,
  nowMs: number,
): (a: SessionView, b: SessionView) => number {
  const text = (f: (s: SessionView) => string) => (a: SessionView, b: SessionView) =>
    compareText(f(a), f(b));
  const number = (f: (s: SessionView) => number) => (a: SessionView, b: SessionView) => f(a) - f(b);
  const byKey: Readonly<Record<string, (a: SessionView, b: SessionView) => number>> = {
    host: text((s) => s.host),
    id: number((s) => s.sessionId),
    user: text((s) => qualifiedUser(s)),
    groups: text((s) => (s.groups === null ? "\uffff" : s.groups.join(","))),
    state: text((s) => s.state),
    locked: number((s) => Number(s.locked)),
    idle: number((s) => idleMsAt(s, nowMs) ?? -1),
    station: text((s) => s.station),
    client: text((s) => s.client),
    logon: number((s) => s.logonMs ?? 0),
    protection: text((s) => s.protection ?? ""),
  };
  const compare = byKey[column] ?? byKey["host"] ?? (() => 0);
  return (a, b) => compare(a, b) || compareText(a.host, b.host) || a.sessionId - b.sessionId;
}
