/**
 * Turns the async handlers of `session-service.ts` into grpc-js unary handlers (the streaming
 * `WatchSessions` comes in ready-made): lifecycle and load checks, authorization, the caller's
 * session (rule 3), one log line per RPC, and status conversion (`RpcError` → status; anything
 * else → `INTERNAL`). Mutating calls are audited around the handlers, by the audit interceptor
 * (`agent/audit/audit-interceptor.ts`).
 */
import { status as Status, type handleUnaryCall, type ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { SessionResult, WmsSessionServiceServer } from "../../proto/gen/wms/v1/wms_session.js";
import { AccessDeniedError, type Authorizer, type RpcName } from "./access.js";
import { connectionAuthContext } from "../security/auth-context-cache.js";
import { isLoopbackAddress, parsePeer } from "../../common/ip-address.js";
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
  /** Whether new calls are still accepted; `false` while the agent shuts down. */
  readonly accepting: () => boolean;
  readonly authorize: Authorizer | undefined;
  /** Protection rule 3: the calling process, when it runs on this host. */
  readonly callerProcess: CallerLookup;
  /** Calls answered with `RESOURCE_EXHAUSTED` beyond this many in flight. */
  readonly maxInFlightCalls: number;
  /** Clock for durations, in milliseconds. @default performance.now */
  readonly now?: () => number;
  /** The handler of the server-streaming `WatchSessions` (`session-watch-handler.ts`). */
  readonly watchSessions: WmsSessionServiceServer["watchSessions"];
}

/** The grpc-js implementation of `WmsSessionService`. */
export function createGrpcHandlers(options: GrpcAdapterOptions): WmsSessionServiceServer {
  const { service } = options;
  const now = options.now ?? (() => performance.now());
  let inFlight = 0;

  function unary<Req, Res extends object>(
    rpc: RpcName,
    handler: (request: Req, context: CallContext) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    async function handle(call: ServerUnaryCall<Req, Res>, peer: string) {
      let identity: string | undefined;
      let results: readonly SessionResult[] | undefined;
      let outcome: { response: Res } | { error: RpcError };
      try {
        // Authorization first, so that the log line of a refused call says who called.
        try {
          identity = options.authorize?.({ rpc, authContext: connectionAuthContext(call), peer });
        } catch (denied) {
          if (denied instanceof AccessDeniedError) identity = denied.identity;
          throw denied;
        }
        if (!options.accepting()) {
          throw new RpcError(Status.UNAVAILABLE, "wms-agent is shutting down; retry another time");
        }
        if (inFlight > options.maxInFlightCalls) {
          throw new RpcError(
            Status.RESOURCE_EXHAUSTED,
            `too many calls in flight (limit ${options.maxInFlightCalls}); retry later`,
          );
        }
        // decodeLeniently (agent.ts) hands over what did not decode instead of failing the call.
        const request: unknown = call.request;
        if (request instanceof UndecodableRequest) throw invalidArgument(request.message(rpc));
        let callerProcess: ReturnType<CallerLookup> | undefined;
        const context: CallContext = {
          peerIsLoopback: isLoopbackPeer(peer),
          callerProcess: () => (callerProcess ??= options.callerProcess(peer)),
        };
        const response = await handler(call.request, context);
        if ("results" in response && Array.isArray(response.results)) {
          results = response.results as SessionResult[];
        }
        outcome = { response };
      } catch (caught) {
        outcome = { error: RpcError.from(caught) };
        if (outcome.error.code === Status.INTERNAL) {
          options.logger.error({ err: caught, rpc, peer }, "internal error");
        }
      }
      return { outcome, identity, results };
    }

    return (call: ServerUnaryCall<Req, Res>, callback) => {
      const started = now();
      // grpc-js formats the peer afresh on every getPeer(): once a call is enough.
      const peer = call.getPeer();
      inFlight += 1;
      if (options.logger.isLevelEnabled("debug")) {
        options.logger.debug({ rpc, peer }, "rpc started");
      }
      void handle(call, peer).then(({ outcome, identity, results }) => {
        inFlight -= 1;
        const fields = {
          rpc,
          peer,
          identity,
          durationMs: Math.round((now() - started) * 1000) / 1000,
          code: "error" in outcome ? Status[outcome.error.code] : "OK",
          ...(results === undefined ? {} : { outcomes: countOutcomes(results) }),
        };
        if ("error" in outcome) {
          options.logger.info({ ...fields, error: outcome.error.message }, "rpc failed");
          callback(outcome.error.toServiceError(), null);
        } else {
          options.logger.info(fields, "rpc");
          callback(null, outcome.response);
        }
      });
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

/** Whether grpc-js's peer string names a loopback address. */
function isLoopbackPeer(peer: string): boolean {
  const endpoint = parsePeer(peer);
  return endpoint !== undefined && isLoopbackAddress(endpoint.address);
}
