/**
 * The port through which the security layer plugs into the agent: who may call what
 * (`Authorizer`). With `--insecure-loopback` no authorizer is set and every loopback caller is
 * allowed. (Where mutating calls are recorded is `agent/audit/audit-record.ts`'s `AuditSink`.)
 */
import type { ServerUnaryCall, status as Status } from "@grpc/grpc-js";
import { RpcError } from "./rpc-error.js";

/** grpc-js's view of a call's transport security (not exported by name from grpc-js). */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>["getAuthContext"]>;

/** The RPCs of `wms.v1.WmsSessionService`, as named in logs, audit records and errors. */
export type RpcName =
  | "ListSessions"
  | "Disconnect"
  | "DisconnectAll"
  | "Logoff"
  | "LogoffAll"
  | "SendMessage"
  | "WatchSessions"
  | "GetAgentInfo";

/** What an authorizer sees of a call, when it starts (before its request is read). */
export interface CallSecurityInfo {
  /** The method's path, `/package.Service/Method`, e.g. `/grpc.health.v1.Health/Check`. */
  readonly method: string;
  /** grpc-js's view of the TLS connection (peer certificate when mutual TLS is used). */
  readonly authContext: AuthContext;
  readonly peer: string;
}

/**
 * Decides whether a call may proceed. Returns the caller's identity (`undefined` when there is
 * none, e.g. `--insecure-loopback`) or throws an {@link AccessDeniedError} (`UNAUTHENTICATED`,
 * `PERMISSION_DENIED`) naming the identity and the RPC.
 */
export type Authorizer = (call: CallSecurityInfo) => string | undefined;

/**
 * A refusal by an {@link Authorizer}. It carries the identity the caller presented, if any, so
 * that the audit record of a refused `Disconnect` still says who tried, and whether the caller
 * has any role at all: the refused calls of a caller without one are rate-limited.
 */
export class AccessDeniedError extends RpcError {
  constructor(
    code: Status.UNAUTHENTICATED | Status.PERMISSION_DENIED,
    message: string,
    /** The identity the caller's certificate names; `undefined` when it has none. */
    readonly identity: string | undefined,
    /**
     * The caller has no role on this agent (no certificate, no name, no `--allow` entry), as
     * opposed to a role that does not cover this RPC.
     * @default true
     */
    readonly roleless: boolean = true,
  ) {
    super(code, message);
  }
}
