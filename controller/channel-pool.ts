/**
 * One long-lived gRPC channel per host, all made from one shared `ChannelCredentials` object so
 * that grpc-js reuses connections (its subchannel pool keys on address, credentials and options).
 * The TLS name and the HTTP/2 authority are always the FQDN, also when the agent is dialled at an
 * address override; channelz is off.
 */
import {
  connectivityState,
  type Call,
  type ChannelCredentials,
  type ChannelOptions,
} from "@grpc/grpc-js";
import { WmsSessionServiceClient } from "../proto/gen/wms/v1/wms_session.js";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "./controller-options.js";
import type { HealthClient } from "./health-check.js";
import { formatHostPort } from "./host-name.js";
import {
  CHANNEL_KEY_OPTION,
  OwnedCredentials,
  type ConnectionAttempt,
} from "./owned-connections.js";
import type { Target } from "./targets.js";

/** Options of {@link ChannelPool}. */
export interface ChannelPoolOptions {
  /** The credentials every channel is made from: one object, so connections are shared. */
  readonly credentials: ChannelCredentials;
  /**
   * The delay before the first reconnection after a failed connection attempt, in milliseconds;
   * grpc-js grows it up to `maxReconnectBackoffMs`. @default 250
   */
  readonly initialReconnectBackoffMs?: number;
  /** @default 5000 */
  readonly maxReconnectBackoffMs?: number;
  /** Extra grpc-js channel options (e.g. message size limits), applied to every channel. */
  readonly channelOptions?: ChannelOptions;
  /**
   * Milliseconds a TLS handshake may take before the connection is abandoned.
   * @default {@link DEFAULT_HANDSHAKE_TIMEOUT_MS} (10000)
   */
  readonly handshakeTimeoutMs?: number;
}

/** A target's clients: by name and address (a host dialled elsewhere gets another channel). */
const keyOf = (target: Target) => `${target.fqdn} ${formatHostPort(target.address)}`;

/** The channel options of one target. Exported for tests and for callers that dial by hand. */
export function channelOptionsFor(target: Target, options: ChannelPoolOptions): ChannelOptions {
  return {
    ...options.channelOptions,
    "grpc.enable_channelz": 0,
    // The controller owns retries (UNAVAILABLE only, within the host's deadline, counted in
    // `attempts`); grpc-js's own would be invisible to the per-host report.
    "grpc.enable_retries": 0,
    "grpc.initial_reconnect_backoff_ms": options.initialReconnectBackoffMs ?? 250,
    "grpc.max_reconnect_backoff_ms": options.maxReconnectBackoffMs ?? 5000,
    // Names the channel to its connections (see OwnedCredentials).
    [CHANNEL_KEY_OPTION]: keyOf(target),
    ...(target.overridden
      ? { "grpc.ssl_target_name_override": target.fqdn, "grpc.default_authority": target.fqdn }
      : {}),
  };
}

/**
 * Clients by host, created on first use and closed together. A host's `grpc.health.v1.Health`
 * client rides on the channel of its `WmsSessionService` client. Every connection is made through
 * this pool's {@link OwnedCredentials}: {@link close} ends them all, handshakes in progress
 * included.
 */
export class ChannelPool {
  readonly #options: ChannelPoolOptions;
  readonly #credentials: OwnedCredentials;
  readonly #clients = new Map<string, WmsSessionServiceClient>();
  readonly #healthClients = new Map<string, HealthClient>();
  #closed = false;

  constructor(options: ChannelPoolOptions) {
    this.#options = options;
    this.#credentials = new OwnedCredentials(options.credentials, {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    });
  }

  /**
   * The client of a target, made on first use. A target dialled at another address than before
   * gets a new client (the old one is closed).
   * @throws Error after {@link close}.
   */
  client(target: Target): WmsSessionServiceClient {
    if (this.#closed) throw new Error("the controller is closed");
    const key = keyOf(target);
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = new WmsSessionServiceClient(
        formatHostPort(target.address),
        this.#credentials,
        channelOptionsFor(target, this.#options),
      );
      this.#clients.set(key, client);
    }
    return client;
  }

  /**
   * The `grpc.health.v1.Health` client of a target, on the same channel (and so the same
   * connection, credentials and options) as {@link client}. Asynchronous because the first one
   * loads grpc-health-check, which only health checks need.
   * @throws Error after {@link close} (the promise rejects).
   */
  async healthClient(target: Target): Promise<HealthClient> {
    const { healthClientOn } = await import("./health-client.js");
    const channel = this.client(target).getChannel();
    const key = keyOf(target);
    let health = this.#healthClients.get(key);
    if (health === undefined) {
      health = healthClientOn(channel, this.#credentials);
      this.#healthClients.set(key, health);
    }
    return health;
  }

  /** How many channels are open. */
  get size(): number {
    return this.#clients.size;
  }

  /** How the last connection attempt to a target went, if one was made. */
  lastConnectionAttempt(target: Target): ConnectionAttempt | undefined {
    return this.#credentials.lastAttempt(keyOf(target));
  }

  /** Sockets this pool's connections hold open now. */
  get openSockets(): number {
    return this.#credentials.openSockets;
  }

  /**
   * Closes every channel (in-flight calls end with `CANCELLED`) and ends every connection,
   * handshakes in progress included: nothing of the pool outlives it. Idempotent.
   */
  close(): void {
    this.#closed = true;
    // Health clients share these channels: closing the session clients closes them too.
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
    this.#healthClients.clear();
    this.#credentials.close();
  }
}

/** Whether the client's channel has a live connection right now. */
export function isConnected(client: WmsSessionServiceClient): boolean {
  return client.getChannel().getConnectivityState(false) === connectivityState.READY;
}

/**
 * Resolves `true` once the client's channel is connected, `false` after `waitMs` milliseconds or
 * when `signal` aborts. grpc-js keeps a channel that lost its agent in `TRANSIENT_FAILURE`,
 * failing calls at once while it reconnects in the background; a retry waits here for it to come
 * back.
 */
export function waitUntilConnected(
  client: WmsSessionServiceClient,
  waitMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (isConnected(client)) return Promise.resolve(true);
  if (signal.aborted || waitMs <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
    // grpc-js takes a wall-clock instant.
    client.waitForReady(new Date(Date.now() + waitMs), (error) => {
      signal.removeEventListener("abort", onAbort);
      resolve(error === undefined);
    });
  });
}

/**
 * Whether a call's request was handed to a connection to the agent, rather than still waiting for
 * one: grpc-js names the connection's remote address as the call's peer once the call is on it,
 * and the channel's target before. This reads grpc-js behaviour that is public (`getPeer`) but
 * not promised; test/integration/controller-may-have-acted.test.ts fails if it changes.
 */
export function wasDispatched(
  call: Pick<Call, "getPeer">,
  client: WmsSessionServiceClient,
): boolean {
  return call.getPeer() !== client.getChannel().getTarget();
}
