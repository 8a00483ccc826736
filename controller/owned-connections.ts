/**
 * Connections that belong to the controller that made them. grpc-js gives a channel no way to
 * cancel a TLS handshake in progress: closing the channel leaves a handshake with a peer that never
 * answers (a port that accepts TCP and never speaks TLS, a stuck proxy) holding its socket, and
 * the process, until the peer closes. {@link OwnedCredentials} wraps the controller's credentials
 * so that every connection its channels make passes through it: each handshake is bounded by
 * `handshakeTimeoutMs`, every socket is tracked until it closes, and {@link OwnedCredentials.close}
 * ends them all. It also remembers how each channel's last connection attempt went, so that a
 * failure can be told in words a person can act on (see `connection-problem.ts`).
 *
 * grpc-js 1.14 builds every connection through `ChannelCredentials._createSecureConnector`, whose
 * connector receives the TCP socket and returns the (TLS) socket HTTP/2 runs on. That method is
 * public in grpc-js's types but marked internal by its underscore; the range of @grpc/grpc-js in
 * package.json is pinned to 1.x, and test/integration/controller-owned-connections.test.ts fails
 * if the hook stops being called.
 */
import type { Socket } from "node:net";
import { ChannelCredentials, type CallCredentials, type ChannelOptions } from "@grpc/grpc-js";

/** The channel option that names a channel to its connector (grpc-js passes options through). */
export const CHANNEL_KEY_OPTION = "wmsfleet.channel_key";

/** The connector grpc-js gets from credentials for each connection (`SecureConnector`). */
type SecureConnector = ReturnType<ChannelCredentials["_createSecureConnector"]>;

/** How the last connection attempt of a channel went. */
export interface ConnectionAttempt {
  /** The peer, `address:port`, as connected. */
  readonly peer: string;
  /** Whether the connection is TLS. */
  readonly secure: boolean;
  /**
   * `handshake`: TLS handshake under way; `failed`: the handshake failed (`error` says how) or
   * timed out; `established`: TLS done (or no TLS), HTTP/2 begins; `closed`: the connection was
   * established and has closed since.
   */
  readonly phase: "handshake" | "failed" | "established" | "closed";
  /** Why the handshake failed: Node's error, or ours for a timeout. */
  readonly error?: Error;
  /** Whether the handshake failed by running out of time. */
  readonly timedOut?: boolean;
  /** When the attempt began, in `performance.now()` milliseconds (monotonic). */
  readonly startedAt: number;
  /**
   * The attempt before this one, when it failed: grpc-js reconnects on its own after a failure,
   * and a call failed by that failure may be told about it only once the next attempt has begun.
   */
  readonly previous?: ConnectionAttempt;
}

/** Options of {@link OwnedCredentials}. */
export interface OwnedCredentialsOptions {
  /** Milliseconds a TLS handshake may take before it is abandoned. */
  readonly handshakeTimeoutMs: number;
}

/** What a handshake that did not finish in time rejects with. */
export class HandshakeTimeoutError extends Error {
  override readonly name = "HandshakeTimeoutError";
  constructor(
    readonly peer: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no TLS handshake from ${peer} within ${timeoutMs} ms: the port accepts connections but does not answer TLS`,
    );
  }
}

/**
 * The credentials a controller's channels are made from: `inner`'s, with every connection owned.
 * One object per controller, so that grpc-js shares connections among its channels (its
 * subchannel pool keys on credentials) but never with another controller's, which could close
 * them.
 */
export class OwnedCredentials extends ChannelCredentials {
  readonly #inner: ChannelCredentials;
  readonly #handshakeTimeoutMs: number;
  readonly #sockets = new Set<Socket>();
  readonly #attempts = new Map<string, ConnectionAttempt>();
  #closed = false;

  constructor(inner: ChannelCredentials, options: OwnedCredentialsOptions) {
    super();
    this.#inner = inner;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs;
  }

  override _isSecure(): boolean {
    return this.#inner._isSecure();
  }

  override _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(
    channelTarget: Parameters<ChannelCredentials["_createSecureConnector"]>[0],
    options: ChannelOptions,
    callCredentials?: CallCredentials,
  ): SecureConnector {
    const inner = this.#inner._createSecureConnector(channelTarget, options, callCredentials);
    const key = String(options[CHANNEL_KEY_OPTION] ?? "");
    return {
      connect: (socket) => this.#connect(key, inner, socket),
      waitForReady: () => inner.waitForReady(),
      getCallCredentials: () => inner.getCallCredentials(),
      destroy: () => inner.destroy(),
    };
  }

  /** How the last connection attempt of the channel with this key went, if it made one. */
  lastAttempt(key: string): ConnectionAttempt | undefined {
    return this.#attempts.get(key);
  }

  /** Sockets open now (for tests and diagnostics). */
  get openSockets(): number {
    return this.#sockets.size;
  }

  /**
   * Ends every connection these credentials made, handshakes in progress included, and refuses
   * new ones. Idempotent.
   */
  close(): void {
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #track(socket: Socket): void {
    if (this.#sockets.has(socket) || socket.destroyed) return;
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
  }

  async #connect(
    key: string,
    inner: SecureConnector,
    socket: Socket,
  ): ReturnType<SecureConnector["connect"]> {
    if (this.#closed) {
      socket.destroy();
      throw new Error("the controller is closed");
    }
    this.#track(socket);
    const peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    const secure = this._isSecure();
    const startedAt = performance.now();
    const before = this.#attempts.get(key);
    // Only the failed one just before is kept (without its own previous): the chain stays short.
    const previous: ConnectionAttempt | undefined =
      before?.phase === "failed" && before.startedAt < startedAt
        ? {
            peer: before.peer,
            secure: before.secure,
            phase: before.phase,
            startedAt: before.startedAt,
            ...(before.error === undefined ? {} : { error: before.error }),
            ...(before.timedOut === undefined ? {} : { timedOut: before.timedOut }),
          }
        : undefined;
    const record = (attempt: Omit<ConnectionAttempt, "peer" | "secure" | "startedAt">) =>
      this.#attempts.set(key, {
        peer,
        secure,
        startedAt,
        ...(previous === undefined ? {} : { previous }),
        ...attempt,
      });
    record({ phase: "handshake" });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new HandshakeTimeoutError(peer, this.#handshakeTimeoutMs));
        socket.destroy();
      }, this.#handshakeTimeoutMs);
      // The socket keeps the process alive while it matters; the timer must not.
      timer.unref();
    });
    try {
      const result = await Promise.race([inner.connect(socket), timeout]);
      this.#track(result.socket);
      if (this.#closed) {
        result.socket.destroy();
        throw new Error("the controller is closed");
      }
      record({ phase: "established" });
      result.socket.once("close", () => {
        if (this.#attempts.get(key)?.phase === "established") record({ phase: "closed" });
      });
      return result;
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      record({
        phase: "failed",
        error,
        ...(error instanceof HandshakeTimeoutError ? { timedOut: true } : {}),
      });
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
