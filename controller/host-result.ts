/**
 * What the controller reports for one host: exactly one `HostResult` per requested host, whatever
 * happened to it, and the error type that names the host and the RPC.
 */
import { status as Status, type ServiceError } from "@grpc/grpc-js";

/**
 * How a host fared:
 * - `ok`: the agent answered;
 * - `failed`: the agent answered with an error status (bad request, wrong host, backend down, …);
 * - `denied`: `UNAUTHENTICATED` or `PERMISSION_DENIED`, or the agent's certificate was refused
 *   (not for the host's FQDN, not from the CA, expired); then nothing was sent;
 * - `unreachable`: no connection to the agent could be made (or it was lost and not regained);
 * - `timeout`: the per-host deadline ran out while the call was pending.
 */
export type HostStatus = "ok" | "failed" | "denied" | "unreachable" | "timeout";

/**
 * The RPCs the controller calls: the methods of `WmsSessionService`, and `Health/Check` of the
 * standard health service.
 */
export type RpcName =
  | "ListSessions"
  | "Disconnect"
  | "DisconnectAll"
  | "Logoff"
  | "LogoffAll"
  | "SendMessage"
  | "WatchSessions"
  | "GetAgentInfo"
  | "Health/Check";

/**
 * The RPCs that change sessions (a message changes what the user sees). A call of one that was
 * sent and never answered (the deadline passed, the connection was lost, the run was cancelled)
 * may have taken effect on the host.
 */
export const MUTATING_RPCS: ReadonlySet<RpcName> = new Set<RpcName>([
  "Disconnect",
  "DisconnectAll",
  "Logoff",
  "LogoffAll",
  "SendMessage",
]);

/**
 * An RPC as error messages name it: `WmsSessionService/Disconnect`,
 * `grpc.health.v1.Health/Check`.
 */
export function rpcLabel(rpc: RpcName): string {
  return rpc === "Health/Check" ? "grpc.health.v1.Health/Check" : `WmsSessionService/${rpc}`;
}

/** The gRPC status names, by code (`Status[14]` is `"UNAVAILABLE"`). */
export function statusName(code: number): string {
  return (Status as unknown as Record<number, string | undefined>)[code] ?? `CODE_${code}`;
}

/**
 * A failed call: `h1.lab.example.com WmsSessionService/Disconnect UNAVAILABLE: …`.
 * `code` is the gRPC status code of the last attempt. `final` says the agent's answer is the
 * failure itself (a health check `NOT_SERVING`): the host was reached, and a retry would not help.
 */
export class HostCallError extends Error {
  override readonly name: string = "HostCallError";
  readonly final: boolean;
  /**
   * Set when the failure itself says whether the host may have acted (an answer from another
   * host after a change was asked of it); otherwise the fan-out decides from the status.
   */
  readonly mayHaveActed: boolean | undefined;
  constructor(
    readonly host: string,
    readonly rpc: RpcName,
    readonly code: Status,
    readonly details: string,
    options?: { cause?: unknown; final?: boolean; mayHaveActed?: boolean },
  ) {
    super(`${host} ${rpcLabel(rpc)} ${statusName(code)}: ${details}`, options);
    this.final = options?.final ?? false;
    this.mayHaveActed = options?.mayHaveActed;
  }

  /**
   * Normalises a caught value for `host`/`rpc`: a grpc-js `ServiceError` keeps its code and
   * details, an existing `HostCallError` is returned as is, anything else is `UNKNOWN`.
   */
  static from(error: unknown, host: string, rpc: RpcName): HostCallError {
    if (error instanceof HostCallError) return error;
    if (isServiceError(error)) {
      // grpc-js ends connection errors with an empty "Resolution note: ".
      const details = error.details.replace(/\. Resolution note: ?$/, "");
      return new HostCallError(host, rpc, error.code, details, { cause: error });
    }
    const text = error instanceof Error ? error.message : String(error);
    return new HostCallError(host, rpc, Status.UNKNOWN, text, { cause: error });
  }
}

/** Whether a value looks like a grpc-js `ServiceError`. */
export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === "number" &&
    typeof (error as Partial<ServiceError>).details === "string"
  );
}

interface HostResultBase {
  /** The host's FQDN, as requested (normalised). */
  readonly host: string;
  /** The address dialled, `host:port`. */
  readonly address: string;
  /** Milliseconds from the host's first attempt to its result, backoff included. */
  readonly durationMs: number;
  /** Calls made: 1 plus the retries. 0 when the run was over before the host's turn. */
  readonly attempts: number;
}

/** A host whose agent answered. */
export interface HostSuccess<T> extends HostResultBase {
  readonly status: "ok";
  readonly response: T;
}

/** A host whose call did not succeed; `error` names the host, RPC and status. */
export interface HostFailure extends HostResultBase {
  readonly status: Exclude<HostStatus, "ok">;
  /** The gRPC status name of the last attempt, e.g. `UNAVAILABLE`. */
  readonly code: string;
  /** The status details of the last attempt. */
  readonly message: string;
  readonly error: HostCallError;
  /**
   * `true` when a call that changes sessions reached the agent and no answer came back (the
   * deadline passed after the request was sent, the connection was lost, the agent failed in the
   * middle): it may have taken effect. Absent when the request was refused as a whole or never
   * sent.
   */
  readonly mayHaveActed?: true;
}

/**
 * Statuses by which the agent refuses a request as a whole, before acting (DESIGN section 2):
 * bad or oversized request, wrong host, identity not allowed, too many calls. Any other failure of
 * a request that was sent leaves open whether it acted.
 */
const REFUSALS: ReadonlySet<Status> = new Set([
  Status.INVALID_ARGUMENT,
  Status.FAILED_PRECONDITION,
  Status.PERMISSION_DENIED,
  Status.UNAUTHENTICATED,
  Status.RESOURCE_EXHAUSTED,
  Status.UNIMPLEMENTED,
  Status.OUT_OF_RANGE,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
]);

/**
 * Whether a failed call may have taken effect: it changes sessions, its request was sent, and the
 * failure is not the agent refusing the request as a whole. `answered` says the agent itself
 * answered an `UNAVAILABLE` (its backend is down: nothing was done).
 */
export function mayHaveActed(
  error: HostCallError,
  requestSent: boolean,
  answered: boolean,
): boolean {
  if (!MUTATING_RPCS.has(error.rpc)) return false;
  if (error.mayHaveActed !== undefined) return error.mayHaveActed;
  if (!requestSent || REFUSALS.has(error.code)) return false;
  return !(error.code === Status.UNAVAILABLE && answered);
}

/** The one result of one host. */
export type HostResult<T> = HostSuccess<T> | HostFailure;

/**
 * What Node's TLS client says when it refuses the agent's certificate: not for the FQDN dialled
 * (`ERR_TLS_CERT_ALTNAME_INVALID`), not signed by the CA, expired or not yet valid, or not meant
 * for a server. grpc-js reports these as `UNAVAILABLE` ("No connection established. Last error:
 * …"); OpenSSL's wording, with both spellings of "self-signed".
 */
const REFUSED_CERTIFICATE =
  /ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match certificate|self[- ]signed certificate|unable to verify the first certificate|unable to get (?:local )?issuer certificate|certificate has expired|certificate is not yet valid|certificate signature failure|unsupported certificate purpose|invalid CA certificate|certificate revoked/i;

/**
 * Whether a failure is this controller refusing the agent's certificate: the call was never sent
 * and retrying cannot help.
 */
export function isRefusedCertificate(details: string): boolean {
  return REFUSED_CERTIFICATE.test(details);
}

/**
 * Classifies a failed call. `connected` says whether the channel had a live connection to the
 * agent when the call failed: an `UNAVAILABLE` without one means the agent was never reached (or
 * was lost), while with one it is the agent's own answer (e.g. its backend is down). An
 * `UNAVAILABLE` whose `details` show that the agent's certificate was refused (another name,
 * another CA, expired) is `denied`: the host was reached but is not trusted, and nothing was sent.
 */
export function classifyFailure(
  code: Status,
  connected: boolean,
  details = "",
): Exclude<HostStatus, "ok"> {
  if (code === Status.UNAVAILABLE && isRefusedCertificate(details)) return "denied";
  switch (code) {
    case Status.DEADLINE_EXCEEDED:
      return "timeout";
    case Status.UNAUTHENTICATED:
    case Status.PERMISSION_DENIED:
      return "denied";
    case Status.UNAVAILABLE:
      return connected ? "failed" : "unreachable";
    default:
      return "failed";
  }
}
