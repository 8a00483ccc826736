/** The columns of a session table and how each sorts. */
import { Abridged } from "../components/abridged.js";
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
      cell: (s, place) => <SessionGroups session={s} active={place.active} />,
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

/**
 * A session's groups: one as it is; more (two seldom fit the column) as the first few and how many
 * more, all of them behind a disclosure that floats over the rows below (the row keeps its
 * height); `unknown`, with the agent's note behind the disclosure, when the agent could not read
 * them. Only the active row's disclosure is in the tab order (the grid is one tab stop).
 */
function SessionGroups(props: { readonly session: SessionView; readonly active: boolean }) {
  const { groups, note } = props.session;
  const user = qualifiedUser(props.session);
  if (groups === null) {
    if (note === undefined) return <span class="muted">unknown</span>;
    const short = (
      <>
        <span class="muted">unknown</span> <span class="more">(why?)</span>
      </>
    );
    return (
      <Abridged
        floating
        tabbable={props.active}
        short={short}
        wholeLabel={`Why the groups of ${user} are unknown`}
      >
        {note}
      </Abridged>
    );
  }
  if (groups.length <= 1) return <>{groups.join(", ")}</>;
  const more = groups.length - GROUPS_SHOWN;
  const short = (
    <>
      <span class="first">{groups.slice(0, GROUPS_SHOWN).join(", ")}</span>
      {more > 0 && (
        <>
          {" "}
          <span class="more">+{more} more</span>
        </>
      )}
    </>
  );
  return (
    <Abridged
      floating
      tabbable={props.active}
      short={short}
      wholeLabel={`All ${groups.length} groups of ${user}`}
    >
      <ul>
        {groups.map((group) => (
          <li key={group}>{group}</li>
        ))}
      </ul>
    </Abridged>
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
