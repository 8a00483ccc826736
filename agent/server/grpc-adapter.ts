/**
 * Turns the async handlers of `session-service.ts` into grpc-js unary handlers (the streaming
 * `WatchSessions` comes in ready-made): the caller's process (rule 3) from the connection the
 * chain found, a request that did not decode answered `INVALID_ARGUMENT`, the outcome counts on
 * the call's log line, and status conversion (`RpcError` → status; anything else → `INTERNAL`,
 * its stack in the log only). Authorization, draining, the in-flight limit and the log line
 * itself are the interceptor chain's (`call-chain.ts`), for every service alike; mutating calls
 * are audited around the handlers by the audit interceptor (`agent/audit/audit-interceptor.ts`).
 */
import { status as Status, type handleUnaryCall, type ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { SessionResult, WmsSessionServiceServer } from "../../proto/gen/wms/v1/wms_session.js";
import type { RpcName } from "./access.js";
import { callScope, type CallScope } from "./call-chain.js";
import { isLoopbackAddress } from "../../common/ip-address.js";
import type { CallerLookup } from "../caller/caller-process.js";
import { UndecodableRequest } from "./request-decoding.js";
import { invalidArgument, RpcError } from "./rpc-error.js";
import {
  countOutcomes,
  type CallContext,
  type SessionService,
} from "../sessions/session-service.js";

/** What the adapter needs from the agent around it. */
export interface GrpcAdapterOptions {
  readonly service: SessionService;
  readonly logger: Logger;
  /** Protection rule 3: the calling process, when it runs on this host. */
  readonly callerProcess: CallerLookup;
  /** The handler of the server-streaming `WatchSessions` (`watch-handler.ts`). */
  readonly watchSessions: WmsSessionServiceServer["watchSessions"];
}

/** The grpc-js implementation of `WmsSessionService`. */
export function createGrpcHandlers(options: GrpcAdapterOptions): WmsSessionServiceServer {
  const { service } = options;

  function unary<Req, Res extends object>(
    rpc: RpcName,
    handler: (request: Req, context: CallContext) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    async function handle(call: ServerUnaryCall<Req, Res>, scope: CallScope): Promise<Res> {
      // decodeLeniently (agent.ts) hands over what did not decode instead of failing the call.
      const request: unknown = call.request;
      if (request instanceof UndecodableRequest) throw invalidArgument(request.message(rpc));
      let callerProcess: ReturnType<CallerLookup> | undefined;
      const context: CallContext = {
        peerIsLoopback: scope.remote !== undefined && isLoopbackAddress(scope.remote.address),
        // The agent's own end of this very connection: no guessing among listening ports.
        callerProcess: () => (callerProcess ??= options.callerProcess(scope.peer, scope.local)),
      };
      const response = await handler(call.request, context);
      if ("results" in response && Array.isArray(response.results)) {
        scope.annotate({ outcomes: countOutcomes(response.results as SessionResult[]) });
      }
      return response;
    }

    return (call, callback) => {
      let scope: CallScope;
      try {
        scope = callScope(call.metadata);
      } catch (error) {
        options.logger.error({ err: error, rpc }, "internal error");
        callback(RpcError.from(error).toServiceError(), null);
        return;
      }
      handle(call, scope).then(
        (response) => callback(null, response),
        (caught: unknown) => {
          const error = RpcError.from(caught);
          if (error.code === Status.INTERNAL) {
            options.logger.error({ err: caught, rpc, peer: scope.peer }, "internal error");
          }
          callback(error.toServiceError(), null);
        },
      );
    };
  }

  return {
    listSessions: unary("ListSessions", (request, context) =>
      service.listSessions(request, context),
    ),
    disconnect: unary("Disconnect", (request, context) => service.disconnect(request, context)),
    disconnectAll: unary("DisconnectAll", (request, context) =>
      service.disconnectAll(request, context),
    ),
    logoff: unary("Logoff", (request, context) => service.logoff(request, context)),
    logoffAll: unary("LogoffAll", (request, context) => service.logoffAll(request, context)),
    sendMessage: unary("SendMessage", (request, context) => service.sendMessage(request, context)),
    getAgentInfo: unary("GetAgentInfo", () => service.getAgentInfo()),
    watchSessions: options.watchSessions,
  };
}
