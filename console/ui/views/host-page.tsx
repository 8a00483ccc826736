/** One host: its agent, its sessions (live, with the actions), and what happened to it lately. */
import type { JSX } from "preact";
import type { ApiClient } from "../api/client.js";
import { HostStatusBadge } from "../components/status.js";
import { formatAgo, formatTime } from "../format.js";
import { useNow, useStoreVersion } from "../hooks.js";
import type { FleetStore } from "../store/fleet-store.js";
import { AuditTable } from "./audit-page.js";
import { Timeline } from "./history-page.js";
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
  const events = store.recentEvents(name);
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
          {events.length === 0 ? (
            <p class="muted">Nothing since this page was opened.</p>
          ) : (
            <ol class="events">
              {events.map((event, index) => (
                <li key={`${event.atMs}-${index}`}>
                  <time dateTime={new Date(event.atMs).toISOString()}>
                    {formatTime(event.atMs, now)}
                  </time>{" "}
                  {event.text}
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
      <h2>Sessions</h2>
      <SessionsPage api={props.api} store={store} canAct={props.canAct} host={name} />
      <h2>Actions on this host</h2>
      <AuditTable api={props.api} fixed={{ host: name }} pageSize={20} />
      <h2>Who used it when</h2>
      <Timeline api={props.api} host={name} />
    </section>
  );
}
