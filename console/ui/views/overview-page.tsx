/**
 * The fleet at a glance: how many hosts do not answer, then one row per host with its status (by
 * colour and by word), its sessions counted by state, its agent's version and its last change;
 * sorted by any column, searched by name.
 */
import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { DataGrid, type Column, type SortOrder } from "../components/data-grid.js";
import { HostStatusBadge } from "../components/status.js";
import { formatAgo, parseDuration, plural, compareText } from "../format.js";
import { useNow, useStoreVersion } from "../hooks.js";
import { HOST_STATUSES, idleMsAt, type HostView } from "../model.js";
import type { FleetStore } from "../store/fleet-store.js";

/** A host with its sessions counted. */
export interface HostRow extends HostView {
  readonly sessions: number;
  readonly active: number;
  readonly disconnected: number;
  readonly idle: number;
  readonly locked: number;
}

/** Counts each host's sessions; `idleMs` is the overview's "idle over N". */
export function hostRows(store: FleetStore, idleMs: number, nowMs: number): HostRow[] {
  const rows: HostRow[] = [];
  for (const host of store.hosts()) {
    let active = 0;
    let disconnected = 0;
    let idle = 0;
    let locked = 0;
    const sessions = store.sessionsOf(host.name);
    for (const session of sessions) {
      if (session.state === "ACTIVE") active += 1;
      if (session.state === "DISCONNECTED") disconnected += 1;
      if (session.locked) locked += 1;
      if (session.user !== "" && (idleMsAt(session, nowMs) ?? -1) >= idleMs) idle += 1;
    }
    rows.push({ ...host, sessions: sessions.length, active, disconnected, idle, locked });
  }
  return rows;
}

const severity = (row: HostRow) => HOST_STATUSES.indexOf(row.status);

/** The fleet overview. */
export function OverviewPage(props: { readonly store: FleetStore }): JSX.Element {
  const { store } = props;
  const version = useStoreVersion(store);
  const now = useNow(5000);
  const [search, setSearch] = useState("");
  const [idleText, setIdleText] = useState("15m");
  const [sort, setSort] = useState<SortOrder>({ column: "status", descending: false });
  const idle = parseDuration(idleText);
  const idleMs = "ms" in idle && idle.ms > 0 ? idle.ms : 15 * 60_000;

  const all = useMemo(() => hostRows(store, idleMs, now), [version, idleMs, now]);
  const notAnswering = all.filter((row) => row.status !== "online");
  const rows = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const found = needle === "" ? [...all] : all.filter((row) => row.name.includes(needle));
    const byColumn: Readonly<Record<string, (a: HostRow, b: HostRow) => number>> = {
      name: (a, b) => compareText(a.name, b.name),
      status: (a, b) => severity(a) - severity(b),
      sessions: (a, b) => a.sessions - b.sessions,
      active: (a, b) => a.active - b.active,
      disconnected: (a, b) => a.disconnected - b.disconnected,
      idle: (a, b) => a.idle - b.idle,
      locked: (a, b) => a.locked - b.locked,
      version: (a, b) => compareText(a.version ?? "", b.version ?? ""),
      change: (a, b) => (a.lastChangeMs ?? 0) - (b.lastChangeMs ?? 0),
    };
    const compare = byColumn[sort.column] ?? byColumn["name"] ?? (() => 0);
    const then = (a: HostRow, b: HostRow) => compare(a, b) || compareText(a.name, b.name);
    return found.sort(sort.descending ? (a, b) => then(b, a) : then);
  }, [all, search, sort]);

  const columns: Column<HostRow>[] = [
    {
      id: "name",
      header: "Host",
      width: "minmax(12rem, 2fr)",
      sortable: true,
      cell: (row) => (
        <a href={`#/hosts/${encodeURIComponent(row.name)}`} tabIndex={-1}>
          {row.name}
        </a>
      ),
    },
    {
      id: "status",
      header: "Status",
      width: "9rem",
      sortable: true,
      cell: (row) => <HostStatusBadge status={row.status} reason={row.reason} />,
    },
    {
      id: "sessions",
      header: "Sessions",
      width: "5.5rem",
      sortable: true,
      align: "end",
      cell: (row) => row.sessions,
    },
    {
      id: "active",
      header: "Active",
      width: "5rem",
      sortable: true,
      align: "end",
      cell: (row) => row.active,
    },
    {
      id: "disconnected",
      header: "Disconnected",
      width: "7.5rem",
      sortable: true,
      align: "end",
      cell: (row) => row.disconnected,
    },
    {
      id: "idle",
      header: `Idle ≥ ${idleText || "15m"}`,
      width: "6.5rem",
      sortable: true,
      align: "end",
      cell: (row) => row.idle,
    },
    {
      id: "locked",
      header: "Locked",
      width: "5rem",
      sortable: true,
      align: "end",
      cell: (row) => row.locked,
    },
    {
      id: "version",
      header: "Version",
      width: "6rem",
      sortable: true,
      cell: (row) => row.version ?? "—",
    },
    {
      id: "change",
      header: "Last change",
      width: "minmax(7rem, 1fr)",
      sortable: true,
      cell: (row) =>
        row.status === "online" || row.reason === undefined ? (
          row.lastChangeMs === undefined ? (
            "—"
          ) : (
            formatAgo(row.lastChangeMs, now)
          )
        ) : (
          <span class="reason" title={row.reason}>
            {row.reason}
          </span>
        ),
    },
  ];

  return (
    <section aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title">Fleet</h1>
        <p class={notAnswering.length > 0 ? "headline bad" : "headline good"} role="status">
          {notAnswering.length > 0
            ? `${plural(notAnswering.length, "host")} not answering of ${all.length.toLocaleString("en")}`
            : `All ${plural(all.length, "host")} answering`}
          {` · ${plural(store.sessionCount, "session")}`}
        </p>
      </div>
      <form
        class="filters"
        role="search"
        aria-label="Find hosts"
        onSubmit={(event) => event.preventDefault()}
      >
        <label>
          Search hosts
          <input
            type="search"
            value={search}
            placeholder="part of a name"
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
        <label>
          Count as idle after
          <input
            value={idleText}
            size={6}
            aria-invalid={"error" in idle ? "true" : undefined}
            onInput={(e) => setIdleText(e.currentTarget.value)}
          />
        </label>
        {"error" in idle && <span class="field-error">{idle.error}</span>}
        <p class="count" role="status">
          {plural(rows.length, "host")}
        </p>
      </form>
      <DataGrid
        label="Hosts"
        rows={rows}
        columns={columns}
        rowKey={(row) => row.name}
        sort={sort}
        onSort={(column) =>
          setSort({ column, descending: sort.column === column ? !sort.descending : false })
        }
        changed={(row) => store.changedAt(row.name) !== undefined}
        rowClass={(row) => `host-${row.status}`}
        onOpen={(row) => {
          window.location.hash = `#/hosts/${encodeURIComponent(row.name)}`;
        }}
        empty={
          store.loaded
            ? search === ""
              ? "No hosts in the inventory."
              : "No host matches."
            : "Loading the fleet…"
        }
      />
    </section>
  );
}
