/**
 * The controller: `WmsSessionService` and the standard health check over many hosts. Each method
 * returns an async iterable of one {@link HostResult} per target, yielded as hosts answer;
 * `expected_host` is the target's FQDN on every request, and `caller_session_id` the caller's
 * session where the target is this machine.
 */
import { Metadata, status as Status, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import {
  SessionFilter,
  type DisconnectAllResponse,
  type DisconnectRequest,
  type DisconnectResponse,
  type GetAgentInfoResponse,
  type ListSessionsResponse,
  type LogoffAllResponse,
  type LogoffResponse,
  type SendMessageResponse,
  type WmsSessionServiceClient,
} from "../proto/gen/wms/v1/wms_session.js";
import { answersFor } from "./answers-for.js";
import { ChannelPool, wasDispatched } from "./channel-pool.js";
import {
  resolveControllerOptions,
  type ControllerOptions,
  type ResolvedControllerOptions,
} from "./controller-options.js";
import { fanOut, type AttemptContext, type HostCall } from "./fan-out.js";
import { NotServingError, SESSION_SERVICE_HEALTH_NAME, type AgentHealth } from "./health-check.js";
import { formatHostPort } from "./host-name.js";
import { HostCallError, MUTATING_RPCS, type HostResult, type RpcName } from "./host-result.js";
import { messageFields, type MessageOptions } from "./message.js";
import {
  ACTION_VERBS,
  ACTOR_METADATA_KEY,
  checkActor,
  idsFor,
  type ActionOptions,
  type ActionResponse,
  type CallOptions,
  type SessionAction,
  type SessionIdsByTarget,
  type SessionSelection,
} from "./session-actions.js";
import { compileUserPattern } from "./session-filter.js";
import type { Target } from "./targets.js";
import { warnThenAct, type WarnThenActOptions, type WarnThenActResponse } from "./warn-then-act.js";
import { watchFleet, type WatchEvent } from "./watch.js";

export type { CallOptions, SessionIdsByTarget };
export { answersFor };

/** Options of {@link Controller.disconnect} and {@link Controller.disconnectAll}. */
export type DisconnectOptions = ActionOptions;

/** Options of {@link Controller.disconnectAll}. */
export interface DisconnectAllOptions extends DisconnectOptions {
  /** Which sessions to consider. @default every session */
  readonly filter?: SessionFilter;
}

/** Options of {@link Controller.logoff}. */
export type LogoffOptions = ActionOptions;

/** Options of {@link Controller.logoffAll}. */
export type LogoffAllOptions = DisconnectAllOptions;

/** Options of {@link Controller.listSessions}. */
export interface ListSessionsOptions extends CallOptions {
  /** Only these sessions (per target when a function). @default all */
  readonly sessionIds?: SessionIdsByTarget;
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
  /**
   * `DisconnectAll` on every target (Disconnect-WmsSession -All).
   * @throws TypeError when the filter's user name pattern is one every agent refuses (see
   *   `compileUserPattern`); nothing is sent. So do {@link logoffAll} and {@link act}.
   */
  disconnectAll(
    targets: readonly Target[],
    options?: DisconnectAllOptions,
  ): AsyncIterable<HostResult<DisconnectAllResponse>>;
  /** `Logoff` of the given session ids on every target (Close-WmsSession, `logoff`). */
  logoff(
    targets: readonly Target[],
    sessionIds: SessionIdsByTarget,
    options?: LogoffOptions,
  ): AsyncIterable<HostResult<LogoffResponse>>;
  /** `LogoffAll` on every target: every session that matches the filter. */
  logoffAll(
    targets: readonly Target[],
    options?: LogoffAllOptions,
  ): AsyncIterable<HostResult<LogoffAllResponse>>;
  /**
   * A verb chosen at run time: `Disconnect`/`Logoff` for ids, `DisconnectAll`/`LogoffAll` for
   * `kind: "all"`. The named methods above are this with the verb fixed.
   */
  act(
    action: SessionAction,
    targets: readonly Target[],
    selection: SessionSelection,
    options?: ActionOptions,
  ): AsyncIterable<HostResult<ActionResponse>>;
  /**
   * `SendMessage` on every target: a message box in the selected sessions (`msg`,
   * Send-RDUserMessage), with the users' answers when `wait` is set.
   * @throws TypeError at once, before anything is sent, for a message the agent would refuse.
   */
  sendMessage(
    targets: readonly Target[],
    selection: SessionSelection,
    message: MessageOptions,
  ): AsyncIterable<HostResult<SendMessageResponse>>;
  /**
   * Warn, then act: a message, a grace period, a second look, then the action on the sessions
   * that still match; one result per target (see {@link warnThenAct}).
   * @throws TypeError at once for a bad grace period or warning.
   */
  warnThenAct(
    targets: readonly Target[],
    options: WarnThenActOptions,
  ): AsyncIterable<HostResult<WarnThenActResponse>>;
  /**
   * `WatchSessions` on every target, as one stream of events: each host's connection coming and
   * going, its snapshot and its changes, reconnecting by itself (see {@link watchFleet}). Runs
   * until `signal` aborts (then it throws the signal's reason) or the loop is left.
   */
  watch(targets: readonly Target[], options?: CallOptions): AsyncIterable<WatchEvent>;
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

/**
 * One unary call, cancelled when the context's signal aborts; tells the context when its request
 * was sent (an answer, or a failure after the call was on a connection to the agent).
 */
function unary<Req, Res>(
  method: Unary<Req, Res>,
  request: Req,
  context: AttemptContext,
  actor?: string,
) {
  return new Promise<Res>((resolve, reject) => {
    const onAbort = () => call.cancel();
    const metadata = new Metadata();
    if (actor !== undefined) metadata.set(ACTOR_METADATA_KEY, actor);
    const call = method(request, metadata, { deadline: context.deadline }, (error, res) => {
      context.signal.removeEventListener("abort", onAbort);
      if (error === null || wasDispatched(call, context.client)) context.requestSent();
      if (error === null) resolve(res);
      else reject(error);
    });
    context.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The by-id and for-all methods of a verb, as plain functions of one client. */
function actionMethods(client: WmsSessionServiceClient, action: SessionAction) {
  // DisconnectRequest and LogoffRequest (and the -All pair) have the same fields.
  return action === "disconnect"
    ? { ids: client.disconnect.bind(client), all: client.disconnectAll.bind(client) }
    : {
        ids: client.logoff.bind(client) as Unary<DisconnectRequest, ActionResponse>,
        all: client.logoffAll.bind(client),
      };
}

/**
 * The answer, if it comes from the host asked. An agent that names another host is not that host,
 * whatever it says: its answer is a `failed` host, never taken for the target's.
 * @throws HostCallError `FAILED_PRECONDITION` (never retried) naming both hosts.
 */
function fromTarget<T extends { readonly host: string }>(
  response: T,
  context: AttemptContext,
  rpc: RpcName,
): T {
  const fqdn = context.target.fqdn;
  if (answersFor(fqdn, response.host)) return response;
  const who = response.host === "" ? "names no host" : `is from ${response.host}`;
  // A change asked of the wrong host may have been made there.
  throw new HostCallError(
    fqdn,
    rpc,
    Status.FAILED_PRECONDITION,
    `the answer ${who}, not ${fqdn}: the agent at ${formatHostPort(context.target.address)} is not the host asked, and its answer is not taken as ${fqdn}'s; check the inventory address or --resolve`,
    { final: true, mayHaveActed: MUTATING_RPCS.has(rpc) },
  );
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
    handshakeTimeoutMs: resolved.handshakeTimeoutMs,
  });

  /** `{ callerSessionId }` when the target is this machine and the caller's session is known. */
  const callerSession = async (context: AttemptContext) => {
    const id = resolved.callerSessionId;
    if (id === undefined) return {};
    return (await resolved.isLocalTarget(context.target, context.signal))
      ? { callerSessionId: id }
      : {};
  };

  /** The fields every action carries: flags, the target's FQDN, the caller's session. */
  const actionFields = async (context: AttemptContext, callOptions: ActionOptions) => ({
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
    options: ResolvedControllerOptions = resolved,
  ) => fanOut(targets, rpc, call, pool, options, signal);

  const act: Controller["act"] = (action, targets, selection, callOptions = {}) => {
    const { rpcs } = ACTION_VERBS[action];
    checkActor(callOptions.actor);
    // A pattern every agent would refuse is refused here, before anything is sent.
    const pattern = selection.kind === "all" ? (selection.filter?.userNamePattern ?? "") : "";
    if (pattern !== "") compileUserPattern(pattern);
    if (selection.kind === "ids") {
      return run(
        targets,
        rpcs.ids,
        async (context) =>
          fromTarget(
            await unary(
              actionMethods(context.client, action).ids,
              {
                sessionIds: idsFor(selection.sessionIds, context.target),
                ...(await actionFields(context, callOptions)),
              },
              context,
              callOptions.actor,
            ),
            context,
            rpcs.ids,
          ),
        callOptions.signal,
      );
    }
    return run(
      targets,
      rpcs.all,
      async (context) =>
        fromTarget(
          await unary(
            actionMethods(context.client, action).all,
            { filter: selection.filter, ...(await actionFields(context, callOptions)) },
            context,
            callOptions.actor,
          ),
          context,
          rpcs.all,
        ),
      callOptions.signal,
    );
  };

  const sendMessage: Controller["sendMessage"] = (targets, selection, message) => {
    const fields = messageFields(message);
    checkActor(message.actor);
    // Waiting for answers takes as long as the message may stay up, plus the usual deadline.
    const timeoutMs =
      fields.wait && message.timeoutMs !== undefined
        ? resolved.timeoutMs + message.timeoutMs
        : resolved.timeoutMs;
    return run(
      targets,
      "SendMessage",
      async (context) =>
        fromTarget(
          await unary(
            context.client.sendMessage.bind(context.client),
            {
              ...fields,
              sessionIds:
                selection.kind === "ids" ? idsFor(selection.sessionIds, context.target) : [],
              filter:
                selection.kind === "all"
                  ? (selection.filter ?? SessionFilter.fromPartial({}))
                  : undefined,
              expectedHost: context.target.fqdn,
            },
            context,
            message.actor,
          ),
          context,
          "SendMessage",
        ),
      message.signal,
      { ...resolved, timeoutMs },
    );
  };

  const listSessions: Controller["listSessions"] = (targets, callOptions = {}) => {
    checkActor(callOptions.actor);
    return run(
      targets,
      "ListSessions",
      async (context) =>
        fromTarget(
          await unary(
            context.client.listSessions.bind(context.client),
            {
              sessionIds: idsFor(callOptions.sessionIds, context.target),
              expectedHost: context.target.fqdn,
            },
            context,
            callOptions.actor,
          ),
          context,
          "ListSessions",
        ),
      callOptions.signal,
    );
  };

  return {
    options: resolved,
    listSessions,
    act,
    sendMessage,
    disconnect: (targets, sessionIds, callOptions) =>
      act("disconnect", targets, { kind: "ids", sessionIds }, callOptions),
    disconnectAll: (targets, callOptions = {}) =>
      act("disconnect", targets, { kind: "all", filter: callOptions.filter }, callOptions),
    logoff: (targets, sessionIds, callOptions) =>
      act("logoff", targets, { kind: "ids", sessionIds }, callOptions),
    logoffAll: (targets, callOptions = {}) =>
      act("logoff", targets, { kind: "all", filter: callOptions.filter }, callOptions),
    warnThenAct: (targets, callOptions) =>
      warnThenAct({ act, sendMessage, listSessions }, targets, callOptions),
    watch: (targets, callOptions = {}) => watchFleet(targets, pool, resolved, callOptions.signal),
    getAgentInfo(targets, callOptions = {}) {
      checkActor(callOptions.actor);
      return run(
        targets,
        "GetAgentInfo",
        async (context) =>
          fromTarget(
            await unary(
              context.client.getAgentInfo.bind(context.client),
              {},
              context,
              callOptions.actor,
            ),
            context,
            "GetAgentInfo",
          ),
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
          const info = unary(context.client.getAgentInfo.bind(context.client), {}, context).then(
            (answer) => fromTarget(answer, context, "GetAgentInfo"),
          );
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
