/**
 * One host: its agent, its sessions (live, with the actions), what happened to it lately (the
 * recorded history and the live events, newest first) and the actions on it.
 */
import type { JSX } from "preact";
import type { ApiClient } from "../api/client.js";
import { HostStatusBadge } from "../components/status.js";
import { formatAgo, formatTime } from "../format.js";
import { useNow, useStoreVersion } from "../hooks.js";
import type { FleetStore } from "../store/fleet-store.js";
import { AuditTable } from "./audit-page.js";
import { HostEvents } from "./host-events.js";
import { SessionsPage } from "./sessions-page.js";

/** A host's page. */
export function HostPage(props: {
  readonly api: ApiClient;
  readonly store: FleetStore;
  readonly name: string;
  readonly canAct: boolean;
}): JSX.Element {
  const { store, name } = props;
  useStoreVersion(store);
  const now = useNow(5000);
  const host = store.host(name);
  if (host === undefined) {
    return (
      <section aria-labelledby="host-title">
        <h1 id="host-title">{name}</h1>
        <p role="status">
          {store.loaded ? "This host is not in the console's inventory." : "Loading the fleet…"}
        </p>
        <p>
          <a href="#/">Back to the fleet</a>
        </p>
      </section>
    );
  }
  return (
    <section aria-labelledby="host-title">
      <div class="page-head">
        <h1 id="host-title">{name}</h1>
        <HostStatusBadge status={host.status} reason={host.reason} />
      </div>
      {host.status !== "online" && host.reason !== undefined && (
        <p class="problem" role="alert">
          {name} is {host.status}: {host.reason}
        </p>
      )}
      <div class="host-layout">
        <dl class="facts" aria-label="Agent">
          <dt>Status</dt>
          <dd>{host.status}</dd>
          <dt>Agent version</dt>
          <dd>{host.version ?? "—"}</dd>
          <dt>Backend</dt>
          <dd>{host.backend ?? "—"}</dd>
          <dt>Last answer</dt>
          <dd>
            {formatTime(host.lastAnswerMs, now)} ({formatAgo(host.lastAnswerMs, now)})
          </dd>
          <dt>Last change</dt>
          <dd>{formatAgo(host.lastChangeMs, now)}</dd>
        </dl>
        <section class="recent" aria-labelledby="recent-title">
          <h2 id="recent-title">Recent events</h2>
          <HostEvents api={props.api} store={store} host={name} nowMs={now} />
          <p>
            <a href={`#/history?host=${encodeURIComponent(name)}`}>Who used it when</a>: its whole
            timeline on the History page.
          </p>
        </section>
      </div>
      <h2>Sessions</h2>
      <SessionsPage api={props.api} store={store} canAct={props.canAct} host={name} />
      <h2>Actions on this host</h2>
      <AuditTable api={props.api} fixed={{ host: name }} pageSize={20} />
    </section>
  );
}
