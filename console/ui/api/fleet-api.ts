/**
 * The fleet through the API: the event stream `GET /api/v1/events` (a snapshot of every host and
 * session first, then changes), turned into the UI's hosts and sessions (console/ui/model.ts)
 * and fed into the store. When the stream cannot be opened, `GET /api/v1/hosts` says why in the
 * API's words (EventSource itself never tells).
 */
import type { ApiEvent, ApiHost, ApiSession, ApiSessionChange, HostList } from "../../api/types.js";
import type { FleetStore, SessionChange } from "../store/fleet-store.js";
import { protectionWords, sessionKey, type HostView, type SessionView } from "../model.js";
import { ApiProblem, type ApiClient } from "./client.js";

const time = (iso: string | null): number | undefined => {
  if (iso === null) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
};

/** The UI's host from the API's. */
export function hostView(wire: ApiHost): HostView {
  return {
    name: wire.host,
    status: wire.status,
    reason: wire.problem === null ? undefined : wire.problem.message,
    address: wire.address,
    sinceMs: time(wire.since),
    version: wire.version ?? undefined,
    backend: wire.backend ?? undefined,
    lastAnswerMs: time(wire.lastAnswer),
    lastChangeMs: time(wire.lastChange),
  };
}

/** The UI's session from the API's; `nowMs` is when it was received. */
export function sessionView(wire: ApiSession, nowMs: number): SessionView {
  return {
    key: sessionKey(wire.host, wire.sessionId),
    host: wire.host,
    sessionId: wire.sessionId,
    user: wire.user,
    domain: wire.domain,
    state: wire.state,
    locked: wire.locked,
    lastInputMs: time(wire.lastInputTime),
    idleMs: wire.idleSeconds === null ? undefined : wire.idleSeconds * 1000,
    idleAtMs: nowMs,
    station: wire.station,
    client: wire.client,
    logonMs: time(wire.logonTime),
    protection: protectionWords(wire.protection ?? undefined),
    note: wire.note ?? undefined,
    groups: wire.groups,
  };
}

function sessionChange(change: ApiSessionChange, nowMs: number): SessionChange {
  return change.kind === "removed"
    ? {
        kind: "removed",
        key: sessionKey(change.host, change.sessionId),
        sessionId: change.sessionId,
      }
    : { kind: change.kind, session: sessionView(change.session, nowMs) };
}

/** Applies one event of the stream to the store (a snapshot at once, the rest in batches). */
export function applyEvent(store: FleetStore, event: ApiEvent, nowMs: number): void {
  switch (event.type) {
    case "snapshot":
      store.load(
        event.hosts.map(hostView),
        event.sessions.map((session) => sessionView(session, nowMs)),
      );
      return;
    case "host":
      store.enqueue({ kind: "host", host: hostView(event.host) });
      return;
    case "host-removed":
      store.enqueue({ kind: "host-removed", host: event.host });
      return;
    case "sessions":
      store.enqueue({
        kind: "sessions",
        host: event.host,
        replace: event.replace,
        changes: event.changes.map((change) => sessionChange(change, nowMs)),
      });
      return;
  }
}

/** The state of the event stream, for the page's "live" mark. */
export type StreamState = "connecting" | "live" | "reconnecting";

/** The event types of the stream (the SSE `event:` field). */
const EVENT_TYPES: readonly ApiEvent["type"][] = ["snapshot", "host", "host-removed", "sessions"];

/**
 * Opens the event stream and feeds its events into the store. After a break the browser
 * reconnects by itself and the console starts again with a snapshot. When the console refuses
 * the stream, `onProblem` hears why. Returns the function that closes it.
 */
export function followEvents(
  api: ApiClient,
  store: FleetStore,
  onState: (state: StreamState) => void,
  onProblem: (problem: unknown) => void,
): () => void {
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const open = () => {
    const stream = new EventSource("/api/v1/events");
    source = stream;
    onState("connecting");
    for (const type of EVENT_TYPES) {
      stream.addEventListener(type, (message: MessageEvent<string>) => {
        let event: ApiEvent;
        try {
          event = JSON.parse(message.data) as ApiEvent;
        } catch {
          onProblem(new ApiProblem(200, "protocol", `an event of type ${type} is not JSON`));
          return;
        }
        applyEvent(store, event, Date.now());
      });
    }
    stream.addEventListener("open", () => {
      onState("live");
      onProblem(undefined);
    });
    stream.addEventListener("error", () => {
      onState("reconnecting");
      if (stream.readyState !== EventSource.CLOSED || closed) return;
      // The console answered with an error: ask it why, and try again later.
      api
        .get<HostList>("/api/v1/hosts")
        .then(() => undefined)
        .catch((error: unknown) => onProblem(error));
      retry = setTimeout(open, STREAM_RETRY_MS);
    });
  };
  open();
  return () => {
    closed = true;
    if (retry !== undefined) clearTimeout(retry);
    source?.close();
  };
}

/**
 * How long to wait before opening the stream again after the console refused it, in
 * milliseconds (a break of the connection is retried by the browser itself, sooner).
 */
export const STREAM_RETRY_MS = 5_000;
