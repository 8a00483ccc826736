/**
 * The client side of the standard gRPC health protocol (`grpc.health.v1.Health`), which every
 * agent serves through the npm package grpc-health-check: its messages, the client's shape and
 * what a host that is not serving means. The client itself is made in `health-client.ts`, the
 * only module that loads grpc-health-check (which compiles its `health.proto` as it loads), so
 * that what imports this one for its types and errors, such as every `wmsctl` command, starts
 * without it.
 */
import {
  status as Status,
  type Client,
  type ClientUnaryCall,
  type Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import type { GetAgentInfoResponse } from "../proto/gen/wms/v1/wms_session.js";
import { HostCallError } from "./host-result.js";

/** The service name agents report the session service's health under. */
export const SESSION_SERVICE_HEALTH_NAME = "wms.v1.WmsSessionService";

/**
 * A `HealthCheckResponse.ServingStatus`, by name (grpc-health-check loads its proto with
 * `enums: String`). `SERVICE_UNKNOWN` is only ever sent by `Watch`.
 */
export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** `grpc.health.v1.HealthCheckRequest`. */
export interface HealthCheckRequest {
  /** The service asked about; `""` is the server as a whole. */
  readonly service: string;
}

/** `grpc.health.v1.HealthCheckResponse`. */
export interface HealthCheckResponse {
  readonly status: ServingStatus;
}

/** What `checkHealth` reports of a host whose agent serves. */
export interface AgentHealth {
  /** The service asked about. */
  readonly service: string;
  readonly status: "SERVING";
  /** The agent's `GetAgentInfo` answer, when asked for (`agentInfo: true`). */
  readonly agentInfo?: GetAgentInfoResponse;
}

/** The part of the generated Health client the controller calls. */
export interface HealthClient extends Client {
  check(
    request: HealthCheckRequest,
    metadata: Metadata,
    options: { deadline: Date },
    callback: (error: ServiceError | null, response: HealthCheckResponse) => void,
  ): ClientUnaryCall;
}

/** What an agent that is not serving means, in the words `wmsctl health` prints. */
export const NOT_SERVING_MESSAGE =
  "NOT_SERVING (the session backend is unreachable or the agent is shutting down)";

/**
 * A health check that the agent answered with anything but `SERVING`: the host is `failed`,
 * and the answer is final (not retried). Its gRPC code is `UNAVAILABLE`, what the agent's other
 * RPCs answer in the same states (DESIGN section 2); {@link servingStatus} is what it said, and
 * {@link agentInfo} the agent's `GetAgentInfo` answer when it was asked for and given (an agent
 * whose backend is down still says what it is; a draining one does not).
 */
export class NotServingError extends HostCallError {
  override readonly name = "NotServingError";
  constructor(
    host: string,
    readonly service: string,
    readonly servingStatus: Exclude<ServingStatus, "SERVING">,
    readonly agentInfo?: GetAgentInfoResponse,
  ) {
    super(
      host,
      "Health/Check",
      Status.UNAVAILABLE,
      servingStatus === "NOT_SERVING"
        ? NOT_SERVING_MESSAGE
        : `${servingStatus} (the agent does not report ${service === "" ? "its health" : service})`,
      { final: true },
    );
  }
}
