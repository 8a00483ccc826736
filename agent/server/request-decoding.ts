/**
 * Requests that cannot be decoded are the caller's mistake, and are answered as one.
 *
 * grpc-js answers a request its deserializer throws on with `INTERNAL` ("Error deserializing
 * request") before any handler, log line or audit record sees the call. A protobuf that is valid
 * on the wire can still be refused by the generated decoder: ts-proto maps 64-bit integers to
 * numbers and throws beyond 2^53 − 1, so `filter.min_idle_time` of 2^62 seconds was an
 * `INTERNAL` error. With {@link decodeLeniently} the deserializer returns an
 * {@link UndecodableRequest} instead, the call goes through the interceptors and the handler like
 * any other, and the adapter answers `INVALID_ARGUMENT` with the reason.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";

/** What a request that could not be decoded is replaced with. */
export class UndecodableRequest {
  constructor(
    /** Why it could not be decoded, for the caller. */
    readonly reason: string,
    /** Its size, in bytes. */
    readonly bytes: number,
  ) {}

  /** The `INVALID_ARGUMENT` message for the caller. */
  message(rpc: string): string {
    return `the ${rpc} request is not a valid message: ${this.reason}`;
  }
}

/** The explanation of ts-proto's range errors for 64-bit fields. */
const INT64_RANGE = /Value is (larger|smaller) than Number\.(MAX|MIN)_SAFE_INTEGER/;

/**
 * `definition` with every request deserializer made total: a message that does not decode
 * becomes an {@link UndecodableRequest} (which the handlers must check for) instead of an error.
 */
export function decodeLeniently<Definition extends ServiceDefinition>(
  definition: Definition,
): Definition {
  const lenient: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    lenient[name] = {
      ...method,
      requestDeserialize(bytes: Buffer): unknown {
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return new UndecodableRequest(explain(error), bytes.length);
        }
      },
    };
  }
  return lenient as Definition;
}

function explain(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (INT64_RANGE.test(text)) {
    return "a 64-bit integer is out of range (the seconds of a Duration such as filter.min_idle_time must be within 0..315576000000)";
  }
  return `the protobuf encoding is malformed (${text})`;
}
