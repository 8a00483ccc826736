/**
 * The audit as a grpc-js server interceptor. It must be the first interceptor of the server (the
 * one nearest the network), so that it sees every call and every way a call ends: the request
 * once it is decoded, the response before it is sent, a status from any interceptor or handler,
 * and a call that grpc-js ends by itself.
 *
 * For an audited (mutating) RPC it:
 * - holds the request until its intent record is on disk, then lets the handler have it; when
 *   the intent cannot be written the call is answered `UNAVAILABLE` and the handler never runs.
 *   Only a request that cannot act (what-if, undecodable) goes straight on without an intent;
 *   whether the caller may act is not for the audit to guess (the allow-list can be reloaded
 *   between two looks), so a request that reaches the handler always has its intent on disk;
 * - writes the result record (per-session results, or the status) before the answer goes out.
 *
 * For every RPC, a call that ends before its request was read — grpc-js refused a message larger
 * than the receive limit, the deadline passed, the client cancelled — leaves a log line with the
 * peer and the certificate's identity (and, for an audited RPC, a result record); otherwise such a
 * call would leave no trace at all.
 */
import {
  ServerInterceptingCall,
  status as Status,
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { AccessDeniedError, type AuthContext, type Authorizer } from "../server/access.js";
import { isQuietRefusal } from "../server/call-chain.js";
import { RpcError } from "../server/rpc-error.js";
import { peerIdentity } from "../security/peer-identity.js";
import { MAX_ACTOR_CHARS, type AuditCaller } from "./audit-record.js";
import { AUDITED_METHODS, type AuditedMethod } from "./audited-methods.js";
import type { AuditedCall, Auditor } from "./auditor.js";
import { certificateDetails } from "./certificate-details.js";

/** A status as an interceptor sends it (grpc-js does not export the type by name). */
type PartialStatusObject = Parameters<ServerInterceptingCallInterface["sendStatus"]>[0];

/** The metadata key in which a caller names whom it acts for (e.g. the person at a console). */
export const ACTOR_METADATA_KEY = "wmsfleet-actor";

/** Options of {@link createAuditInterceptor}. */
export interface AuditInterceptorOptions {
  /** Where mutating calls are recorded; `undefined` records nothing (calls are still logged). */
  readonly auditor: Auditor | undefined;
  /** The access policy, asked which identity a certificate's role comes from. */
  readonly authorize: Authorizer | undefined;
  readonly logger: Logger;
  /**
   * A call's auth context (the agent reads it once per connection).
   * @default `call.getAuthContext()`
   */
  readonly authContextOf?: (call: ServerInterceptingCallInterface) => AuthContext;
}

/** Why a call can end before its request was read, as the log line and the record say. */
const ENDED_UNREAD =
  "the call ended before its request was read: the message was larger than the agent accepts, its deadline passed, or the client cancelled; nothing was done";

/** Makes the audit interceptor; see the module comment. */
export function createAuditInterceptor(options: AuditInterceptorOptions): ServerInterceptor {
  const { auditor, logger } = options;
  const authContextOf = options.authContextOf ?? ((call) => call.getAuthContext());
  return (descriptor, call) => {
    const method = auditor === undefined ? undefined : AUDITED_METHODS.get(descriptor.path);
    let peer = "unknown";
    let authContext: AuthContext = {};
    let caller: AuditCaller | undefined;
    let audited: AuditedCall | undefined;
    let request: unknown;
    let metadataSeen: Metadata | undefined;
    let read = false;
    let ended = false;
    let recorded = false;

    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata: Metadata, nextMetadata: (metadata: Metadata) => void) {
            peer = call.getPeer();
            authContext = authContextOf(call);
            metadataSeen = metadata;
            if (method !== undefined && auditor !== undefined) {
              const identity = identityOf(options.authorize, descriptor.path, authContext, peer);
              caller = callerOf(identity, authContext, peer, metadata);
              audited = auditor.begin(method.rpc, caller);
            }
            nextMetadata(metadata);
          },
          onReceiveMessage(message: unknown, nextMessage: (message: unknown) => void) {
            read = true;
            request = message;
            if (audited === undefined || method === undefined || !method.mayAct(message)) {
              nextMessage(message);
              return;
            }
            audited.intent(method.requestJson(message)).then(
              () => nextMessage(message),
              (error: unknown) => {
                // The intent is logged by the auditor; the handler never sees this request.
                ended = true;
                call.sendStatus(statusOf(RpcError.from(error)));
              },
            );
          },
          onCancel() {
            if (read || ended) return;
            logger.warn(
              {
                method: descriptor.path,
                peer,
                identity: caller?.identity ?? firstName(authContext),
              },
              ENDED_UNREAD,
            );
            if (audited !== undefined && !recorded) {
              recorded = true;
              void audited.result({
                status: { code: Status[Status.UNKNOWN], message: ENDED_UNREAD },
              });
            }
          },
        });
      },
      sendMessage(message: unknown, next: (message: unknown) => void) {
        if (audited === undefined || method === undefined || recorded) {
          next(message);
          return;
        }
        recorded = true;
        void audited
          .result({ results: method.results(message) }, requestJson(method, read, request))
          .then(() => next(message));
      },
      sendStatus(status: PartialStatusObject, next: (status: PartialStatusObject) => void) {
        ended = true;
        // A caller without a role past its allowance of refused calls is not recorded call by
        // call (the interceptor chain says so once in the log), or it could fill the disk.
        const quiet = metadataSeen !== undefined && isQuietRefusal(metadataSeen);
        if (audited === undefined || method === undefined || recorded || quiet) {
          next(status);
          return;
        }
        recorded = true;
        const code = Status[status.code] ?? String(status.code);
        void audited
          .result(
            { status: { code, message: status.details ?? "" } },
            requestJson(method, read, request),
          )
          .then(() => next(status));
      },
    });
    return intercepting;
  };
}

/** The request's JSON form for a result record, when it was read. */
function requestJson(
  method: AuditedMethod,
  read: boolean,
  request: unknown,
): (() => unknown) | undefined {
  return read ? () => method.requestJson(request) : undefined;
}

/**
 * The identity the access policy gives the role to or, when it refuses the call, the
 * certificate's first name (the refusal itself is the policy's to answer, not the audit's).
 */
function identityOf(
  authorize: Authorizer | undefined,
  method: string,
  authContext: AuthContext,
  peer: string,
): string | undefined {
  try {
    return authorize?.({ method, authContext, peer });
  } catch (error) {
    return error instanceof AccessDeniedError ? error.identity : undefined;
  }
}

/** Who called: identity, the claimed actor, the peer and the certificate. */
function callerOf(
  identity: string | undefined,
  authContext: AuthContext,
  peer: string,
  metadata: Metadata,
): AuditCaller {
  const certificate = authContext.sslPeerCertificate;
  const actor = claimedActor(metadata);
  return {
    identity: identity ?? null,
    ...(actor === undefined ? {} : { actor }),
    peer,
    ...(certificate === undefined
      ? {}
      : { certificate: certificateDetails(certificate, identity) }),
  };
}

/** The first `wmsfleet-actor` value, cut to {@link MAX_ACTOR_CHARS} characters. */
function claimedActor(metadata: Metadata): string | undefined {
  const value = metadata.get(ACTOR_METADATA_KEY)[0];
  if (value === undefined) return undefined;
  const text = typeof value === "string" ? value : value.toString("utf8");
  return text.length <= MAX_ACTOR_CHARS ? text : `${text.slice(0, MAX_ACTOR_CHARS)}…`;
}

/** The first name of the caller's certificate, for a log line; `null` without one. */
function firstName(authContext: AuthContext): string | null {
  const certificate = authContext.sslPeerCertificate;
  return certificate === undefined ? null : (peerIdentity(certificate).names[0] ?? null);
}

function statusOf(error: RpcError): PartialStatusObject {
  return { code: error.code, details: error.message, metadata: null };
}
