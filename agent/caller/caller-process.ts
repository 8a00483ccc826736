/**
 * Protection rule 3: which session the calling process runs in, when the caller is on this host.
 * The agent decides this itself from the TCP connection; it never trusts the client for it.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Logger } from "pino";
import type { SessionBackend, TcpEndpoint } from "../sessions/backend.js";
import { isLoopbackAddress, type PeerProcessResolver } from "./peer-process.js";

export { isLoopbackAddress, type PeerProcessResolver };

/** Recent answers of {@link parsePeer}: a connection's calls all carry the same peer string. */
const parsedPeers = new Map<string, TcpEndpoint | undefined>();
const MAX_PARSED_PEERS = 1024;

/**
 * Parses grpc-js's `call.getPeer()` (`127.0.0.1:5000`, `::1:5000`, `::ffff:127.0.0.1:5000`, or
 * `[::1]:5000`) into an endpoint; `undefined` for anything else (e.g. `unknown`).
 */
export function parsePeer(peer: string): TcpEndpoint | undefined {
  if (parsedPeers.has(peer)) return parsedPeers.get(peer);
  const endpoint = parsePeerText(peer);
  if (parsedPeers.size >= MAX_PARSED_PEERS) parsedPeers.clear();
  parsedPeers.set(peer, endpoint);
  return endpoint;
}

function parsePeerText(peer: string): TcpEndpoint | undefined {
  const colon = peer.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let address = peer.slice(0, colon);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const port = Number(peer.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  if (!isIPv4(address) && !isIPv6(address)) return undefined;
  return { address, port };
}

/** What the caller-session lookup needs. */
export interface CallerSessionLookupOptions {
  readonly backend: SessionBackend;
  /** The platform's resolver, used when the backend has none of its own. */
  readonly fallbackResolver: PeerProcessResolver | undefined;
  /** The ports the agent listens on (the remote end of the client's socket). */
  readonly localPorts: () => readonly number[];
  readonly logger: Logger;
}

/**
 * Returns a function from a call's peer string to the session of the calling process, or
 * `undefined` when the caller is not on this host or its process cannot be found.
 */
export function createCallerSessionLookup(
  options: CallerSessionLookupOptions,
): (peer: string) => Promise<number | undefined> {
  const { backend, logger } = options;
  const resolve: PeerProcessResolver | undefined =
    backend.resolvePeerProcess?.bind(backend) ?? options.fallbackResolver;
  return async (peerString) => {
    const peer = parsePeer(peerString);
    if (peer === undefined || !isLoopbackAddress(peer.address) || resolve === undefined) {
      return undefined;
    }
    try {
      for (const port of options.localPorts()) {
        // The wildcard address: the agent may listen on several addresses; the port decides.
        const pid = await resolve(peer, { address: "::", port });
        if (pid !== undefined) return await backend.sessionOfProcess(pid);
      }
    } catch (error) {
      logger.warn({ err: error, peer: peerString }, "could not resolve the calling process");
    }
    return undefined;
  };
}
