/**
 * The wms-agent server: `WmsSessionService`, `grpc.health.v1.Health` and server reflection on one
 * grpc-js server, with an explicit lifecycle.
 *
 * Lifecycle (`AgentState`):
 * - `starting`: bound, health `NOT_SERVING` until the backend first answers;
 * - `serving`: health `SERVING`;
 * - `backend-unavailable`: the backend stopped answering; health `NOT_SERVING`, calls still
 *   answered (with `UNAVAILABLE` where the backend is needed), probed again every interval;
 * - `draining`: shutdown started; health `NOT_SERVING`, new calls refused with `UNAVAILABLE`,
 *   in-flight calls finish within `graceMs`;
 * - `stopped`: the server is down, by drain or by force.
 */
import { Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { pino, type Logger } from "pino";
import { WmsSessionServiceService } from "../../proto/gen/wms/v1/wms_session.js";
import type { AuthContext, Authorizer } from "./access.js";
import type { AuditSink } from "../audit/audit-record.js";
import { createAuditInterceptor } from "../audit/audit-interceptor.js";
import { createAuditor } from "../audit/auditor.js";
import { connectionAuthContext } from "../security/auth-context-cache.js";
import type { SessionBackend } from "../sessions/backend.js";
import { createSimulatedBackend } from "../backends/simulated.js";
import { createCallerLookup, type PeerProcessResolver } from "../caller/caller-process.js";
import type { HostAddresses } from "../caller/host-addresses.js";
import { createGrpcHandlers } from "./grpc-adapter.js";
import { decodeLeniently } from "./request-decoding.js";
import { RpcError } from "./rpc-error.js";
import { createSessionService } from "../sessions/session-service.js";
import { WMSFLEET_VERSION } from "../../common/version.js";
import { addReflection, trackServices, type ServiceTarget } from "./reflection.js";
import { createSessionWatchHub, type WatchStats } from "../sessions/session-watch.js";
import { createWatchHandler, encodeWatchMessagesOnce } from "./watch-handler.js";

/** The fully qualified name of the session service, as used by the health service. */
export const SESSION_SERVICE_NAME = "wms.v1.WmsSessionService";

/** Where the agent is in its life; see the module comment. */
export type AgentState = "starting" | "serving" | "backend-unavailable" | "draining" | "stopped";

/** How a shutdown ended: every in-flight call finished (`drained`) or the grace period ran out. */
export type ShutdownOutcome = "drained" | "forced";

/** Options of {@link startAgent}. All optional except the host name. */
export interface AgentOptions {
  /** The host's fully qualified name, answered as `host` and checked against `expected_host`. */
  hostFqdn: string;
  /** @default the simulated classroom */
  backend?: SessionBackend;
  /**
   * `HOST:PORT` addresses to bind; port 0 picks a free port (read it back from `Agent.ports`).
   * @default ["127.0.0.1:0"]
   */
  listen?: readonly string[];
  /** @default ServerCredentials.createInsecure() — callers must only do this on loopback */
  credentials?: ServerCredentials;
  /** Who may call what; `undefined` lets every caller in (insecure loopback). */
  authorize?: Authorizer;
  /**
   * Where mutating calls (disconnect, log off, message) are recorded: an intent before acting, a
   * result after; `undefined` records nothing.
   */
  audit?: AuditSink;
  /**
   * Largest audit record, in bytes of JSON; larger ones are summarised (counts and first ids
   * instead of a huge request's every id), so no caller can fill the disk through the audit log.
   * @default 65536 — a Disconnect of the 4,096 ids the contract allows (about 45 KiB) and the
   *   results of every session of a large host are recorded whole
   */
  maxAuditRecordBytes?: number;
  /** @default a silent logger */
  logger?: Logger;
  /** Milliseconds in-flight calls get to finish on shutdown before the server is forced down. @default 10000 */
  graceMs?: number;
  /** Milliseconds between backend health probes. @default 5000 */
  healthIntervalMs?: number;
  /** Calls beyond this many in flight are answered `RESOURCE_EXHAUSTED`. @default 4096 */
  maxInFlightCalls?: number;
  /**
   * Largest accepted request, in bytes; larger ones are answered `RESOURCE_EXHAUSTED`.
   * @default 1048576 — 4096 session ids take about 20 KiB
   */
  maxReceiveMessageBytes?: number;
  /**
   * Finds the process of a caller on this host (protection rule 3); `null` for none (every local
   * caller is then unresolved, and refused).
   * @default procfs and netlink on Linux, the TCP table on Windows
   */
  peerResolver?: PeerProcessResolver | null;
  /**
   * Which peers run on this host (protection rule 3 applies to them alone).
   * @default loopback and this host's interface addresses, read again after a second
   */
  hostAddresses?: HostAddresses;
  /**
   * Disconnects, log-offs and messages not waited for run at most this many at a time.
   * @default 8 — the session manager serialises most of the work; a few in parallel hide latency
   */
  maxParallelOperations?: number;
  /** Message boxes waiting for an answer at once. @default 64 (`DEFAULT_MAX_WAITING_MESSAGES`) */
  maxWaitingMessages?: number;
  /** Longest timeout of a `SendMessage` that waits, in milliseconds. @default 3600000 */
  maxMessageWaitMs?: number;
  /**
   * The clock idle times are computed with (milliseconds since the epoch): for tests and examples
   * that show a fixed moment. @default Date.now
   */
  now?: () => number;
  /** `WatchSessions` streams at once. @default 256 (`DEFAULT_MAX_WATCHERS`) */
  maxWatchers?: number;
  /** Milliseconds of silence after which a watcher gets a heartbeat. @default 15000 */
  watchHeartbeatIntervalMs?: number;
  /** Milliseconds between listings the watch makes unasked (its safety net). @default 30000 */
  watchRescanIntervalMs?: number;
}

/** A running agent. */
export interface Agent {
  /** The ports bound, in the order of `listen`. */
  readonly ports: readonly number[];
  readonly hostFqdn: string;
  readonly backend: SessionBackend;
  state(): AgentState;
  /** The counters of `WatchSessions` (watchers, revision, resyncs). */
  watchStats(): WatchStats;
  /**
   * Health `NOT_SERVING`, refuse new calls, let in-flight calls finish within `graceMs`, then
   * force the server down. Resolves once stopped; a second call returns the same promise.
   */
  shutdown(options?: { graceMs?: number }): Promise<ShutdownOutcome>;
}

/** Builds the server, binds every `listen` address and starts probing the backend. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const backend = options.backend ?? createSimulatedBackend();
  const logger = options.logger ?? pino({ enabled: false });
  const graceMs = options.graceMs ?? 10_000;
  const listen = options.listen ?? ["127.0.0.1:0"];
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  const startTime = new Date();
  const ports: number[] = [];
  let state: AgentState = "starting";

  const health = new HealthImplementation({
    "": "NOT_SERVING",
    [SESSION_SERVICE_NAME]: "NOT_SERVING",
  });
  const setState = (next: AgentState) => {
    if (state === next || state === "draining" || state === "stopped") return;
    logger.info({ from: state, to: next }, "agent state");
    state = next;
    const serving = next === "serving" ? "SERVING" : "NOT_SERVING";
    health.setStatus("", serving);
    health.setStatus(SESSION_SERVICE_NAME, serving);
  };

  // Aborted when the drain starts: calls waiting for the answers of messages stop waiting.
  const drainStarted = new AbortController();
  const service = createSessionService({
    backend,
    hostFqdn: options.hostFqdn,
    version: WMSFLEET_VERSION,
    startTime,
    stopping: drainStarted.signal,
    ...defined({
      maxParallelOperations: options.maxParallelOperations,
      maxWaitingMessages: options.maxWaitingMessages,
      maxMessageWaitMs: options.maxMessageWaitMs,
      now: options.now,
    }),
    onBackendUnavailable: (error) => {
      logger.warn({ err: error }, "session backend unavailable");
      setState("backend-unavailable");
    },
  });
  const accepting = () => state !== "draining" && state !== "stopped";
  const watch = createSessionWatchHub({
    list: () => service.listBackendSessions(),
    watchChanges: backend.watchChanges?.bind(backend),
    agentSessionId: () => service.agentSessionId(),
    hostFqdn: options.hostFqdn,
    logger,
    ...defined({
      maxWatchers: options.maxWatchers,
      heartbeatIntervalMs: options.watchHeartbeatIntervalMs,
      rescanIntervalMs: options.watchRescanIntervalMs,
      now: options.now,
    }),
  });
  const auditor =
    options.audit === undefined
      ? undefined
      : createAuditor({
          sink: options.audit,
          logger,
          ...defined({ maxAuditRecordBytes: options.maxAuditRecordBytes }),
        });
  const handlers = createGrpcHandlers({
    service,
    logger,
    accepting,
    watchSessions: createWatchHandler({
      hub: watch,
      hostFqdn: options.hostFqdn,
      logger,
      accepting,
      authorize: options.authorize,
    }),
    authorize: options.authorize,
    callerProcess: createCallerLookup({
      backend,
      ...(options.peerResolver === undefined ? {} : { resolver: options.peerResolver }),
      ...(options.hostAddresses === undefined ? {} : { hostAddresses: options.hostAddresses }),
      localPorts: () => ports,
      logger,
    }),
    maxInFlightCalls: options.maxInFlightCalls ?? 4096,
  });

  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 1024 * 1024,
    // channelz stays on: with it off, grpc-js 1.14 does not track sessions in the map that
    // forceShutdown() destroys, so a forced shutdown would leave in-flight calls hanging.
    // The audit interceptor comes first (nearest the network): it must see every call's end.
    interceptors: [createAuditInterceptor({ auditor, authorize: options.authorize, logger })],
  });
  // Reflection lists what is mounted through `mounts`, and goes last.
  const mounts = trackServices(server);
  mounts.addService(encodeWatchMessagesOnce(decodeLeniently(WmsSessionServiceService)), handlers);
  const healthMount = mountHealth(mounts, options.authorize);
  health.addToServer(healthMount.server);
  addReflection(mounts, { target: mountReflection(mounts, options.authorize) });

  try {
    for (const address of listen) {
      ports.push(await bind(server, address, credentials));
    }
  } catch (error) {
    server.forceShutdown();
    await backend.close();
    throw error;
  }
  logger.info({ listen, ports, host: options.hostFqdn, backend: backend.name }, "agent listening");

  const probe = async () => {
    try {
      setState((await backend.isHealthy()) ? "serving" : "backend-unavailable");
    } catch (error) {
      logger.warn({ err: error }, "backend health probe failed");
      setState("backend-unavailable");
    }
  };
  await probe();
  const timer = setInterval(() => void probe(), options.healthIntervalMs ?? 5000);
  timer.unref();

  let stopping: Promise<ShutdownOutcome> | undefined;
  return {
    ports,
    hostFqdn: options.hostFqdn,
    backend,
    state: () => state,
    watchStats: () => watch.stats(),
    shutdown(shutdownOptions = {}) {
      stopping ??= (async () => {
        clearInterval(timer);
        health.setStatus("", "NOT_SERVING");
        health.setStatus(SESSION_SERVICE_NAME, "NOT_SERVING");
        logger.info({ from: state, to: "draining" }, "agent state");
        state = "draining";
        healthMount.endWatches();
        watch.close();
        drainStarted.abort();
        const outcome = await drain(server, shutdownOptions.graceMs ?? graceMs);
        if (outcome === "forced") {
          await auditor?.abandonOpenCalls(
            "the agent was stopped at the end of its grace period while this call was under way: it may have acted; compare with the sessions (wmsctl get)",
          );
        }
        state = "stopped";
        logger.info({ outcome }, "agent stopped");
        await backend.close();
        return outcome;
      })();
      return stopping;
    },
  };
}

/** The entries of `options` that are set, as `exactOptionalPropertyTypes` wants them passed. */
function defined<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error !== null) reject(new Error(`cannot listen on ${address}: ${error.message}`));
      else resolve(port);
    });
  });
}

function drain(server: Server, graceMs: number): Promise<ShutdownOutcome> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve("forced");
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve("drained");
    });
  });
}

/** What the reflection guard needs of a grpc-js call (the bidi stream `ServerReflectionInfo`). */
interface ReflectionCall {
  getAuthContext(): AuthContext;
  getPeer(): string;
  emit(event: "error", error: unknown): boolean;
}

/**
 * The view of the server that `ReflectionService.addToServer` gets: each reflection stream is
 * authorized (`reader` territory under mutual TLS) before the reflection handler sees it, so a
 * refused caller is answered with the status alone, before any of its requests is read. Without
 * an authorizer (`--insecure-loopback`) the services are mounted as they are.
 */
function mountReflection(
  server: ServiceTarget,
  authorize: Authorizer | undefined,
): { addService(definition: ServiceDefinition, implementation: object): void } {
  return {
    addService(definition, implementation) {
      if (authorize === undefined) {
        server.addService(definition, implementation as never);
        return;
      }
      // The path says which protocol version this is: /grpc.reflection.v1alpha.ServerReflection/...
      const rpc = Object.values(definition).some((method) => method.path.includes(".v1alpha."))
        ? "ReflectionV1Alpha"
        : "ReflectionV1";
      const guarded: Record<string, unknown> = {};
      for (const [name, handler] of Object.entries(implementation)) {
        guarded[name] = (call: ReflectionCall) => {
          try {
            authorize({ rpc, authContext: connectionAuthContext(call), peer: call.getPeer() });
          } catch (error) {
            call.emit("error", RpcError.from(error).toServiceError());
            return;
          }
          (handler as (call: ReflectionCall) => void)(call);
        };
      }
      server.addService(definition, guarded as never);
    },
  };
}

/** What the health guard needs of a grpc-js call (unary `Check` or streaming `Watch`). */
interface HealthCall {
  getAuthContext(): AuthContext;
  getPeer(): string;
  emit(event: "error", error: unknown): boolean;
  once(event: "close" | "finish" | "cancelled", listener: () => void): unknown;
  end?: () => void;
}

/** The health service's server side, as the agent wraps it. */
interface HealthMount {
  /** The view of the server to pass to `HealthImplementation.addToServer`. */
  readonly server: { addService(definition: ServiceDefinition, implementation: object): void };
  /** Ends every open `Watch` stream (after the final `NOT_SERVING` was sent), so a drain can finish. */
  endWatches(): void;
}

/**
 * Mounts the health service with two additions: the authorizer runs before each call (health is
 * `reader` territory under mutual TLS), and open `Watch` streams are tracked so that a shutdown
 * can end them instead of waiting for the grace period (a watching monitor would otherwise hold
 * every drain until it is forced).
 */
function mountHealth(server: ServiceTarget, authorize: Authorizer | undefined): HealthMount {
  const watches = new Set<HealthCall>();
  return {
    endWatches() {
      for (const call of watches) call.end?.();
      watches.clear();
    },
    server: {
      addService(definition, implementation) {
        const guarded: Record<string, unknown> = {};
        for (const [name, handler] of Object.entries(implementation)) {
          // grpc-js matches implementations by method name or its camelCase `originalName`.
          const streaming = Object.entries(definition).some(
            ([method, def]) => (method === name || def.originalName === name) && def.responseStream,
          );
          guarded[name] = (call: HealthCall, callback?: (error: unknown) => void) => {
            try {
              authorize?.({
                rpc: "Health",
                authContext: connectionAuthContext(call),
                peer: call.getPeer(),
              });
            } catch (error) {
              const status = RpcError.from(error).toServiceError();
              if (callback !== undefined) callback(status);
              else call.emit("error", status);
              return;
            }
            if (streaming) {
              watches.add(call);
              call.once("cancelled", () => watches.delete(call));
              call.once("finish", () => watches.delete(call));
            }
            (handler as (call: HealthCall, callback?: unknown) => void)(call, callback);
          };
        }
        server.addService(definition, guarded as never);
      },
    },
  };
}
