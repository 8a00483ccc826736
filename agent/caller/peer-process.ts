/**
 * Which local process is at the other end of a loopback TCP connection, on Linux (DESIGN
 * section 3, rule 3: the caller's own session is protected when it runs on the same host).
 *
 * The client's socket is the one whose local endpoint is the gRPC peer and whose remote endpoint
 * is the agent's side of the connection. `/proc/net/tcp` and `/proc/net/tcp6` give its inode;
 * the process holding a descriptor `socket:[inode]` under `/proc/<pid>/fd` is the caller. Many
 * clients reach `127.0.0.1` through an IPv6 socket, so addresses are compared as IPv6, with
 * IPv4 addresses in their IPv4-mapped form (`::ffff:127.0.0.1`).
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { endianness } from "node:os";
import type { TcpEndpoint } from "../sessions/backend.js";
import {
  createSocketSearch,
  stillHolds,
  type SocketHolder,
  type SocketSearch,
} from "./procfs-socket-search.js";
import { sockDiagLookup, type ExactSocketLookup } from "./sock-diag.js";

/** One socket of `/proc/net/tcp` or `/proc/net/tcp6`. */
export interface ProcNetTcpEntry {
  readonly local: TcpEndpoint;
  readonly remote: TcpEndpoint;
  /** The kernel's TCP state (`st` column): 1 is ESTABLISHED, 10 is LISTEN. */
  readonly state: number;
  readonly uid: number;
  /** The socket's inode; 0 for sockets no process holds any more (TIME_WAIT). */
  readonly inode: number;
}

/** The `st` value of an established connection (`TCP_ESTABLISHED`). */
export const TCP_ESTABLISHED = 1;

/** Finds the process at the other end of a loopback connection; `undefined` when it cannot. */
export type PeerProcessResolver = (
  peer: TcpEndpoint,
  local: TcpEndpoint,
) => Promise<number | undefined>;

/** Options of {@link createProcfsPeerResolver}. */
export interface ProcfsPeerResolverOptions {
  /** Where procfs is mounted. @default "/proc" */
  readonly procRoot?: string;
  /**
   * How many connections' holders are remembered (oldest forgotten first).
   * @default 4096 — a few hundred bytes each
   */
  readonly maxRememberedConnections?: number;
  /**
   * Finds a socket by its exact 4-tuple without reading the TCP tables; `null` for none.
   * @default netlink (`sock-diag.ts`) when `procRoot` is `/proc`; none under another root (a
   *   test's tree, whose sockets the kernel does not know)
   */
  readonly exactLookup?: ExactSocketLookup | null;
}

/**
 * One batched search per procfs root, shared by every resolver of this process (several agents
 * in one process, as in tests and benchmarks, then read each descriptor table once per pass).
 */
const searches = new Map<string, SocketSearch<ProcNetTcpEntry>>();

function searchOf(procRoot: string): SocketSearch<ProcNetTcpEntry> {
  let search = searches.get(procRoot);
  if (search === undefined) {
    search = createSocketSearch(procRoot, (localPorts) => readTcpTables(procRoot, localPorts));
    searches.set(procRoot, search);
  }
  return search;
}

/**
 * The entries of `net/tcp` and `net/tcp6` (absent when IPv6 is disabled) whose local port is one
 * of `localPorts`.
 */
async function readTcpTables(
  procRoot: string,
  localPorts: ReadonlySet<number>,
): Promise<ProcNetTcpEntry[]> {
  const entries: ProcNetTcpEntry[] = [];
  for (const table of ["tcp", "tcp6"]) {
    try {
      const text = await readFile(`${procRoot}/net/${table}`, "latin1");
      entries.push(...parseProcNetTcp(text, endianness(), localPorts));
    } catch {
      // tcp6 is absent when IPv6 is disabled
    }
  }
  return entries;
}

/**
 * Creates a resolver that reads procfs.
 *
 * `peer` is the client's address and port as the server sees them; `local` is the server's side
 * of the connection. When the server listens on a wildcard address (`0.0.0.0`, `::`) and only that
 * is known, `local` may carry the wildcard address: any address then matches, the port must.
 * Non-loopback peers resolve to `undefined` without reading anything: a remote caller's process
 * is not on this host. Processes whose descriptors cannot be read (other users', without
 * privileges) are skipped, so an unprivileged agent finds only its own user's processes.
 *
 * The search (`procfs-socket-search.ts`) reads processes' descriptor tables and stops at the first
 * holder of the socket, recent holders first, then newest (highest pid) first (so, of processes
 * that share a socket, a fresh search finds the highest pid); connections that arrive together
 * are searched for in one pass.
 *
 * Each connection's holder is remembered. The next call on the same connection costs one
 * `readlink`: if that descriptor of that process still links to the same socket inode, the socket
 * is still open, so its 4-tuple cannot belong to any other connection and the answer stands. A
 * closed connection whose port is reused by another process fails that check (its socket, and its
 * inode, are gone) and is searched afresh.
 */
export function createProcfsPeerResolver(
  options: ProcfsPeerResolverOptions = {},
): PeerProcessResolver {
  const procRoot = options.procRoot ?? "/proc";
  const maxRemembered = options.maxRememberedConnections ?? 4096;
  const remembered = new Map<string, SocketHolder>();
  let exactLookup: Promise<ExactSocketLookup | undefined> | undefined;
  const exactLookupOnce = () =>
    (exactLookup ??=
      options.exactLookup !== undefined
        ? Promise.resolve(options.exactLookup ?? undefined)
        : procRoot === "/proc"
          ? sockDiagLookup()
          : Promise.resolve(undefined));
  const searching = new Map<string, Promise<SocketHolder | undefined>>();
  return async (peer, local) => {
    if (!isLoopbackAddress(peer.address) || !isPort(peer.port) || !isPort(local.port)) {
      return undefined;
    }
    const peerKey = addressKey(peer.address);
    const givenKey = addressKey(local.address);
    const localKey = givenKey === undefined || isUnspecifiedKey(givenKey) ? undefined : givenKey;
    if (peerKey === undefined) return undefined;
    const connection = `${peerKey}.${peer.port}>${localKey ?? "*"}.${local.port}`;
    const known = remembered.get(connection);
    if (known !== undefined) {
      if (stillHolds(known)) return known.pid;
      remembered.delete(connection);
    }
    // The client's socket: its local end is the peer, its remote end the agent's side.
    const isClientSocket = (entry: ProcNetTcpEntry) =>
      entry.state === TCP_ESTABLISHED &&
      entry.local.port === peer.port &&
      entry.remote.port === local.port &&
      addressKey(entry.local.address) === peerKey &&
      (localKey === undefined || addressKey(entry.remote.address) === localKey);
    // The client's socket by its 4-tuple, asked of the kernel: the agent's end is the address the
    // agent listens on, or for a wildcard listener the peer's own (a loopback client reaches the
    // address it connects from); when that is not it, the search reads the TCP tables.
    const lookup = await exactLookupOnce();
    const exact =
      lookup === undefined
        ? undefined
        : (): ProcNetTcpEntry | undefined => {
            const remote = {
              address: localKey === undefined ? peer.address : local.address,
              port: local.port,
            };
            const found = lookup(peer, remote);
            return found === undefined ? undefined : { local: peer, remote, ...found };
          };
    // Calls that arrive together on a new connection share one search. Its answer is checked
    // like a remembered one: it may describe a socket that closed since the search began.
    let search = searching.get(connection);
    const shared = search !== undefined;
    if (search === undefined) {
      search = searchOf(procRoot)(peer.port, isClientSocket, exact).finally(() =>
        searching.delete(connection),
      );
      searching.set(connection, search);
    }
    let holder = await search;
    if (shared && (holder === undefined || !stillHolds(holder))) {
      holder = await searchOf(procRoot)(peer.port, isClientSocket, exact);
    }
    if (holder === undefined) return undefined;
    remembered.delete(connection);
    remembered.set(connection, holder);
    if (remembered.size > maxRemembered) {
      remembered.delete(remembered.keys().next().value as string);
    }
    return holder.pid;
  };
}

/**
 * Parses the text of `/proc/net/tcp` or `/proc/net/tcp6`. The header and malformed lines are
 * skipped.
 * @param byteOrder - the byte order of the address words. @default this machine's
 * @param localPorts - only the entries with one of these local ports (a machine with thousands of
 *   sockets has tables of thousands of lines, read on each search pass: the others are skipped
 *   before they are parsed). @default every entry
 */
export function parseProcNetTcp(
  text: string,
  byteOrder: "LE" | "BE" = endianness(),
  localPorts?: ReadonlySet<number>,
): ProcNetTcpEntry[] {
  const entries: ProcNetTcpEntry[] = [];
  for (const line of text.split("\n")) {
    if (localPorts !== undefined && !localPorts.has(localPortOfLine(line))) continue;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !/^\d+:$/.test(fields[0] ?? "")) continue;
    const local = decodeProcEndpoint(fields[1] ?? "", byteOrder);
    const remote = decodeProcEndpoint(fields[2] ?? "", byteOrder);
    const state = /^[0-9A-Fa-f]{2}$/.test(fields[3] ?? "") ? parseInt(fields[3] ?? "", 16) : NaN;
    const uid = decimal(fields[7]);
    const inode = decimal(fields[9]);
    if (local === undefined || remote === undefined || Number.isNaN(state)) continue;
    if (uid === undefined || inode === undefined) continue;
    entries.push({ local, remote, state, uid, inode });
  }
  return entries;
}

/**
 * The local port of a table line, read without parsing the rest (`NaN` when there is none): the
 * four hex digits after the second colon (`   0: 0100007F:9C40 ...`).
 */
function localPortOfLine(line: string): number {
  const second = line.indexOf(":", line.indexOf(":") + 1);
  if (second < 0 || line.charCodeAt(second + 5) !== 32) return NaN;
  return parseInt(line.slice(second + 1, second + 5), 16);
}

/**
 * Decodes an address as procfs writes it: hex of the address's 32-bit words, each in host byte
 * order (little-endian on x86 and arm64). 8 digits for IPv4, 32 for IPv6.
 * @param byteOrder - the byte order of the words. @default this machine's
 * `0100007F` is `127.0.0.1`; `0000000000000000FFFF00000100007F` is `::ffff:127.0.0.1`.
 * @returns the address in its canonical text form (RFC 5952 for IPv6), `undefined` if malformed.
 */
export function decodeProcAddress(
  hex: string,
  byteOrder: "LE" | "BE" = endianness(),
): string | undefined {
  if (!/^(?:[0-9A-Fa-f]{8}){1,4}$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) {
    return undefined;
  }
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    for (let index = 0; index < 8; index += 2) {
      const byte = byteOrder === "LE" ? 6 - index : index;
      bytes.push(parseInt(hex.slice(word + byte, word + byte + 2), 16));
    }
  }
  return hex.length === 8 ? bytes.join(".") : formatIpv6(bytes);
}

/** Whether an IPv4 or IPv6 literal is a loopback address: 127/8, `::1`, `::ffff:127.x.y.z`. */
export function isLoopbackAddress(address: string): boolean {
  const bytes = addressBytes(address);
  if (bytes === undefined) return false;
  if (isMappedIpv4(bytes)) return bytes[12] === 127;
  for (let index = 0; index < 15; index++) if (bytes[index] !== 0) return false;
  return bytes[15] === 1;
}

/** Whether two IPv4 or IPv6 literals name the same address (`127.0.0.1` = `::ffff:127.0.0.1`). */
export function sameAddress(a: string, b: string): boolean {
  const key = addressKey(a);
  return key !== undefined && key === addressKey(b);
}

function decodeProcEndpoint(text: string, byteOrder: "LE" | "BE"): TcpEndpoint | undefined {
  const [hex, portHex, ...rest] = text.split(":");
  if (hex === undefined || portHex === undefined || rest.length > 0) return undefined;
  const address = decodeProcAddress(hex, byteOrder);
  if (address === undefined || !/^[0-9A-Fa-f]{4}$/.test(portHex)) return undefined;
  return { address, port: parseInt(portHex, 16) };
}

function decimal(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

/** A comparable key: the 16 bytes of the address in hex, IPv4 as IPv4-mapped IPv6. */
function addressKey(address: string): string | undefined {
  if (addressKeys.has(address)) return addressKeys.get(address);
  const key = addressBytes(address)
    ?.map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  if (addressKeys.size >= MAX_PARSED_ADDRESSES) addressKeys.clear();
  addressKeys.set(address, key);
  return key;
}

/** Whether an address key is that of `::` or `0.0.0.0` (a wildcard listener). */
function isUnspecifiedKey(key: string): boolean {
  return /^0{32}$/.test(key) || key === "00000000000000000000ffff00000000";
}

const addressKeys = new Map<string, string | undefined>();

/**
 * Parsed addresses, by literal: every call from a loopback peer asks about the same few
 * addresses, and parsing one costs more than the rest of the check.
 */
const parsedAddresses = new Map<string, readonly number[] | undefined>();
const MAX_PARSED_ADDRESSES = 256;

/** The 16 bytes of an IPv4 or IPv6 literal (IPv4 mapped into IPv6); `undefined` if invalid. */
function addressBytes(literal: string): readonly number[] | undefined {
  if (parsedAddresses.has(literal)) return parsedAddresses.get(literal);
  const bytes = parseAddressBytes(literal);
  if (parsedAddresses.size >= MAX_PARSED_ADDRESSES) parsedAddresses.clear();
  parsedAddresses.set(literal, bytes === undefined ? undefined : Object.freeze(bytes));
  return bytes;
}

function parseAddressBytes(literal: string): number[] | undefined {
  const address = literal.replace(/%.*$/, ""); // zone index: fe80::1%eth0
  const family = isIP(address);
  if (family === 4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ipv4Bytes(address)];
  if (family !== 6) return undefined;
  let text = address;
  let tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    tail = ipv4Bytes(dotted[1]);
    text = `${text.slice(0, dotted.index)}:0:0`;
  }
  const [head = "", rest] = text.split("::");
  const words = (part: string | undefined): number[] =>
    part === undefined || part === "" ? [] : part.split(":").map((word) => parseInt(word, 16));
  const before = words(head);
  const after = words(rest);
  const all =
    rest === undefined
      ? before
      : [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  const bytes = all.flatMap((word) => [word >> 8, word & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : undefined;
}

function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

function isMappedIpv4(bytes: readonly number[]): boolean {
  // A loop, not `slice().every()`: this runs several times per call from a loopback peer.
  for (let index = 0; index < 10; index++) if (bytes[index] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** RFC 5952 text: lowercase, the longest run of two or more zero words as `::`, mapped IPv4 dotted. */
function formatIpv6(bytes: readonly number[]): string {
  if (isMappedIpv4(bytes)) return `::ffff:${bytes.slice(12).join(".")}`;
  const words: number[] = [];
  for (let index = 0; index < 16; index += 2) {
    words.push(((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0));
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && words[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = words.map((word) => word.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
