/**
 * Every session of the fleet in one live table: filters (host, user pattern, state, idle at
 * least), sorting, selection of rows or of everything that matches, and the actions on the
 * selection (operators and admins only).
 */
import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { compileWildcard } from "../../../common/wildcard.js";
import type { ApiClient } from "../api/client.js";
import type { ActionKind, ActionTarget } from "../api/actions-api.js";
import { DataGrid, type GridSelection, type SortOrder } from "../components/data-grid.js";
import { parseDuration, plural } from "../format.js";
import { useNow, useStoreVersion } from "../hooks.js";
import {
  SESSION_STATES,
  idleMsAt,
  qualifiedUser,
  type SessionStateName,
  type SessionView,
} from "../model.js";
import type { FleetStore } from "../store/fleet-store.js";
import { ACTION_WORDS, ActionDialog, type ComposeState } from "./action-dialog.js";
import { compareSessions, sessionColumns } from "./session-columns.js";

/**
 * The most sessions an action names one by one: past this, "all matching" sends the hosts and
 * the filter instead, which the console expands on each host (a request stays small).
 */
export const MAX_SESSIONS_BY_ID = 1000;

/** The filter of the sessions table. */
export interface SessionFilterState {
  readonly host: string;
  readonly user: string;
  readonly state: string;
  readonly minIdle: string;
}

const NO_FILTER: SessionFilterState = { host: "", user: "", state: "", minIdle: "" };

/** Selection: some sessions by key, or everything the filter matches. */
type Selection =
  { readonly all: true } | { readonly all: false; readonly keys: ReadonlySet<string> };

/** The sessions page. */
export function SessionsPage(props: {
  readonly api: ApiClient;
  readonly store: FleetStore;
  readonly canAct: boolean;
  /** Only this host's sessions, without the host filter (a host's page). */
  readonly host?: string | undefined;
}): JSX.Element {
  const { store } = props;
  useStoreVersion(store);
  const version = store.sessionsVersion;
  const now = useNow(1000);
  const [filter, setFilter] = useState<SessionFilterState>(
    props.host === undefined ? NO_FILTER : { ...NO_FILTER, host: props.host },
  );
  const [sort, setSort] = useState<SortOrder>({ column: "host", descending: false });
  const [selection, setSelection] = useState<Selection>({ all: false, keys: new Set() });
  const [dialog, setDialog] = useState<
    | {
        id: number;
        action: ActionKind;
        target: ActionTarget;
        describe: string;
        compose?: ComposeState;
      }
    | undefined
  >(undefined);

  const minIdle = parseDuration(filter.minIdle);
  const userPattern = useMemo(
    () => (filter.user === "" ? undefined : compileWildcard(filter.user)),
    [filter.user],
  );
  // Idle times move: the filter and the order are worked out again every 5 s, and at every batch.
  // Only an idle filter or an idle sort depends on the clock: otherwise the rows are worked out
  // again only when the fleet or the filter changes.
  const clockMatters = sort.column === "idle" || ("ms" in minIdle && minIdle.ms > 0);
  const slowNow = clockMatters ? Math.floor(now / 5000) * 5000 : 0;
  const rows = useMemo(() => {
    const host = filter.host.trim().toLowerCase();
    const minIdleMs = "ms" in minIdle ? minIdle.ms : 0;
    const matching: SessionView[] = [];
    for (const session of props.host === undefined
      ? store.sessions()
      : store.sessionsOf(props.host)) {
      if (host !== "" && !session.host.includes(host)) continue;
      if (filter.state !== "" && session.state !== filter.state) continue;
      if (
        userPattern !== undefined &&
        !userPattern.test(session.user) &&
        !userPattern.test(qualifiedUser(session))
      )
        continue;
      if (minIdleMs > 0 && (idleMsAt(session, slowNow) ?? -1) < minIdleMs) continue;
      matching.push(session);
    }
    const compare = compareSessions(sort.column, slowNow);
    matching.sort(sort.descending ? (a, b) => compare(b, a) : compare);
    return matching;
  }, [version, filter, sort, slowNow, userPattern, props.host]);

  const selectedKeys = selection.all ? undefined : selection.keys;
  const selectedCount = selection.all
    ? rows.length
    : rows.reduce((n, row) => n + (selection.keys.has(row.key) ? 1 : 0), 0);
  const gridSelection: GridSelection<SessionView> | undefined = props.canAct
    ? {
        isSelected: (row) => selectedKeys === undefined || selectedKeys.has(row.key),
        toggle: (row) => {
          const keys = new Set(selectedKeys ?? rows.map((r) => r.key));
          if (keys.has(row.key)) keys.delete(row.key);
          else keys.add(row.key);
          setSelection({ all: false, keys });
        },
        selectAll: () => setSelection({ all: true }),
        clear: () => setSelection({ all: false, keys: new Set() }),
        count: selectedCount,
        label: (row) =>
          `Select session ${row.sessionId}${row.user ? ` (${row.user})` : ""} on ${row.host}`,
      }
    : undefined;

  const update = (patch: Partial<SessionFilterState>) => {
    setFilter({ ...filter, ...patch });
    if (selection.all) setSelection({ all: false, keys: new Set() });
  };

  const targetOf = (): { target: ActionTarget; describe: string } | undefined => {
    if (selectedCount === 0) return undefined;
    if (selection.all && (rows.length > MAX_SESSIONS_BY_ID || props.host === undefined)) {
      // Every host the host filter names, answering or not: the preview asks each, so a host
      // that does not answer is shown as such rather than silently left out.
      const needle = (props.host ?? filter.host).trim().toLowerCase();
      const hosts = [...store.hosts()]
        .map((host) => host.name)
        .filter((name) => (props.host === undefined ? name.includes(needle) : name === props.host))
        .sort();
      const filterBody = {
        ...(filter.user === "" ? {} : { user: filter.user }),
        ...(filter.state === "" ? {} : { states: [filter.state as SessionStateName] }),
        ...("ms" in minIdle && minIdle.ms > 0
          ? { minIdle: `${Math.floor(minIdle.ms / 1000)}s` }
          : {}),
      };
      return {
        target: { kind: "filter", hosts, filter: filterBody },
        describe: `all ${plural(rows.length, "session")} matching the filter, on ${plural(hosts.length, "host")}`,
      };
    }
    const chosen = rows.filter((row) => selectedKeys === undefined || selectedKeys.has(row.key));
    if (chosen.length > MAX_SESSIONS_BY_ID) return undefined;
    return {
      target: {
        kind: "sessions",
        sessions: chosen.map((row) => ({ host: row.host, sessionId: row.sessionId })),
      },
      describe: `${plural(chosen.length, "selected session")}`,
    };
  };
  const tooMany = !selection.all && selectedCount > MAX_SESSIONS_BY_ID;

  const open = (action: ActionKind) => {
    const chosen = targetOf();
    if (chosen !== undefined) {
      setDialog({ id: Date.now(), action, target: chosen.target, describe: chosen.describe });
    }
  };

  return (
    <section
      class="sessions"
      aria-label={props.host === undefined ? "All sessions" : `Sessions of ${props.host}`}
    >
      <form
        class="filters"
        role="search"
        aria-label="Filter sessions"
        onSubmit={(event) => event.preventDefault()}
      >
        {props.host === undefined && (
          <label>
            Host
            <input
              type="search"
              value={filter.host}
              placeholder="part of a name"
              onInput={(e) => update({ host: e.currentTarget.value })}
            />
          </label>
        )}
        <label>
          User
          <input
            type="search"
            value={filter.user}
            placeholder="pattern: stu*, LAB\?x"
            onInput={(e) => update({ user: e.currentTarget.value })}
          />
        </label>
        <label>
          State
          <select value={filter.state} onChange={(e) => update({ state: e.currentTarget.value })}>
            <option value="">any</option>
            {SESSION_STATES.map((state) => (
              <option key={state} value={state}>
                {state.toLowerCase().replace("_", " ")}
              </option>
            ))}
          </select>
        </label>
        <label>
          Idle at least
          <input
            value={filter.minIdle}
            placeholder="15m"
            size={6}
            aria-invalid={"error" in minIdle ? "true" : undefined}
            aria-describedby="idle-help"
            onInput={(e) => update({ minIdle: e.currentTarget.value })}
          />
        </label>
        <span id="idle-help" class={"error" in minIdle ? "field-error" : "help"}>
          {"error" in minIdle ? minIdle.error : "15m, 1h30m, or minutes"}
        </span>
        <p class="count" role="status" aria-live="polite">
          {plural(rows.length, "session")}
          {props.host === undefined && ` of ${store.sessionCount.toLocaleString("en")}`}
        </p>
      </form>

      {props.canAct && (
        <div class="actionbar" role="toolbar" aria-label="Act on the selection">
          <span class="selected-count">
            {selection.all
              ? `All ${plural(rows.length, "matching session")} selected`
              : `${plural(selectedCount, "session")} selected`}
          </span>
          <button
            type="button"
            class="button small"
            onClick={() => setSelection({ all: true })}
            disabled={rows.length === 0}
          >
            Select all matching
          </button>
          <button
            type="button"
            class="button small"
            onClick={() => setSelection({ all: false, keys: new Set() })}
            disabled={selectedCount === 0}
          >
            Clear
          </button>
          <span class="spacer" />
          {(["disconnect", "logoff", "message"] as const).map((action) => (
            <button
              key={action}
              type="button"
              class="button"
              disabled={selectedCount === 0 || tooMany}
              onClick={() => open(action)}
            >
              {ACTION_WORDS[action].button}
            </button>
          ))}
          {tooMany && (
            <span class="field-error">
              Select at most {MAX_SESSIONS_BY_ID} sessions one by one, or use "Select all matching".
            </span>
          )}
        </div>
      )}

      <DataGrid
        label={props.host === undefined ? "Sessions" : `Sessions of ${props.host}`}
        rows={rows}
        columns={sessionColumns(now, props.host === undefined)}
        rowKey={(row) => row.key}
        sort={sort}
        onSort={(column) =>
          setSort({ column, descending: sort.column === column ? !sort.descending : false })
        }
        selection={gridSelection}
        changed={(row) => store.changedAt(row.key) !== undefined}
        onOpen={(row) => {
          window.location.hash = `#/hosts/${encodeURIComponent(row.host)}`;
        }}
        empty={store.loaded ? "No session matches the filter." : "Loading the fleet…"}
        {...(props.host === undefined ? {} : { height: "24rem" })}
      />

      {dialog !== undefined && (
        <ActionDialog
          api={props.api}
          action={dialog.action}
          target={dialog.target}
          describeTarget={dialog.describe}
          onClose={(acted) => {
            setDialog(undefined);
            // What was acted on is gone or changed: a new action starts from a new selection.
            if (acted) setSelection({ all: false, keys: new Set() });
          }}
          key={dialog.id}
          compose={dialog.compose}
          onRetry={(action, target, compose) =>
            setDialog({
              id: dialog.id + 1,
              action,
              target,
              compose,
              describe:
                target.kind === "filter"
                  ? `the matching sessions on the ${plural(target.hosts.length, "failed host")}`
                  : `${plural(target.sessions.length, "session")} on the failed hosts`,
            })
          }
        />
      )}
    </section>
  );
}
