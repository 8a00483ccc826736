/**
 * A host's recent events, newest first: the session changes the console recorded
 * (`GET /api/v1/history?host=`, a page at a time) merged with what the event stream brought
 * since. The recorded page is read once when the host's page opens; a session change that
 * arrives live after that is shown from the stream, one that arrived before it from the record,
 * so none is listed twice. The host's own status changes, which the history does not record,
 * come from the stream only.
 */
import type { JSX } from "preact";
import type { ApiHistoryEvent, HistoryPage } from "../../api/types.js";
import type { ApiClient } from "../api/client.js";
import { OlderButton } from "../components/older-button.js";
import { ProblemBanner } from "../components/problem.js";
import { formatTime } from "../format.js";
import { usePagedList, useStoreVersion } from "../hooks.js";
import type { FleetStore } from "../store/fleet-store.js";

/** Recorded changes read at a time: a screen's worth. */
export const HOST_EVENTS_PAGE = 25;

/**
 * Recorded changes a host's page shows at most (20 pages): past this the page offers no older
 * ones; the history API (and its page) has them all.
 */
export const MAX_HOST_EVENTS_SHOWN = 500;

/** A recorded change in words: `session 5 (LAB\oliver): disconnected`. */
export function historyText(event: ApiHistoryEvent): string {
  const who = event.user === "" ? "" : ` (${event.user})`;
  const what: Readonly<Record<ApiHistoryEvent["kind"], string>> = {
    logon: "logged on",
    logoff: "logged off",
    connect: "connected",
    disconnect: "disconnected",
    lock: "locked",
    unlock: "unlocked",
    idle: "idle for",
  };
  const detail =
    event.detail === ""
      ? ""
      : event.kind === "idle"
        ? ` ${event.detail}`
        : ` (${event.detail.toLowerCase()})`;
  return `session ${event.sessionId}${who}: ${what[event.kind]}${detail}`;
}

/** One line of the list. */
interface Line {
  readonly key: string;
  readonly atMs: number;
  readonly text: string;
}

/** The host's recent events. */
export function HostEvents(props: {
  readonly api: ApiClient;
  readonly store: FleetStore;
  readonly host: string;
  readonly nowMs: number;
}): JSX.Element {
  const { api, store, host } = props;
  useStoreVersion(store);
  const history = usePagedList<ApiHistoryEvent, string>(
    async (before, signal) => {
      const page = await api.get<HistoryPage>(
        "/api/v1/history",
        { host, limit: HOST_EVENTS_PAGE, before },
        signal,
      );
      return { items: page.events, next: page.next };
    },
    [host],
    { maxItems: MAX_HOST_EVENTS_SHOWN },
  );
  const { items: recorded, next, loading, problem, askedAtMs } = history;

  // Until the record is read, every live event is shown; after, the record has the session
  // changes from before it was asked for.
  const live: Line[] = store
    .recentEvents(host)
    .filter(
      (event) => event.kind === "status" || askedAtMs === undefined || event.atMs >= askedAtMs,
    )
    .map((event, index) => ({ key: `live-${event.atMs}-${index}`, ...event }));
  const lines: Line[] = [
    ...live,
    ...recorded.map((event) => ({
      key: `recorded-${event.id}`,
      atMs: Date.parse(event.time),
      text: historyText(event),
    })),
  ].sort((a, b) => b.atMs - a.atMs);

  return (
    <>
      {problem !== undefined && (
        <ProblemBanner
          doing="Loading the host's history"
          problem={problem}
          onRetry={history.retry}
        />
      )}
      {lines.length === 0 ? (
        <p class="muted" role="status">
          {loading ? "Loading…" : "No change recorded."}
        </p>
      ) : (
        <ol
          class="events"
          aria-label={`Recent events of ${host}`}
          aria-busy={loading}
          // It scrolls: the keyboard can reach it.
          tabIndex={0}
        >
          {lines.map((line) => (
            <li key={line.key}>
              <time dateTime={new Date(line.atMs).toISOString()}>
                {formatTime(line.atMs, props.nowMs)}
              </time>{" "}
              {line.text}
            </li>
          ))}
        </ol>
      )}
      {next !== undefined && (
        <OlderButton label="Older changes" loading={loading} onOlder={history.loadOlder} />
      )}
    </>
  );
}
