/**
 * Which local processes are at the other end of a TCP connection, on Linux (DESIGN section 3,
 * rule 3).
 *
 * First the client's socket: its local end is the peer, its remote end the agent's side of the
 * connection. The kernel is asked for it by its exact 4-tuple over netlink (`sock-diag.ts`); when
 * that finds nothing, `/proc/net/tcp` and `/proc/net/tcp6` are read (`proc-net-tcp.ts`).
 * Addresses are compared by value, so an IPv4 client of a dual-stack agent
 * (`::ffff:127.0.0.1`) matches its own plain IPv4 socket.
 *
 * Then its holders: every process with a descriptor `socket:[inode]` under `/proc/<pid>/fd`. All
 * of them, not the first found: a socket inherited by a child or passed to another process is
 * held by each, any of them may be the caller, and rule 3 must not guess which.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { isUnspecifiedAddress, sameAddress, type TcpEndpoint } from "../../common/ip-address.js";
import type { PeerProcessResolver } from "./peer-process.js";
import { readTcpTables, TCP_LISTEN } from "./proc-net-tcp.js";
import { sockDiagLookup, type ExactSocketLookup } from "./sock-diag.js";

/** Options of {@link createProcfsPeerResolver}. */
export interface ProcfsPeerResolverOptions {
  /** Where procfs is mounted. @default "/proc" */
  readonly procRoot?: string;
  /**
   * Finds a socket by its exact 4-tuple without reading the TCP tables; `null` for none.
   * @default netlink (`sock-diag.ts`) when `procRoot` is `/proc`; none under another root (a
   *   test's tree, whose sockets the kernel does not know)
   */
  readonly exactLookup?: ExactSocketLookup | null;
}

/** Creates the Linux resolver (see the module comment). */
export function createProcfsPeerResolver(
  options: ProcfsPeerResolverOptions = {},
): PeerProcessResolver {
  const procRoot = options.procRoot ?? "/proc";
  const exactLookup: Promise<ExactSocketLookup | undefined> =
    options.exactLookup !== undefined
      ? Promise.resolve(options.exactLookup ?? undefined)
      : procRoot === "/proc"
        ? sockDiagLookup()
        : Promise.resolve(undefined);
  return async (peer, local) => {
    if (!isPort(peer.port) || !isPort(local.port)) {
      throw new RangeError(`not a TCP connection: ${peer.port} to ${local.port}`);
    }
    const inodes = await clientSocketInodes(procRoot, await exactLookup, peer, local);
    return inodes.size === 0 ? [] : await socketHolders(procRoot, inodes);
  };
}

/**
 * The inodes of the client's socket: its local end is `peer`, its remote end `local`. Only
 * sockets some process still holds (inode 0 is a socket in TIME_WAIT or orphaned by `close`), in
 * any state but LISTEN: a process that shut its side down and still holds the socket is still
 * the caller.
 */
async function clientSocketInodes(
  procRoot: string,
  exactLookup: ExactSocketLookup | undefined,
  peer: TcpEndpoint,
  local: TcpEndpoint,
): Promise<Set<number>> {
  const wildcard = isUnspecifiedAddress(local.address);
  // A local client reaches the agent at the address it connects from, unless it chose its own
  // source address: for a wildcard listener that is the guess the kernel is asked about.
  const exact = exactLookup?.(peer, {
    address: wildcard ? peer.address : local.address,
    port: local.port,
  });
  if (exact !== undefined) return new Set(exact.inode === 0 ? [] : [exact.inode]);
  const inodes = new Set<number>();
  for (const entry of await readTcpTables(procRoot)) {
    if (
      entry.inode !== 0 &&
      entry.state !== TCP_LISTEN &&
      entry.local.port === peer.port &&
      entry.remote.port === local.port &&
      sameAddress(entry.local.address, peer.address) &&
      (wildcard || sameAddress(entry.remote.address, local.address))
    ) {
      inodes.add(entry.inode);
    }
  }
  return inodes;
}

/**
 * Every process holding one of the sockets. Each process's descriptors are read synchronously
 * (procfs answers from memory), yielding to the event loop between processes. A process that
 * exits meanwhile is skipped; when nothing is found and some processes could not be read
 * (another user's, without the privilege), the lookup fails rather than answer "nobody".
 */
async function socketHolders(procRoot: string, inodes: ReadonlySet<number>): Promise<number[]> {
  const links = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  const holders: number[] = [];
  let unreadable = 0;
  for (const name of readdirSync(procRoot)) {
    if (!/^[1-9]\d*$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${name}/fd`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") unreadable++;
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${procRoot}/${name}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (links.has(link)) {
        holders.push(Number(name));
        break;
      }
    }
    await yieldToEventLoop();
  }
  if (holders.length === 0 && unreadable > 0) {
    throw new Error(
      `no readable process holds the socket, and the descriptors of ${unreadable} processes could not be read (the agent lacks the privilege)`,
    );
  }
  return holders;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
