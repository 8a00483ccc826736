/**
 * Who used which host when: a host's or a user's timeline (its session changes, newest first, a
 * page at a time), and the occupancy chart — sessions in use per host and per hour — drawn by
 * uPlot, bundled with the UI (no CDN).
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ApiHistoryEvent, HistoryPage, OccupancyAnswer } from "../../api/types.js";
import type { ApiClient } from "../api/client.js";
import { OlderButton } from "../components/older-button.js";
import { ProblemBanner } from "../components/problem.js";
import { formatTime } from "../format.js";
import { usePagedList } from "../hooks.js";

/** What a change means, in words. */
const KIND_TEXT: Readonly<Record<ApiHistoryEvent["kind"], string>> = {
  logon: "logged on",
  logoff: "logged off",
  connect: "reconnected",
  disconnect: "disconnected",
  lock: "locked the screen",
  unlock: "unlocked the screen",
  idle: "idle for",
};

/** A host's or a user's session changes. */
export function Timeline(props: {
  readonly api: ApiClient;
  readonly host?: string;
  readonly user?: string;
}): JSX.Element {
  const timeline = usePagedList<ApiHistoryEvent, string>(
    async (before, signal) => {
      const page = await props.api.get<HistoryPage>(
        "/api/v1/history",
        { host: props.host, user: props.user, limit: 100, before },
        signal,
      );
      return { items: page.events, next: page.next };
    },
    [props.host, props.user],
  );
  const { items: events, next, loading, problem } = timeline;

  const subject = props.host ?? props.user ?? "the fleet";
  return (
    <section aria-label={`Timeline of ${subject}`}>
      {problem !== undefined && <ProblemBanner doing="Loading the history" problem={problem} />}
      <ol class="timeline" aria-busy={loading ? "true" : "false"}>
        {events.map((event) => (
          <li key={event.id}>
            <time dateTime={event.time}>{formatTime(Date.parse(event.time))}</time>{" "}
            {props.user === undefined && (
              <a href={`#/history?user=${encodeURIComponent(event.user)}`}>{event.user}</a>
            )}{" "}
            {KIND_TEXT[event.kind]} {event.kind === "idle" ? event.detail : ""}{" "}
            {props.host === undefined && (
              <>
                on <a href={`#/history?host=${encodeURIComponent(event.host)}`}>{event.host}</a>
              </>
            )}{" "}
            <span class="muted">session {event.sessionId}</span>
          </li>
        ))}
        {!loading && events.length === 0 && problem === undefined && <li>No change recorded.</li>}
      </ol>
      {next !== undefined && (
        <OlderButton label="Older changes" loading={loading} onOlder={timeline.loadOlder} />
      )}
    </section>
  );
}

/** Sessions in use per host and per hour over the last `days`. */
export function OccupancyChart(props: {
  readonly api: ApiClient;
  readonly days: number;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const [answer, setAnswer] = useState<OccupancyAnswer | undefined>(undefined);
  const [problem, setProblem] = useState<unknown>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    const to = new Date();
    const from = new Date(to.getTime() - props.days * 86_400_000);
    props.api
      .get<OccupancyAnswer>(
        "/api/v1/occupancy",
        { from: from.toISOString(), to: to.toISOString(), by: "host" },
        controller.signal,
      )
      .then(setAnswer)
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setProblem(error);
      });
    return () => controller.abort();
  }, [props.days]);

  useEffect(() => {
    const element = box.current;
    if (element === null || answer === undefined) return;
    const hosts = answer.hosts ?? [];
    const x = answer.hours.map((hour) => Date.parse(hour) / 1000);
    const chart = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 260,
        series: [
          {},
          ...hosts.map((host, index) => ({
            label: host.host,
            stroke: `hsl(${(index * 137) % 360} 60% 45%)`,
            width: 1.5,
          })),
        ],
        axes: [{}, { label: "sessions" }],
        scales: { x: { time: true } },
      },
      [x, ...hosts.map((host) => [...host.sessions])],
      element,
    );
    return () => chart.destroy();
  }, [answer]);

  const hosts = answer?.hosts ?? [];
  return (
    <figure class="occupancy">
      <figcaption>
        Sessions in use per host and hour, last {props.days === 1 ? "day" : `${props.days} days`}
      </figcaption>
      {problem !== undefined && <ProblemBanner doing="Loading the occupancy" problem={problem} />}
      <div ref={box} role="img" aria-label="Occupancy chart" />
      {answer !== undefined && (
        <table class="table" aria-label="Busiest hour per host">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Busiest hour</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((host) => (
              <tr key={host.host}>
                <td>
                  <a href={`#/history?host=${encodeURIComponent(host.host)}`}>{host.host}</a>
                </td>
                <td>{host.peak}</td>
              </tr>
            ))}
            {hosts.length === 0 && (
              <tr>
                <td colSpan={2}>No session in this window.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </figure>
  );
}

/** The history page: `#/history`, `#/history?host=FQDN`, `#/history?user=DOMAIN\user`. */
export function HistoryPageView(props: {
  readonly api: ApiClient;
  readonly query: string;
}): JSX.Element {
  const params = new URLSearchParams(props.query);
  const host = params.get("host") ?? undefined;
  const user = params.get("user") ?? undefined;
  const [days, setDays] = useState(1);
  const title =
    host !== undefined
      ? `History of ${host}`
      : user !== undefined
        ? `History of ${user}`
        : "History";
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">{title}</h1>
      {host === undefined && user === undefined && (
        <>
          <label>
            Window
            <select
              value={String(days)}
              onChange={(event) => setDays(Number(event.currentTarget.value))}
            >
              <option value="1">last day</option>
              <option value="7">last 7 days</option>
              <option value="31">last 31 days</option>
            </select>
          </label>
          <OccupancyChart api={props.api} days={days} />
        </>
      )}
      <Timeline
        api={props.api}
        {...(host === undefined ? {} : { host })}
        {...(user === undefined ? {} : { user })}
      />
    </section>
  );
}
