/**
 * A `grpc.health.v1.Health` client built from grpc-health-check's own `.proto`, as a monitoring
 * tool would use it, for the agent's tests.
 */
import {
  loadPackageDefinition,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";

const healthPackage = loadPackageDefinition(
  loadSync(healthProtoPath, { enums: String }),
) as unknown as {
  grpc: { health: { v1: { Health: ServiceClientConstructor } } };
};

/** The generated-at-run-time health client, as grpc-js builds it. */
export interface HealthClient extends Client {
  Check(
    request: object,
    callback: (error: ServiceError | null, response: { status: string }) => void,
  ): void;
  Watch(request: object): NodeJS.ReadableStream & { cancel(): void };
}

/** A health client of `address`; the caller closes it. */
export function healthClient(
  address: string,
  channelCredentials: ChannelCredentials,
  options: ChannelOptions = {},
): HealthClient {
  const Health = healthPackage.grpc.health.v1.Health;
  return new Health(address, channelCredentials, options) as unknown as HealthClient;
}

/** `Check` as a promise of the status name (`SERVING`, `NOT_SERVING`, ...). */
export function checkHealth(client: HealthClient, service = ""): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Check({ service }, (error, response) =>
      error === null ? resolve(response.status) : reject(error),
    ),
  );
}
