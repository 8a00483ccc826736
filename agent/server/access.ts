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

/**
 * The other services the agent serves: the health service, and server reflection in its two
 * protocol versions (grpcurl asks `v1` and falls back to `v1alpha`).
 */
export type ServiceRpcName = "Health" | "ReflectionV1" | "ReflectionV1Alpha";

/** What an authorizer sees of a call. */
export interface CallSecurityInfo {
  readonly rpc: RpcName | ServiceRpcName;
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
 * that the audit record of a refused `Disconnect` still says who tried.
 */
export class AccessDeniedError extends RpcError {
  constructor(
    code: Status.UNAUTHENTICATED | Status.PERMISSION_DENIED,
    message: string,
    /** The identity the caller's certificate names; `undefined` when it has none. */
    readonly identity: string | undefined,
  ) {
    super(code, message);
  }
}
