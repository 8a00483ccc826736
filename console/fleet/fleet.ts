/**
 * The console's live view of the fleet: per host one warm channel (the controller's) and one
 * `WatchSessions` stream, reopened with jittered backoff after it is lost, with at most
 * {@link FleetOptions.maxConcurrentConnects} connection attempts in progress at once. Each host
 * has a status (`online`, `unreachable`, `denied`, `draining`, `unknown`), the time of its last
 * answer, its version and backend (`GetAgentInfo` once per connection), and its sessions, kept
 * from the stream's snapshot and changes. Listeners hear of every change as an {@link ApiEvent}.
 *
 * A host that is not online shows no sessions: what it had is not known any more. When it comes
 * back, its snapshot brings them back (`sessions` event with `replace: true`).
 */
import type { Logger } from "pino";
import {
  watchBackoffMs,
  type Controller,
  type Target,
  type WatchDisconnected,
} from "../../controller/index.js";
import { ChangeKind, type Session } from "../../proto/gen/wms/v1/wms_session.js";
import type {
  ApiEvent,
  ApiHost,
  ApiHostStatus,
  ApiSession,
  ApiSessionChange,
  ApiSessionState,
} from "../api/types.js";
import { ConnectSlots } from "./connect-slots.js";
import { apiChange, apiSession, stateName } from "./sessions-view.js";

/**
 * Connection attempts in progress at once unless told otherwise: 32 handshakes at a time keep
 * grpc-js's connection start-up from holding the event loop for long, and still bring 1,000
 * hosts up in a fraction of a second on a LAN.
 */
export const DEFAULT_MAX_CONCURRENT_CONNECTS = 32;

/** Options of {@link createFleet}. */
export interface FleetOptions {
  /** The controller whose channels and watches the fleet uses (the console's one). */
  readonly controller: Controller;
  readonly logger: Logger;
  /** @default {@link DEFAULT_MAX_CONCURRENT_CONNECTS} */
  readonly maxConcurrentConnects?: number;
  /** Wall clock, ms (times shown, idle times). @default Date.now */
  readonly now?: () => number;
}

/** One host's state, as the fleet keeps it. */
interface HostState {
  target: Target;
  status: ApiHostStatus;
  since: number;
  lastAnswer: number | undefined;
  lastChange: number | undefined;
  version: string | undefined;
  backend: string | undefined;
  problem: { code: string; message: string } | undefined;
  sessions: Map<number, Session>;
  readonly stop: AbortController;
  done: Promise<void>;
}

/** What a reload changed. */
export interface FleetChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Hosts whose address changed: their watch starts again. */
  readonly moved: readonly string[];
}

/** The live fleet. */
export interface Fleet {
  /** Sets the hosts to watch: starts new ones, stops removed ones, restarts moved ones. */
  setTargets(targets: readonly Target[]): FleetChange;
  /** Every host, in inventory order. */
  hosts(): ApiHost[];
  /** One host, by FQDN. */
  host(fqdn: string): ApiHost | undefined;
  /** The target of a host, by FQDN (as the inventory names it). */
  target(fqdn: string): Target | undefined;
  /** Every host's target, in inventory order (without working out each host's view). */
  targets(): Target[];
  /** Every session of every online host, now. */
  sessions(): ApiSession[];
  /** How many hosts have each status. */
  statusCounts(): Record<ApiHostStatus, number>;
  /** Hears every change; returns the function that stops listening. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  /** Stops every watch and waits for them to end. */
  close(): Promise<void>;
}

const STATUS_OF: Readonly<Record<WatchDisconnected["status"], ApiHostStatus>> = {
  unreachable: "unreachable",
  timeout: "unreachable",
  failed: "unreachable",
  denied: "denied",
  ended: "draining",
};

/** Creates a fleet that watches nothing yet ({@link Fleet.setTargets} gives it hosts). */
export function createFleet(options: FleetOptions): Fleet {
  const { controller, logger } = options;
  const now = options.now ?? Date.now;
  const slots = new ConnectSlots(options.maxConcurrentConnects ?? DEFAULT_MAX_CONCURRENT_CONNECTS);
  const states = new Map<string, HostState>();
  const listeners = new Set<(event: ApiEvent) => void>();
  let closed = false;

  const emit = (event: ApiEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error }, "a fleet listener failed");
      }
    }
  };

  const view = (state: HostState): ApiHost => {
    const counts: Partial<Record<ApiSessionState, number>> = {};
    let locked = 0;
    for (const session of state.sessions.values()) {
      const name = stateName(session);
      counts[name] = (counts[name] ?? 0) + 1;
      if (session.locked) locked += 1;
    }
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      host: state.target.fqdn,
      address: `${state.target.address.host.includes(":") ? `[${state.target.address.host}]` : state.target.address.host}:${state.target.address.port}`,
      status: state.status,
      since: new Date(state.since).toISOString(),
      lastAnswer: iso(state.lastAnswer),
      lastChange: iso(state.lastChange),
      version: state.version ?? null,
      backend: state.backend ?? null,
      counts,
      locked,
      problem: state.problem ?? null,
    };
  };

  const setStatus = (
    state: HostState,
    status: ApiHostStatus,
    problem: HostState["problem"],
  ): void => {
    const changed = state.status !== status || state.problem?.message !== problem?.message;
    if (state.status !== status) state.since = now();
    state.status = status;
    state.problem = problem;
    if (changed) emit({ type: "host", host: view(state) });
  };

  const clearSessions = (state: HostState) => {
    if (state.sessions.size === 0) return;
    state.sessions = new Map();
    state.lastChange = now();
    emit({ type: "sessions", host: state.target.fqdn, replace: true, changes: [] });
  };

  const fetchInfo = async (state: HostState, signal: AbortSignal) => {
    try {
      for await (const result of controller.getAgentInfo([state.target], { signal })) {
        if (result.status !== "ok") return;
        state.version = result.response.version;
        state.backend = result.response.backend;
        state.lastAnswer = now();
        if (!signal.aborted) emit({ type: "host", host: view(state) });
      }
    } catch {
      // Aborted: the watch ended first.
    }
  };

  async function watchLoop(state: HostState): Promise<void> {
    const signal = state.stop.signal;
    let failures = 0;
    while (!signal.aborted) {
      let release: () => void;
      try {
        release = await slots.acquire(signal);
      } catch {
        return;
      }
      const attempt = new AbortController();
      const onStop = () => attempt.abort(signal.reason);
      signal.addEventListener("abort", onStop, { once: true });
      let ended: WatchDisconnected | undefined;
      try {
        for await (const event of controller.watch([state.target], { signal: attempt.signal })) {
          switch (event.kind) {
            case "connected":
              release();
              state.lastAnswer = now();
              setStatus(state, "online", undefined);
              void fetchInfo(state, attempt.signal);
              break;
            case "snapshot": {
              release();
              state.lastAnswer = now();
              state.lastChange = now();
              state.sessions = new Map(event.sessions.map((s) => [s.sessionId, s]));
              const time = now();
              emit({
                type: "sessions",
                host: state.target.fqdn,
                replace: true,
                changes: event.sessions.map((s) =>
                  apiChange(state.target.fqdn, ChangeKind.ADDED, s, time),
                ),
              });
              emit({ type: "host", host: view(state) });
              break;
            }
            case "changes": {
              const time = now();
              state.lastAnswer = time;
              state.lastChange = time;
              const changes: ApiSessionChange[] = [];
              for (const change of event.changes) {
                const session = change.session;
                if (session === undefined) continue;
                if (change.kind === ChangeKind.REMOVED) state.sessions.delete(session.sessionId);
                else state.sessions.set(session.sessionId, session);
                changes.push(apiChange(state.target.fqdn, change.kind, session, time));
              }
              emit({ type: "sessions", host: state.target.fqdn, replace: false, changes });
              emit({ type: "host", host: view(state) });
              break;
            }
            case "heartbeat":
              state.lastAnswer = now();
              break;
            case "disconnected":
              release();
              ended = event;
              break;
          }
          if (ended !== undefined) break;
        }
      } catch (error) {
        if (!signal.aborted) logger.warn({ err: error, host: state.target.fqdn }, "watch failed");
      } finally {
        release();
        signal.removeEventListener("abort", onStop);
        attempt.abort();
      }
      if (signal.aborted) return;
      // A stream that delivered its snapshot was a success: the count starts again.
      failures = ended?.wasConnected === true ? 1 : failures + 1;
      clearSessions(state);
      setStatus(state, ended === undefined ? "unreachable" : STATUS_OF[ended.status], {
        code: ended?.code ?? "UNKNOWN",
        message: ended?.message ?? "the watch ended",
      });
      try {
        await controller.options.delay(watchBackoffMs(failures, controller.options), signal);
      } catch {
        return;
      }
    }
  }

  const start = (target: Target) => {
    const state: HostState = {
      target,
      status: "unknown",
      since: now(),
      lastAnswer: undefined,
      lastChange: undefined,
      version: undefined,
      backend: undefined,
      problem: undefined,
      sessions: new Map(),
      stop: new AbortController(),
      done: Promise.resolve(),
    };
    states.set(target.fqdn, state);
    state.done = watchLoop(state);
    emit({ type: "host", host: view(state) });
  };

  const stop = (state: HostState) => {
    state.stop.abort(new Error("the host left the fleet"));
    states.delete(state.target.fqdn);
    emit({ type: "host-removed", host: state.target.fqdn });
    return state.done;
  };

  return {
    setTargets(targets) {
      if (closed) throw new Error("the fleet is closed");
      const wanted = new Map(targets.map((t) => [t.fqdn, t]));
      const added: string[] = [];
      const removed: string[] = [];
      const moved: string[] = [];
      for (const [fqdn, state] of [...states]) {
        const target = wanted.get(fqdn);
        if (target === undefined) {
          removed.push(fqdn);
          void stop(state);
        } else if (
          target.address.host !== state.target.address.host ||
          target.address.port !== state.target.address.port
        ) {
          moved.push(fqdn);
          void stop(state);
        }
      }
      for (const target of targets) {
        if (states.has(target.fqdn)) continue;
        if (!moved.includes(target.fqdn)) added.push(target.fqdn);
        start(target);
      }
      return { added, removed, moved };
    },
    hosts: () => [...states.values()].map(view),
    host(fqdn) {
      const state = states.get(fqdn);
      return state === undefined ? undefined : view(state);
    },
    target: (fqdn) => states.get(fqdn)?.target,
    targets: () => [...states.values()].map((state) => state.target),
    sessions() {
      const time = now();
      return [...states.values()].flatMap((state) =>
        [...state.sessions.values()].map((s) => apiSession(state.target.fqdn, s, time)),
      );
    },
    statusCounts() {
      const counts: Record<ApiHostStatus, number> = {
        online: 0,
        unreachable: 0,
        denied: 0,
        draining: 0,
        unknown: 0,
      };
      for (const state of states.values()) counts[state.status] += 1;
      return counts;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      const running = [...states.values()];
      for (const state of running) state.stop.abort(new Error("the console is stopping"));
      states.clear();
      await Promise.all(running.map((state) => state.done));
      listeners.clear();
    },
  };
}
