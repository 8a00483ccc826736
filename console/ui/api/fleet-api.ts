/**
 * The fleet through the API: `GET /api/v1/hosts`, `GET /api/v1/sessions` and the event stream
 * `GET /api/v1/events`, turned into the UI's hosts and sessions (console/ui/model.ts) and fed
 * into the store.
 */
import type { FleetEvent, FleetStore } from "../store/fleet-store.js";
import {
  SESSION_STATES,
  protectionWords,
  sessionKey,
  type HostStatus,
  type HostView,
  type SessionStateName,
  type SessionView,
} from "../model.js";
import type { ApiClient } from "./client.js";

// TODO(issue 14): these wire types come from console/api/types.ts once the fleet API lands.
/** A host as the API answers it. */
interface WireHost {
  readonly name: string;
  readonly status: HostStatus;
  readonly reason?: string;
  readonly version?: string;
  readonly backend?: string;
  readonly lastAnswer?: string;
  readonly lastChange?: string;
}
/** A session as the API answers it. */
interface WireSession {
  readonly host: string;
  readonly sessionId: number;
  readonly state: string;
  readonly user: string;
  readonly domain: string;
  readonly station: string;
  readonly client: string;
  readonly locked: boolean;
  readonly logonTime?: string;
  readonly lastInputTime?: string;
  readonly idleSeconds?: number;
  readonly protection?: string;
}

const time = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
};

const stateOf = (state: string): SessionStateName => {
  const name = state.replace(/^SESSION_STATE_/, "").toUpperCase();
  return (SESSION_STATES as readonly string[]).includes(name) ? (name as SessionStateName) : "DOWN";
};

/** The UI's host from the API's. */
export function hostView(wire: WireHost): HostView {
  return {
    name: wire.name,
    status: wire.status,
    reason: wire.reason,
    version: wire.version,
    backend: wire.backend,
    lastAnswerMs: time(wire.lastAnswer),
    lastChangeMs: time(wire.lastChange),
  };
}

/** The UI's session from the API's; `nowMs` is when it was received. */
export function sessionView(wire: WireSession, nowMs: number): SessionView {
  return {
    key: sessionKey(wire.host, wire.sessionId),
    host: wire.host,
    sessionId: wire.sessionId,
    user: wire.user,
    domain: wire.domain,
    state: stateOf(wire.state),
    locked: wire.locked,
    lastInputMs: time(wire.lastInputTime),
    idleMs: wire.idleSeconds === undefined ? undefined : wire.idleSeconds * 1000,
    idleAtMs: nowMs,
    station: wire.station,
    client: wire.client,
    logonMs: time(wire.logonTime),
    protection: protectionWords(wire.protection),
  };
}

/** Loads every host and every session into the store. */
export async function loadFleet(
  api: ApiClient,
  store: FleetStore,
  signal?: AbortSignal,
): Promise<void> {
  const [hosts, sessions] = await Promise.all([
    api.get<{ hosts: WireHost[] }>("/api/v1/hosts", {}, signal),
    api.get<{ sessions: WireSession[] }>("/api/v1/sessions", {}, signal),
  ]);
  const now = Date.now();
  store.load(
    hosts.hosts.map(hostView),
    sessions.sessions.map((session) => sessionView(session, now)),
  );
}

/** The state of the event stream, for the page's "live" mark. */
export type StreamState = "connecting" | "live" | "reconnecting";

/**
 * Opens the event stream and feeds its events into the store; after a break, the browser
 * reconnects by itself (EventSource) and the fleet is loaded again, since changes were missed.
 * Returns the function that closes it.
 */
export function followEvents(
  api: ApiClient,
  store: FleetStore,
  onState: (state: StreamState) => void,
  onProblem: (problem: unknown) => void,
): () => void {
  const source = new EventSource("/api/v1/events");
  let opened = false;
  onState("connecting");
  const parse = (event: MessageEvent<string>): unknown => JSON.parse(event.data);
  const add = (name: string, toEvents: (data: unknown, now: number) => FleetEvent[]) => {
    source.addEventListener(name, (event: MessageEvent<string>) => {
      const now = Date.now();
      for (const fleetEvent of toEvents(parse(event), now)) store.enqueue(fleetEvent);
    });
  };
  add("host", (data) => [{ kind: "host", host: hostView(data as WireHost) }]);
  add("host-removed", (data) => [{ kind: "host-removed", host: (data as { name: string }).name }]);
  add("snapshot", (data, now) => {
    const snapshot = data as { host: string; sessions: WireSession[] };
    return [
      {
        kind: "snapshot",
        host: snapshot.host,
        sessions: snapshot.sessions.map((session) => sessionView(session, now)),
      },
    ];
  });
  add("session", (data, now) => {
    const change = data as { change: "added" | "changed" | "removed"; session: WireSession };
    return [{ kind: "session", change: change.change, session: sessionView(change.session, now) }];
  });
  source.addEventListener("open", () => {
    onState("live");
    if (opened) loadFleet(api, store).catch(onProblem);
    opened = true;
  });
  source.addEventListener("error", () => onState("reconnecting"));
  return () => source.close();
}
