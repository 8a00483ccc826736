/**
 * Which RPCs are audited (those that can change a session), and how their requests and responses
 * are read for the audit log. A new mutating RPC is audited by adding it here.
 */
import {
  DisconnectAllRequest,
  DisconnectRequest,
  LogoffAllRequest,
  LogoffRequest,
  MessageResponse,
  Outcome,
  Protection,
  SendMessageRequest,
  WmsSessionServiceService,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import type { RpcName } from "../server/access.js";
import { UndecodableRequest } from "../server/request-decoding.js";
import type { AuditSessionResult } from "./audit-record.js";

/** How the audit reads one mutating RPC. */
export interface AuditedMethod {
  readonly rpc: RpcName;
  /** The request in the proto3 JSON mapping, or what is known of a request that did not decode. */
  requestJson(request: unknown): unknown;
  /** Whether the request can change a session; a what-if or undecodable one cannot. */
  mayAct(request: unknown): boolean;
  /** The per-session results of a response, as the audit log records them. */
  results(response: unknown): readonly AuditSessionResult[];
}

/** A request with the fields every mutating request has. */
interface MutatingRequest {
  readonly whatIf: boolean;
}

function method<Request extends MutatingRequest>(
  rpc: RpcName,
  toJson: (request: Request) => unknown,
): AuditedMethod {
  return {
    rpc,
    requestJson: (request) =>
      request instanceof UndecodableRequest
        ? { undecodable: request.reason, bytes: request.bytes }
        : toJson(request as Request),
    mayAct: (request) => !(request instanceof UndecodableRequest) && !(request as Request).whatIf,
    results: (response) =>
      ((response as { results?: readonly SessionResult[] }).results ?? []).map(auditResult),
  };
}

/** The audited RPCs, by their path (`/wms.v1.WmsSessionService/Disconnect`). */
export const AUDITED_METHODS: ReadonlyMap<string, AuditedMethod> = new Map([
  [
    WmsSessionServiceService.disconnect.path,
    method("Disconnect", (request: DisconnectRequest) => DisconnectRequest.toJSON(request)),
  ],
  [
    WmsSessionServiceService.disconnectAll.path,
    method("DisconnectAll", (request: DisconnectAllRequest) =>
      DisconnectAllRequest.toJSON(request),
    ),
  ],
  [
    WmsSessionServiceService.logoff.path,
    method("Logoff", (request: LogoffRequest) => LogoffRequest.toJSON(request)),
  ],
  [
    WmsSessionServiceService.logoffAll.path,
    method("LogoffAll", (request: LogoffAllRequest) => LogoffAllRequest.toJSON(request)),
  ],
  [
    WmsSessionServiceService.sendMessage.path,
    method("SendMessage", (request: SendMessageRequest) => SendMessageRequest.toJSON(request)),
  ],
]);

/**
 * A session result as the audit log records it: enum values by name, the session's user, and a
 * message's answer.
 */
export function auditResult(result: SessionResult): AuditSessionResult {
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
