/**
 * One auth context per TLS connection instead of one per call. grpc-js's `getAuthContext()` calls
 * the socket's `getPeerCertificate()` every time, and Node builds the certificate object afresh
 * (subject, SANs, fingerprints): about 12 % of the agent's CPU under load, for a value that cannot
 * change during a connection (the handshake is over before the first stream, and Node's HTTP/2
 * disables TLS renegotiation on the socket, as RFC 9113 section 9.2.1 requires).
 *
 * The cache is keyed by the connection's `TLSSocket` object, so a connection only ever sees the
 * context read from its own socket, whatever port or certificate another connection uses; entries
 * go with their sockets (`WeakMap`). grpc-js does not expose a call's socket; it is reached through
 * grpc-js's internal call objects, and when their shape is not the expected one (another grpc-js
 * version), every call asks grpc-js as before.
 */
import { TLSSocket } from "node:tls";
import type { AuthContext } from "../server/access.js";

/** What this module needs of a grpc-js server call (unary or streaming). */
export interface AuthContextSource {
  getAuthContext(): AuthContext;
}

const contexts = new WeakMap<TLSSocket, AuthContext>();

/** The call's auth context, read from grpc-js once per TLS connection. */
export function connectionAuthContext(call: AuthContextSource): AuthContext {
  const socket = callSocket(call);
  if (socket === undefined) return call.getAuthContext();
  const cached = contexts.get(socket);
  if (cached !== undefined) return cached;
  const context = call.getAuthContext();
  // `authorized` is settled by the end of the handshake; before it (never the case for a call)
  // grpc-js would answer `{}`, which must not stick to the connection.
  if (socket.authorized) contexts.set(socket, context);
  return context;
}

/**
 * The TLS socket a grpc-js server call arrived on: `ServerUnaryCallImpl.call` (and the other
 * call kinds) → any `ServerInterceptingCall.nextCall` → `BaseServerInterceptingCall.stream`, an
 * `Http2Stream` whose `session.socket` is the connection. `undefined` when the shape differs or
 * the connection is not TLS.
 */
export function callSocket(call: AuthContextSource): TLSSocket | undefined {
  let inner = field(call, "call");
  for (let depth = 0; depth < 8 && inner !== undefined; depth++) {
    const next = field(inner, "nextCall");
    if (next === undefined) break;
    inner = next;
  }
  const socket = field(field(field(inner, "stream"), "session"), "socket");
  return socket instanceof TLSSocket ? socket : undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
