/**
 * The controller: `WmsSessionService` and the standard health check over many hosts. Each method
 * returns an async iterable of one {@link HostResult} per target, yielded as hosts answer;
 * `expected_host` is the target's FQDN on every request, and `caller_session_id` the caller's
 * session where the target is this machine.
 */
import { Metadata, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import type {
  DisconnectAllResponse,
  DisconnectResponse,
  GetAgentInfoResponse,
  ListSessionsResponse,
  SessionFilter,
} from "../proto/gen/wms/v1/wms_session.js";
import { ChannelPool } from "./channel-pool.js";
import {
  resolveControllerOptions,
  type ControllerOptions,
  type ResolvedControllerOptions,
} from "./controller-options.js";
import { fanOut, type AttemptContext, type HostCall } from "./fan-out.js";
import { NotServingError, SESSION_SERVICE_HEALTH_NAME, type AgentHealth } from "./health-check.js";
import { HostCallError, type HostResult, type RpcName } from "./host-result.js";
import type { Target } from "./targets.js";

/** Options every controller call takes. */
export interface CallOptions {
  /** Cancels the whole run: calls in flight are cancelled and the iteration throws. */
  readonly signal?: AbortSignal;
}

/** Options of {@link Controller.disconnect} and {@link Controller.disconnectAll}. */
export interface DisconnectOptions extends CallOptions {
  /** Report what would happen and change nothing (-WhatIf). @default false */
  readonly whatIf?: boolean;
  /** Do not wait for each disconnect to complete on the host. @default false */
  readonly noWait?: boolean;
}

/** Options of {@link Controller.disconnectAll}. */
export interface DisconnectAllOptions extends DisconnectOptions {
  /** Which sessions to consider. @default every session */
  readonly filter?: SessionFilter;
}

/** Options of {@link Controller.listSessions}. */
export interface ListSessionsOptions extends CallOptions {
  /** Only these sessions (per target when a function). @default all */
  readonly sessionIds?: readonly number[] | ((target: Target) => readonly number[]);
}

/** Options of {@link Controller.checkHealth}. */
export interface CheckHealthOptions extends CallOptions {
  /**
   * The service whose health is asked; `""` is the agent as a whole.
   * @default "wms.v1.WmsSessionService"
   */
  readonly service?: string;
  /**
   * Also call `GetAgentInfo` on each serving host, on the same channel and within the same
   * deadline, so that one result per host says both whether it serves and what it is.
   * @default false
   */
  readonly agentInfo?: boolean;
}

/** The session ids of a disconnect: the same for every target, or chosen per target. */
export type SessionIdsByTarget = readonly number[] | ((target: Target) => readonly number[]);

/** A fleet client. Close it when done: it owns one channel per host. */
export interface Controller {
  readonly options: ResolvedControllerOptions;
  /** `ListSessions` on every target (Get-WmsSession). */
  listSessions(
    targets: readonly Target[],
    options?: ListSessionsOptions,
  ): AsyncIterable<HostResult<ListSessionsResponse>>;
  /** `Disconnect` of the given session ids on every target (Disconnect-WmsSession -SessionId). */
  disconnect(
    targets: readonly Target[],
    sessionIds: SessionIdsByTarget,
    options?: DisconnectOptions,
  ): AsyncIterable<HostResult<DisconnectResponse>>;
  /** `DisconnectAll` on every target (Disconnect-WmsSession -All). */
  disconnectAll(
    targets: readonly Target[],
    options?: DisconnectAllOptions,
  ): AsyncIterable<HostResult<DisconnectAllResponse>>;
  /** `GetAgentInfo` on every target: is the agent there, and what is it. */
  getAgentInfo(
    targets: readonly Target[],
    options?: CallOptions,
  ): AsyncIterable<HostResult<GetAgentInfoResponse>>;
  /**
   * `grpc.health.v1.Health/Check` on every target. A host is `ok` only when the agent answers
   * `SERVING`; any other answer is a `failed` host whose error is a {@link NotServingError}
   * (never retried: it is what the agent says now).
   */
  checkHealth(
    targets: readonly Target[],
    options?: CheckHealthOptions,
  ): AsyncIterable<HostResult<AgentHealth>>;
  /** Closes every channel; calls still in flight end with `CANCELLED`. */
  close(): void;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** One unary call, cancelled when the context's signal aborts. */
function unary<Req, Res>(method: Unary<Req, Res>, request: Req, context: AttemptContext) {
  return new Promise<Res>((resolve, reject) => {
    const onAbort = () => call.cancel();
    const call = method(request, new Metadata(), { deadline: context.deadline }, (error, res) => {
      context.signal.removeEventListener("abort", onAbort);
      if (error === null) resolve(res);
      else reject(error);
    });
    context.signal.addEventListener("abort", onAbort, { once: true });
  });
}

function idsFor(ids: SessionIdsByTarget | undefined, target: Target): number[] {
  if (ids === undefined) return [];
  return [...(typeof ids === "function" ? ids(target) : ids)];
}

/**
 * Creates a controller.
 * @throws TypeError on bad options (see {@link resolveControllerOptions}).
 */
export function createController(options: ControllerOptions): Controller {
  const resolved = resolveControllerOptions(options);
  const pool = new ChannelPool({
    credentials: resolved.credentials,
    channelOptions: resolved.channelOptions,
  });

  /** `{ callerSessionId }` when the target is this machine and the caller's session is known. */
  const callerSession = async (context: AttemptContext) => {
    const id = resolved.callerSessionId;
    if (id === undefined) return {};
    return (await resolved.isLocalTarget(context.target, context.signal))
      ? { callerSessionId: id }
      : {};
  };

  /** The fields every disconnect request carries: flags, the target's FQDN, the caller's session. */
  const disconnectFields = async (context: AttemptContext, callOptions: DisconnectOptions) => ({
    whatIf: callOptions.whatIf ?? false,
    noWait: callOptions.noWait ?? false,
    expectedHost: context.target.fqdn,
    ...(await callerSession(context)),
  });

  /** {@link fanOut} over this controller's channels and options. */
  const run = <T>(
    targets: readonly Target[],
    rpc: RpcName,
    call: HostCall<T>,
    signal: AbortSignal | undefined,
  ) => fanOut(targets, rpc, call, pool, resolved, signal);

  return {
    options: resolved,
    listSessions(targets, callOptions = {}) {
      return run(
        targets,
        "ListSessions",
        (context) =>
          unary(
            context.client.listSessions.bind(context.client),
            {
              sessionIds: idsFor(callOptions.sessionIds, context.target),
              expectedHost: context.target.fqdn,
            },
            context,
          ),
        callOptions.signal,
      );
    },
    disconnect(targets, sessionIds, callOptions = {}) {
      return run(
        targets,
        "Disconnect",
        async (context) =>
          unary(
            context.client.disconnect.bind(context.client),
            {
              sessionIds: idsFor(sessionIds, context.target),
              ...(await disconnectFields(context, callOptions)),
            },
            context,
          ),
        callOptions.signal,
      );
    },
    disconnectAll(targets, callOptions = {}) {
      return run(
        targets,
        "DisconnectAll",
        async (context) =>
          unary(
            context.client.disconnectAll.bind(context.client),
            { filter: callOptions.filter, ...(await disconnectFields(context, callOptions)) },
            context,
          ),
        callOptions.signal,
      );
    },
    getAgentInfo(targets, callOptions = {}) {
      return run(
        targets,
        "GetAgentInfo",
        (context) => unary(context.client.getAgentInfo.bind(context.client), {}, context),
        callOptions.signal,
      );
    },
    checkHealth(targets, callOptions = {}) {
      const service = callOptions.service ?? SESSION_SERVICE_HEALTH_NAME;
      return run(
        targets,
        "Health/Check",
        async (context): Promise<AgentHealth> => {
          const host = context.target.fqdn;
          const health = await pool.healthClient(context.target);
          const { status } = await unary(health.check.bind(health), { service }, context);
          if (callOptions.agentInfo !== true) {
            if (status !== "SERVING") throw new NotServingError(host, service, status);
            return { service, status };
          }
          const info = unary(context.client.getAgentInfo.bind(context.client), {}, context);
          if (status !== "SERVING") {
            // Best effort: what a failing agent is helps, but its health is the answer.
            const agentInfo = await info.catch(() => undefined);
            throw new NotServingError(host, service, status, agentInfo);
          }
          const agentInfo = await info.catch((error: unknown) => {
            throw HostCallError.from(error, host, "GetAgentInfo");
          });
          return { service, status, agentInfo };
        },
        callOptions.signal,
      );
    },
    close() {
      pool.close();
    },
  };
}
