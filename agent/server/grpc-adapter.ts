/**
 * Turns the async handlers of `session-service.ts` into grpc-js unary handlers (the streaming
 * `WatchSessions` comes in ready-made): lifecycle and
 * load checks, authorization, the caller's session (rule 3), one log line per RPC, audit records
 * for mutating calls, and status conversion (`RpcError` → status; anything else → `INTERNAL`).
 */
import { status as Status, type handleUnaryCall, type ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  DisconnectAllRequest,
  DisconnectRequest,
  LogoffAllRequest,
  LogoffRequest,
  MessageResponse,
  Outcome,
  Protection,
  SendMessageRequest,
  type SessionResult,
  type WmsSessionServiceServer,
} from "../../proto/gen/wms/v1/wms_session.js";
import {
  AccessDeniedError,
  type AuditRecord,
  type AuditSessionResult,
  type AuditSink,
  type Authorizer,
  type RpcName,
} from "./access.js";
import { connectionAuthContext } from "../security/auth-context-cache.js";
import { isLoopbackAddress, parsePeer } from "../../common/ip-address.js";
import type { CallerLookup } from "../caller/caller-process.js";
import { RpcError } from "./rpc-error.js";
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
  readonly audit: AuditSink | undefined;
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
  // Set when an audit write fails, cleared by the next one that succeeds. While it is set,
  // mutating calls are refused before they act: only the call that found the log broken can
  // have acted without a record in the file (its record goes to the agent log instead).
  let auditBroken = false;

  /**
   * @param requestToJson the request's proto3 JSON form, for the audit record of a mutating RPC;
   *   `undefined` for RPCs that change nothing and are not audited.
   */
  function unary<Req, Res extends object>(
    rpc: RpcName,
    handler: (request: Req, context: CallContext) => Promise<Res>,
    requestToJson?: (request: Req) => unknown,
  ): handleUnaryCall<Req, Res> {
    async function handle(call: ServerUnaryCall<Req, Res>, peer: string) {
      let identity: string | undefined;
      let results: readonly SessionResult[] | undefined;
      let outcome: { response: Res } | { error: RpcError };
      try {
        // Authorization first, so that every audit record says who called, refused calls included.
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
        if (requestToJson !== undefined && options.audit !== undefined && auditBroken) {
          throw new RpcError(
            Status.UNAVAILABLE,
            "the audit log cannot be written (see the agent log), so nothing was done; retry once it is fixed",
          );
        }
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
      if (requestToJson !== undefined && options.audit !== undefined) {
        const record: AuditRecord = {
          time: new Date().toISOString(),
          identity: identity ?? null,
          peer,
          rpc,
          request: requestToJson(call.request),
          ...("response" in outcome
            ? { results: (results ?? []).map(auditResult) }
            : { status: { code: Status[outcome.error.code], message: outcome.error.message } }),
        };
        try {
          await options.audit.write(record);
          auditBroken = false;
        } catch (auditError) {
          auditBroken = true;
          outcome = { error: auditFailure(auditError, record, "response" in outcome) };
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

  function auditFailure(error: unknown, record: AuditRecord, answered: boolean): RpcError {
    // The record goes to the agent log, so that what was done is recorded somewhere.
    options.logger.error(
      { err: error, auditRecord: record },
      "audit record could not be written; call failed",
    );
    return new RpcError(
      Status.UNAVAILABLE,
      answered
        ? "the audit record could not be written, so the result is withheld; see the agent log"
        : `the audit record could not be written; see the agent log (the call had failed: ${record.status?.message ?? "unknown"})`,
      { cause: error },
    );
  }

  return {
    listSessions: unary("ListSessions", (request, context) =>
      service.listSessions(request, context),
    ),
    disconnect: unary(
      "Disconnect",
      (request, context) => service.disconnect(request, context),
      (request) => DisconnectRequest.toJSON(request),
    ),
    disconnectAll: unary(
      "DisconnectAll",
      (request, context) => service.disconnectAll(request, context),
      (request) => DisconnectAllRequest.toJSON(request),
    ),
    logoff: unary(
      "Logoff",
      (request, context) => service.logoff(request, context),
      (request) => LogoffRequest.toJSON(request),
    ),
    logoffAll: unary(
      "LogoffAll",
      (request, context) => service.logoffAll(request, context),
      (request) => LogoffAllRequest.toJSON(request),
    ),
    sendMessage: unary(
      "SendMessage",
      (request, context) => service.sendMessage(request, context),
      (request) => SendMessageRequest.toJSON(request),
    ),
    getAgentInfo: unary("GetAgentInfo", () => service.getAgentInfo()),
    watchSessions: options.watchSessions,
  };
}

/** Whether grpc-js's peer string names a loopback address. */
function isLoopbackPeer(peer: string): boolean {
  const endpoint = parsePeer(peer);
  return endpoint !== undefined && isLoopbackAddress(endpoint.address);
}

/** A session result as the audit log records it: enum values by name, the session's user. */
function auditResult(result: SessionResult): AuditSessionResult {
  const session = result.session;
  const user =
    session === undefined || session.userName === ""
      ? undefined
      : session.domainName === ""
        ? session.userName
        : `${session.domainName}\\${session.userName}`;
  return {
    sessionId: result.sessionId,
    outcome: Outcome[result.outcome] ?? String(result.outcome),
    message: result.message,
    win32Error: result.win32Error,
    ...(result.protection === Protection.UNSPECIFIED
      ? {}
      : { protection: Protection[result.protection] ?? String(result.protection) }),
    ...(user === undefined ? {} : { user }),
    ...(result.response === MessageResponse.UNSPECIFIED
      ? {}
      : { response: MessageResponse[result.response] ?? String(result.response) }),
  };
}
