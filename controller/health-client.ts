/**
 * The `grpc.health.v1.Health` client, built from grpc-health-check's own service definition
 * (loaded from its `health.proto`), so no wire type is written by hand; it rides on the channel
 * of the host's `WmsSessionService` client. grpc-health-check compiles that proto with
 * protobufjs as it loads, so this is the only module that imports it, and the channel pool loads
 * this one on the first health check (`wmsctl get` and `disconnect` never pay for it).
 */
import { makeGenericClientConstructor, type ChannelCredentials, type Client } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import type { HealthClient } from "./health-check.js";

/** The `grpc.health.v1.Health` client class, from grpc-health-check's service definition. */
const HealthClientConstructor = makeGenericClientConstructor(healthService, "Health");

/**
 * A Health client on an existing channel (`channelOverride`): it shares that channel's
 * connection, and closing the channel's owner closes it too. Never close it on its own.
 */
export function healthClientOn(
  channel: ReturnType<Client["getChannel"]>,
  credentials: ChannelCredentials,
): HealthClient {
  // With a channel override grpc-js uses neither the address nor the credentials.
  return new HealthClientConstructor(channel.getTarget(), credentials, {
    channelOverride: channel,
  }) as unknown as HealthClient;
}
