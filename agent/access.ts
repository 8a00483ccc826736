/**
 * The ports through which the security layer plugs into the agent: who may call what
 * (`Authorizer`) and where mutating calls are recorded (`AuditSink`). With `--insecure-loopback`
 * no authorizer is set and every loopback caller is allowed.
 */
import type { ServerUnaryCall } from "@grpc/grpc-js";

/** grpc-js's view of a call's transport security (not exported by name from grpc-js). */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>["getAuthContext"]>;

/** The RPCs of `wms.v1.WmsSessionService`, as named in logs, audit records and errors. */
export type RpcName = "ListSessions" | "Disconnect" | "DisconnectAll" | "GetAgentInfo";

/** What an authorizer sees of a call. */
export interface CallSecurityInfo {
  readonly rpc: RpcName | "Health";
  /** grpc-js's view of the TLS connection (peer certificate when mutual TLS is used). */
  readonly authContext: AuthContext;
  readonly peer: string;
}

/**
 * Decides whether a call may proceed. Returns the caller's identity (`undefined` when there is
 * none, e.g. `--insecure-loopback`) or throws an `RpcError` (`UNAUTHENTICATED`,
 * `PERMISSION_DENIED`) naming the identity and the RPC.
 */
export type Authorizer = (call: CallSecurityInfo) => string | undefined;

/** One record of a mutating call, written before its answer is sent. */
export interface AuditRecord {
  readonly time: string;
  readonly identity: string | undefined;
  readonly peer: string;
  readonly rpc: RpcName;
  readonly request: unknown;
  /** The per-session results, when the call got that far. */
  readonly results?: unknown;
  /** The gRPC status name and message, when the call failed as a whole. */
  readonly status?: { readonly code: string; readonly message: string };
}

/** Where audit records go. A rejected `write` fails the call with `UNAVAILABLE`. */
export interface AuditSink {
  write(record: AuditRecord): Promise<void>;
}
