/**
 * The console's Prometheus metrics (`GET /metrics`, text format), from one registry per console:
 * - `windows_terminal_services_session_info{server,session_name,user,host,state}`: 1 for each
 *   session of the fleet, named as windows_exporter's terminal_services collector names it
 *   (`session_name` the WinStation, `user` DOMAIN\user, `host` the client's name, `state`
 *   lowercase), plus `server`, the agent's host. Unlike windows_exporter, which writes a series
 *   for each of the ten states of each session (0 for the nine it is not in), only the current
 *   state is written: ten times fewer series for a fleet of 20,000 sessions.
 * - `wmsconsole_sessions{server,state}`: sessions by host and state;
 * - `wmsconsole_session_idle_seconds{server,session_name,user}`: idle time where it is known;
 * - `wmsconsole_hosts{status}`: hosts by status (online, unreachable, denied, draining, unknown);
 * - `wmsconsole_action_hosts_total{action,what_if,status}` and
 *   `wmsconsole_action_sessions_total{action,what_if,outcome}`: actions and their outcomes;
 * - `wmsconsole_rpc_duration_seconds{action,status}`: each host's time in an action, a histogram;
 * - the process's own (`wmsconsole_process_*`, `wmsconsole_nodejs_*`: memory, CPU, event loop).
 * The fleet's gauges are computed when scraped, from the console's live view.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ActionHostResult } from "../api/types.js";
import type { Fleet } from "../fleet/fleet.js";

/** The metrics of one console. */
export interface ConsoleMetrics {
  readonly registry: Registry;
  /** Counts a host's result of an action and its sessions' `outcomes` (counts by outcome). */
  recordAction(
    action: string,
    whatIf: boolean,
    result: ActionHostResult,
    outcomes: Readonly<Record<string, number>>,
  ): void;
  /** The text format, and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Creates the metrics of a console watching `fleet`. */
export function createConsoleMetrics(fleet: Fleet): ConsoleMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "wmsconsole_" });

  new Gauge({
    name: "windows_terminal_services_session_info",
    help: "Terminal Services sessions of the fleet, 1 per session in its current state (windows_exporter's names, plus server: the agent's host)",
    labelNames: ["server", "session_name", "user", "host", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of fleet.sessions()) {
        this.set(
          {
            server: s.host,
            session_name: s.station,
            user: s.user === "" ? "" : s.domain === "" ? s.user : `${s.domain}\\${s.user}`,
            host: s.client,
            state: s.state.toLowerCase(),
          },
          1,
        );
      }
    },
  });
  new Gauge({
    name: "wmsconsole_sessions",
    help: "Sessions by host and state",
    labelNames: ["server", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const host of fleet.hosts()) {
        for (const [state, count] of Object.entries(host.counts)) {
          this.set({ server: host.host, state: state.toLowerCase() }, count);
        }
      }
    },
  });
  new Gauge({
    name: "wmsconsole_session_idle_seconds",
    help: "Seconds since the session's last input, where the host knows it",
    labelNames: ["server", "session_name", "user"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of fleet.sessions()) {
        if (s.idleSeconds === null) continue;
        this.set(
          {
            server: s.host,
            session_name: s.station,
            user: s.domain === "" ? s.user : `${s.domain}\\${s.user}`,
          },
          s.idleSeconds,
        );
      }
    },
  });
  new Gauge({
    name: "wmsconsole_hosts",
    help: "Hosts by status",
    labelNames: ["status"] as const,
    registers: [registry],
    collect() {
      for (const [status, count] of Object.entries(fleet.statusCounts())) {
        this.set({ status }, count);
      }
    },
  });
  const actionHosts = new Counter({
    name: "wmsconsole_action_hosts_total",
    help: "Hosts' results of actions (disconnect, logoff, message), by status",
    labelNames: ["action", "what_if", "status"] as const,
    registers: [registry],
  });
  const actionSessions = new Counter({
    name: "wmsconsole_action_sessions_total",
    help: "Sessions' results of actions, by outcome",
    labelNames: ["action", "what_if", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "wmsconsole_rpc_duration_seconds",
    help: "Each host's time in an action, retries included",
    labelNames: ["action", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  return {
    registry,
    recordAction(action, whatIf, result, outcomes) {
      const what_if = String(whatIf);
      actionHosts.inc({ action, what_if, status: result.status });
      // One increment per outcome, not per session: a host's 20 sessions are 20 label lookups.
      for (const [outcome, count] of Object.entries(outcomes)) {
        actionSessions.inc({ action, what_if, outcome }, count);
      }
      if (result.status !== "unknown-host") {
        duration.observe({ action, status: result.status }, result.durationMs / 1000);
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
