/**
 * The agent's listening sockets. The agent binds its own TCP servers and hands every accepted
 * connection to grpc-js through `Server.createConnectionInjector` (public grpc-js API), so that
 * it decides itself what grpc-js's own `bindAsync` leaves open:
 *
 * - how many connections are open at once: at {@link ListenerOptions.maxConnections}, a newcomer
 *   makes room by closing the oldest connection that has not yet made an authorized call (a TLS
 *   handshake in progress, a socket that never speaks, a caller without a role), so that a flood
 *   of such connections cannot lock out the fleet's real clients; when every connection has made
 *   one, the newcomer is closed instead;
 * - which connection a call came on, by its two endpoints (`getConnectionInfo()` in a server
 *   interceptor), with a memo for what cannot change during a connection (its client
 *   certificate) and a way to close it when its caller misbehaves;
 * - one plain error when an address cannot be bound (`EADDRINUSE`: "already in use").
 */
import { lookup } from "node:dns/promises";
import { createServer, isIP, type Server as NetServer, type Socket } from "node:net";
import type { ConnectionInjector } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { AuthContext } from "./access.js";
import type { TcpEndpoint } from "../../common/ip-address.js";
import { DEFAULT_AGENT_PORT } from "../../common/agent-port.js";
import { parseListen } from "../../common/config-values.js";

/** grpc-js's view of a call's connection, as a server interceptor gets it. */
export interface ConnectionEndpoints {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** One open connection, as calls on it see it. */
export interface TrackedConnection {
  /** The client's end. */
  readonly remote: TcpEndpoint;
  /** The agent's end: the address the client dialled and the listening port. */
  readonly local: TcpEndpoint;
  /**
   * The connection's auth context, read once (`read`, i.e. grpc-js's `getAuthContext()`, builds
   * the certificate object afresh on every call; it cannot change during a connection: Node's
   * HTTP/2 disables TLS renegotiation, as RFC 9113 section 9.2.1 requires).
   */
  authContext(read: () => AuthContext): AuthContext;
  /** Records that a call on this connection was authorized: it is no longer first to be evicted. */
  markAuthorized(): void;
  /** Closes the connection at once (its calls end with `UNAVAILABLE` on the client's side). */
  close(): void;
}

/** What the listener needs. */
export interface ListenerOptions {
  /** Where accepted connections go. */
  readonly injector: ConnectionInjector;
  /** See `AgentOptions.maxConnections`. */
  readonly maxConnections: number;
  readonly logger: Logger;
  /** Clock for the rate of the limit's warnings, in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** The agent's bound addresses and open connections. */
export interface Listener {
  /** The port bound for each `listen` address, in order. */
  readonly ports: readonly number[];
  /** The connection a call came on; `undefined` if it is already gone. */
  connection(endpoints: ConnectionEndpoints): TrackedConnection | undefined;
  /** Connections open now (handshakes in progress included). */
  openConnections(): number;
  /**
   * The listener's part of a drain, which grpc-js's `tryShutdown` starts by telling every HTTP/2
   * session to close (GOAWAY; a session closes its connection once its streams have ended): stops
   * accepting connections; closes at once those that have made no authorized call, as no call a
   * drain lets finish runs on them (a TLS handshake in progress, a socket that never spoke, a
   * caller without a role) and those without an HTTP/2 session yet would not close by themselves;
   * resolves once every other connection has closed, its last answer written, on every Node
   * version (see `drain` in `agent.ts` for why this is not left to `tryShutdown`'s callback).
   */
  drain(): Promise<void>;
  /** Closes every connection still open (the end of a shutdown). */
  closeAll(): void;
}

/** A `listen` address that cannot be used; the message says why in plain words. */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/**
 * Connections the kernel may hold completed but not yet accepted (capped by the system's
 * `somaxconn`): a burst waits there to be accepted, and closed by the limit if need be, instead
 * of being half-open on the client's side while the kernel drops it (Node's default is 511).
 */
const LISTEN_BACKLOG = 4096;

/** How often the "connection limit reached" warning may be repeated. */
const LIMIT_WARNING_INTERVAL_MS = 60_000;

/**
 * Binds every address of `listen` (`HOST:PORT`, `[v6]:PORT`; a name binds each address it
 * resolves to, as grpc-js does; port 0 picks one free port shared by all of a name's addresses).
 * @throws ListenError when an address cannot be parsed or bound; whatever was bound is closed.
 */
export async function listen(
  addresses: readonly string[],
  options: ListenerOptions,
): Promise<Listener> {
  const { injector, maxConnections, logger } = options;
  const now = options.now ?? Date.now;
  const servers: NetServer[] = [];
  const ports: number[] = [];
  const open = new Map<string, Entry>();
  // Connections that have made no authorized call yet, oldest first (a Set keeps insertion order).
  const unproven = new Set<Entry>();
  let accepting = true;
  // Resolves the drain once no connection is open.
  let drained: (() => void) | undefined;
  let lastWarning = -Infinity;
  let closedSinceWarning = 0;

  interface Entry {
    readonly key: string;
    readonly socket: Socket;
    readonly connection: TrackedConnection;
  }

  const forget = (entry: Entry) => {
    if (open.get(entry.key) === entry) open.delete(entry.key);
    unproven.delete(entry);
    if (open.size === 0) drained?.();
  };

  const warnLimit = (what: string) => {
    closedSinceWarning += 1;
    const time = now();
    if (time - lastWarning < LIMIT_WARNING_INTERVAL_MS) return;
    logger.warn(
      { maxConnections, closed: closedSinceWarning },
      `connection limit reached: ${what} (repeats are counted, not logged, for a minute)`,
    );
    lastWarning = time;
    closedSinceWarning = 0;
  };

  const accept = (socket: Socket) => {
    // The raw socket's errors surface through TLS and HTTP/2; its 'close' does the bookkeeping.
    socket.on("error", () => undefined);
    const remote = endpoint(socket.remoteAddress, socket.remotePort);
    const local = endpoint(socket.localAddress, socket.localPort);
    if (!accepting || remote === undefined || local === undefined) {
      socket.destroy();
      return;
    }
    if (open.size >= maxConnections) {
      const oldest = unproven.values().next();
      if (oldest.done === true) {
        warnLimit("every connection has made an authorized call; refused a new one");
        socket.destroy();
        return;
      }
      warnLimit("closed the oldest connection that had made no authorized call");
      forget(oldest.value);
      oldest.value.socket.destroy();
    }
    const key = connectionKey(remote.address, remote.port, local.address, local.port);
    // The kernel accepted this 4-tuple, so a previous connection with it is gone.
    const previous = open.get(key);
    if (previous !== undefined) {
      forget(previous);
      previous.socket.destroy();
    }
    let authContext: AuthContext | undefined;
    const entry: Entry = {
      key,
      socket,
      connection: {
        remote,
        local,
        authContext: (read) => (authContext ??= read()),
        markAuthorized: () => unproven.delete(entry),
        close: () => {
          forget(entry);
          socket.destroy();
        },
      },
    };
    open.set(key, entry);
    unproven.add(entry);
    socket.once("close", () => forget(entry));
    injector.injectConnection(socket);
  };

  try {
    for (const address of addresses) {
      ports.push(await bindAll(address, accept, servers));
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }

  return {
    ports,
    connection(endpoints) {
      const { remoteAddress, remotePort, localAddress, localPort } = endpoints;
      if (remoteAddress === undefined || localAddress === undefined) return undefined;
      return open.get(connectionKey(remoteAddress, remotePort, localAddress, localPort))
        ?.connection;
    },
    openConnections: () => open.size,
    drain() {
      accepting = false;
      for (const server of servers) server.close();
      for (const entry of [...unproven]) {
        forget(entry);
        entry.socket.destroy();
      }
      return open.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            drained = resolve;
          });
    },
    closeAll() {
      for (const entry of [...open.values()]) {
        forget(entry);
        entry.socket.destroy();
      }
    },
  };
}

function connectionKey(
  remoteAddress: string,
  remotePort: number | undefined,
  localAddress: string,
  localPort: number | undefined,
): string {
  return `${remoteAddress}|${remotePort}|${localAddress}|${localPort}`;
}

function endpoint(address: string | undefined, port: number | undefined): TcpEndpoint | undefined {
  return address === undefined || port === undefined ? undefined : { address, port };
}

/** Binds each address `text` names; resolves to the port bound. */
async function bindAll(
  text: string,
  accept: (socket: Socket) => void,
  servers: NetServer[],
): Promise<number> {
  const { host, port } = parseListen(
    text,
    `cannot listen on ${text}`,
    DEFAULT_AGENT_PORT,
    (message) => new ListenError(message),
  );
  let hosts: string[];
  if (isIP(host) !== 0) {
    hosts = [host];
  } else {
    try {
      hosts = [...new Set((await lookup(host, { all: true })).map((entry) => entry.address))];
    } catch (error) {
      throw new ListenError(
        `cannot listen on ${text}: the name "${host}" does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
  }
  let bound = port;
  const failures: string[] = [];
  for (const address of hosts) {
    const server = createServer({ noDelay: true }, accept);
    try {
      bound = await bindOne(server, address, bound);
      servers.push(server);
    } catch (error) {
      const reason = describeBindError(error as NodeJS.ErrnoException);
      failures.push(hosts.length === 1 ? reason : `${address}: ${reason}`);
    }
  }
  // A name such as localhost may resolve to an address family the host lacks (::1 without
  // IPv6); as with grpc-js, one bound address is enough.
  if (failures.length === hosts.length) {
    throw new ListenError(`cannot listen on ${text}: ${failures.join("; ")}`);
  }
  return bound;
}

function bindOne(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen({ host, port, exclusive: true, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

function describeBindError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "EADDRINUSE":
      return "the address is already in use (another wms-agent, or another program, listens there)";
    case "EACCES":
    case "EPERM":
      return "permission denied (ports below 1024 need privileges)";
    case "EADDRNOTAVAIL":
      return "no interface of this host has that address";
    default:
      return error.message;
  }
}
