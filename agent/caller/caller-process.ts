/**
 * Protection rule 3: which process is calling, and in which session, when the caller runs on this
 * host (DESIGN section 3). The agent decides this itself from the TCP connection; it never trusts
 * the client for it, and it fails closed: a local peer whose process cannot be found is
 * `unresolved`, and every session it could be in stays protected.
 *
 * The steps: is the peer on this host (`host-addresses.ts`)? Which processes hold the client's
 * end of the connection (the platform's {@link PeerProcessResolver})? In which sessions do they
 * run (the session backend)?
 */
import type { Logger } from "pino";
import { parsePeer, type TcpEndpoint } from "../../common/ip-address.js";
import type { SessionBackend } from "../sessions/backend.js";
import type { CallerProcess } from "../sessions/protection.js";
import { createHostAddresses, type HostAddresses } from "./host-addresses.js";
import type { PeerProcessResolver } from "./peer-process.js";
import { createProcfsPeerResolver } from "./procfs-peer-process.js";
import { createWindowsPeerResolver } from "./windows-peer-process.js";

export type { CallerProcess, PeerProcessResolver };

/** What the caller lookup needs. */
export interface CallerLookupOptions {
  /** Asked for the session of each process found. */
  readonly backend: Pick<SessionBackend, "sessionOfProcess">;
  /**
   * Finds the processes at the other end of a connection; `null` when this platform has no way
   * to (then every local caller is unresolved).
   * @default {@link platformPeerResolver}
   */
  readonly resolver?: PeerProcessResolver | null;
  /**
   * The ports the agent listens on, tried in turn when a call's own local endpoint is not known.
   */
  readonly localPorts: () => readonly number[];
  /** Which addresses are this host's. @default {@link createHostAddresses} with its defaults */
  readonly hostAddresses?: HostAddresses;
  readonly logger: Logger;
}

/**
 * The lookup of one call: `peer` is grpc-js's `call.getPeer()`; `local` the agent's end of the
 * connection when the transport knows it (else each listening port is tried, at any address).
 */
export type CallerLookup = (peer: string, local?: TcpEndpoint) => Promise<CallerProcess>;

/**
 * The resolver of this platform: procfs and netlink on Linux, the TCP table on Windows; `null`
 * elsewhere.
 */
export function platformPeerResolver(
  platform: NodeJS.Platform = process.platform,
): PeerProcessResolver | null {
  if (platform === "linux") return createProcfsPeerResolver();
  if (platform === "win32") return createWindowsPeerResolver();
  return null;
}

/** Creates the lookup (see the module comment). */
export function createCallerLookup(options: CallerLookupOptions): CallerLookup {
  const { backend, logger } = options;
  const resolver = options.resolver === undefined ? platformPeerResolver() : options.resolver;
  const hostAddresses = options.hostAddresses ?? createHostAddresses();

  const unresolved = (peer: string, reason: string): CallerProcess => {
    logger.warn({ peer, reason }, "protection rule 3: the local caller's process is unknown");
    return { kind: "unresolved", reason };
  };

  return async (peerText, local) => {
    const peer = parsePeer(peerText);
    if (peer === undefined) {
      return unresolved(peerText, `the peer "${peerText}" is not an IP address and port`);
    }
    if (!hostAddresses.isLocal(peer.address)) return { kind: "remote" };
    if (resolver === null) {
      return unresolved(
        peerText,
        `this platform (${process.platform}) cannot find a local caller's process`,
      );
    }
    const ends =
      local !== undefined ? [local] : options.localPorts().map((port) => ({ address: "::", port }));
    let pids: number[] = [];
    try {
      for (const end of ends) {
        pids = await resolver(peer, end);
        if (pids.length > 0) break;
      }
    } catch (error) {
      return unresolved(peerText, `the lookup of the caller's process failed: ${messageOf(error)}`);
    }
    if (pids.length === 0) {
      return unresolved(
        peerText,
        "no process on this host holds the client's end of the connection any more (it closed, or its process exited)",
      );
    }
    const sessionIds = new Set<number>();
    for (const pid of pids) {
      let session: number | undefined;
      try {
        session = await backend.sessionOfProcess(pid);
      } catch (error) {
        return unresolved(
          peerText,
          `the session of process ${pid} is unknown: ${messageOf(error)}`,
        );
      }
      if (session !== undefined) sessionIds.add(session);
    }
    return { kind: "resolved", sessionIds: [...sessionIds] };
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
