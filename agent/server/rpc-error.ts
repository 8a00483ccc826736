/**
 * The one error type agent handlers throw. The service adapter turns it into a gRPC status;
 * anything else becomes `INTERNAL` with a generic message and its stack goes to the log only.
 */
import { status as Status, type ServiceError, Metadata } from "@grpc/grpc-js";

/** An error that carries the gRPC status the caller should see. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: Status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Normalises a caught value: an `RpcError` stays as it is, anything else is `INTERNAL`. */
  static from(error: unknown): RpcError {
    if (error instanceof RpcError) return error;
    return new RpcError(Status.INTERNAL, "internal error in wms-agent (see the agent log)", {
      cause: error,
    });
  }

  /** The grpc-js form of this error, as passed to a unary callback. */
  toServiceError(): Partial<ServiceError> {
    return { code: this.code, details: this.message, metadata: new Metadata() };
  }
}

/** Shorthand for `INVALID_ARGUMENT`. */
export function invalidArgument(message: string): RpcError {
  return new RpcError(Status.INVALID_ARGUMENT, message);
}
