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
import { Server, type ServerInterceptingCallInterface } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { WmsSessionServiceService } from "../../proto/gen/wms/v1/wms_session.js";
import type { AuthContext } from "./access.js";
import { createAuditInterceptor } from "../audit/audit-interceptor.js";
import { createAuditor } from "../audit/auditor.js";
import { resolveAgentOptions, type AgentOptions } from "./agent-options.js";
import { createCallChain } from "./call-chain.js";
import { listen, type Listener } from "./listener.js";
import { createRefusalLimiter } from "../security/refusal-limiter.js";
import type { SessionBackend } from "../sessions/backend.js";
import { createSimulatedBackend } from "../backends/simulated.js";
import { createCallerLookup } from "../caller/caller-process.js";
import { createGrpcHandlers } from "./grpc-adapter.js";
import { decodeLeniently } from "./request-decoding.js";
import { addReflection, trackServices } from "./reflection.js";
import { createSessionWatchHub, type WatchStats } from "../sessions/session-watch.js";
import { createWatchHandler, encodeWatchMessagesOnce } from "./watch-handler.js";
import { createSessionService } from "../sessions/session-service.js";
import { WMSFLEET_VERSION } from "../../common/version.js";

export type { AgentOptions } from "./agent-options.js";

/** The fully qualified name of the session service, as used by the health service. */
export const SESSION_SERVICE_NAME = "wms.v1.WmsSessionService";

/** Where the agent is in its life; see the module comment. */
export type AgentState = "starting" | "serving" | "backend-unavailable" | "draining" | "stopped";

/**
 * How a shutdown ended: every connection closed once its calls had answered (`drained`), or the
 * grace period ran out first (`forced`: what was still open was cut).
 */
export type ShutdownOutcome = "drained" | "forced";

/** A running agent. */
export interface Agent {
  /** The ports bound, in the order of `listen`. */
  readonly ports: readonly number[];
  readonly hostFqdn: string;
  readonly backend: SessionBackend;
  state(): AgentState;
  /** TCP connections open now, TLS handshakes in progress included. */
  openConnections(): number;
  /** The counters of `WatchSessions` (watchers, revision, resyncs). */
  watchStats(): WatchStats;
  /**
   * Health `NOT_SERVING`, refuse new calls, let in-flight calls finish within `graceMs`, then
   * force the server down. Resolves once stopped; a second call returns the same promise.
   */
  shutdown(options?: { graceMs?: number }): Promise<ShutdownOutcome>;
}

/** Builds the server, binds every `listen` address and starts probing the backend. */
export async function startAgent(agentOptions: AgentOptions): Promise<Agent> {
  const options = resolveAgentOptions(agentOptions);
  const { logger } = options;
  const backend = options.backend ?? createSimulatedBackend();
  const startTime = new Date();
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
    maxParallelOperations: options.maxParallelOperations,
    maxParallelOperationsPerRequest: options.maxParallelOperationsPerRequest,
    maxWaitingMessages: options.maxWaitingMessages,
    maxMessageWaitMs: options.maxMessageWaitMs,
    now: options.now,
    onBackendUnavailable: (error) => {
      logger.warn({ err: error }, "session backend unavailable");
      setState("backend-unavailable");
    },
  });
  const watch = createSessionWatchHub({
    list: () => service.listBackendSessions(),
    watchChanges: backend.watchChanges?.bind(backend),
    agentSessionId: () => service.agentSessionId(),
    hostFqdn: options.hostFqdn,
    logger,
    maxWatchers: options.maxWatchers,
    heartbeatIntervalMs: options.watchHeartbeatIntervalMs,
    rescanIntervalMs: options.watchRescanIntervalMs,
    now: options.now,
  });

  let listener: Listener | undefined;
  /** A call's auth context, read once per connection (see `listener.ts`). */
  const connectionAuthContext = (call: ServerInterceptingCallInterface): AuthContext => {
    const connection = listener?.connection(call.getConnectionInfo());
    return connection === undefined
      ? call.getAuthContext()
      : connection.authContext(() => call.getAuthContext());
  };
  const chain = createCallChain({
    logger,
    connections: { connection: (endpoints) => listener?.connection(endpoints) },
    authorize: options.authorize,
    accepting: () => state !== "draining" && state !== "stopped",
    maxInFlightCalls: options.maxInFlightCalls,
    refusals: createRefusalLimiter({
      burst: options.maxRefusedCallBurst,
      perMinute: options.refusedCallsPerMinute,
    }),
  });
  const auditor =
    options.audit === undefined
      ? undefined
      : createAuditor({
          sink: options.audit,
          logger,
          maxAuditRecordBytes: options.maxAuditRecordBytes,
        });
  const server = new Server({
    // The audit interceptor comes first (nearest the network): it must see every call's end,
    // the chain's refusals included.
    interceptors: [
      createAuditInterceptor({
        auditor,
        authorize: options.authorize,
        logger,
        authContextOf: (call) => connectionAuthContext(call),
      }),
      ...chain.interceptors,
    ],
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
    "grpc.max_concurrent_streams": options.maxConcurrentStreams,
    "grpc.max_connection_idle_ms": options.maxConnectionIdleMs,
    "grpc.keepalive_time_ms": options.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs,
    // channelz stays on: with it off, grpc-js 1.14 does not track sessions in the map that
    // forceShutdown() destroys, so a forced shutdown would leave in-flight calls hanging.
  });
  // Reflection lists what is mounted through `mounts`, and goes last.
  const mounts = trackServices(server);
  mounts.addService(
    encodeWatchMessagesOnce(decodeLeniently(WmsSessionServiceService)),
    createGrpcHandlers({
      service,
      logger,
      watchSessions: createWatchHandler({ hub: watch, hostFqdn: options.hostFqdn, logger }),
      callerProcess: createCallerLookup({
        backend,
        ...(options.peerResolver === undefined ? {} : { resolver: options.peerResolver }),
        ...(options.hostAddresses === undefined ? {} : { hostAddresses: options.hostAddresses }),
        // Only when a call's own local endpoint is unknown (its connection already closed).
        localPorts: () => listener?.ports ?? [],
        logger,
      }),
    }),
  );
  health.addToServer(mounts);
  addReflection(mounts);

  try {
    listener = await listen(options.listen, {
      injector: server.createConnectionInjector(options.credentials),
      maxConnections: options.maxConnections,
      logger,
    });
  } catch (error) {
    server.forceShutdown();
    await backend.close();
    throw error;
  }
  const bound = listener;
  logger.info(
    { listen: options.listen, ports: bound.ports, host: options.hostFqdn, backend: backend.name },
    "agent listening",
  );

  const probe = async () => {
    try {
      setState((await backend.isHealthy()) ? "serving" : "backend-unavailable");
    } catch (error) {
      logger.warn({ err: error }, "backend health probe failed");
      setState("backend-unavailable");
    }
  };
  await probe();
  const timer = setInterval(() => void probe(), options.healthIntervalMs);
  timer.unref();

  let stopping: Promise<ShutdownOutcome> | undefined;
  return {
    ports: bound.ports,
    hostFqdn: options.hostFqdn,
    backend,
    state: () => state,
    openConnections: () => bound.openConnections(),
    watchStats: () => watch.stats(),
    shutdown(shutdownOptions = {}) {
      stopping ??= (async () => {
        clearInterval(timer);
        health.setStatus("", "NOT_SERVING");
        health.setStatus(SESSION_SERVICE_NAME, "NOT_SERVING");
        logger.info({ from: state, to: "draining" }, "agent state");
        state = "draining";
        watch.close();
        drainStarted.abort();
        chain.endStreams();
        const outcome = await drain(
          server,
          bound,
          shutdownOptions.graceMs ?? options.graceMs,
          () => {
            const cut = chain.openCalls();
            logger.warn(
              { cut, count: cut.length, openConnections: bound.openConnections() },
              "the grace period is over: cutting the calls still in flight",
            );
          },
        );
        bound.closeAll();
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

/**
 * Lets in-flight calls finish within `graceMs`, then forces the server down.
 *
 * Drained means every connection has closed: an HTTP/2 session told to close (GOAWAY) closes its
 * connection once its last stream has ended and the answer is written, so nothing is cut when the
 * rest is torn down. grpc-js's `tryShutdown` starts that, but its callback cannot say it: it
 * waits for each session's `close` only if the session is not yet closing, and for the HTTP/2
 * server's own `close`, which for injected connections (never counted by a listening server)
 * comes at once. Node 24's `Http2Server.close()` closes every session itself (nodejs/node#57586),
 * before grpc-js looks at them, so there the callback came at once and the calls still answering
 * were cut ("Connection dropped"). The listener counts the connections itself, on every Node.
 */
function drain(
  server: Server,
  listener: Listener,
  graceMs: number,
  beforeForce: () => void,
): Promise<ShutdownOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const force = setTimeout(() => {
      settled = true;
      beforeForce();
      server.forceShutdown();
      resolve("forced");
    }, graceMs);
    const shutDown = new Promise<void>((resolveShutdown) =>
      server.tryShutdown(() => resolveShutdown()),
    );
    void Promise.all([shutDown, listener.drain()]).then(() => {
      if (settled) return;
      settled = true;
      clearTimeout(force);
      resolve("drained");
    });
  });
}
