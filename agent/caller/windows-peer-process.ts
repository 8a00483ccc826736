/**
 * Which local process is at the other end of a TCP connection, on Windows (DESIGN section 3,
 * rule 3): `GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL)` of `iphlpapi.dll`, for IPv4 and IPv6,
 * through koffi (`common/native/iphlpapi.ts`).
 *
 * The DLL is loaded on first use, so loading this module on Linux loads no native code. The call
 * copies the whole table and runs on one of koffi's worker threads, never on the event loop.
 * Windows names one owner per socket (the process that created it); a connection listed with
 * owner 0 only (its process is not known) fails the lookup instead of answering "nobody".
 */
import { formatIpv6, isUnspecifiedAddress, sameAddress } from "../../common/ip-address.js";
import { loadIphlpapi } from "../../common/native/iphlpapi.js";
import type { NativeFunction } from "../../common/native/koffi.js";
import type { PeerProcessResolver } from "./peer-process.js";

/** The address families of `GetExtendedTcpTable`. */
export const AF_INET = 2;
export const AF_INET6 = 23;
const TCP_TABLE_OWNER_PID_ALL = 5;
const NO_ERROR = 0;
const ERROR_INSUFFICIENT_BUFFER = 122;
/**
 * What a table that changed under the call may also answer: Wine's `NsiAllocateAndGetTable` gives
 * up with `ERROR_OUTOFMEMORY` after five tries at a table that kept growing (seen on a busy host
 * with thousands of connections opening and closing), where Windows answers
 * `ERROR_INSUFFICIENT_BUFFER`. Both mean "read it again", within the same bounded tries.
 */
const ERROR_OUTOFMEMORY = 14;
const ERROR_NOT_ENOUGH_MEMORY = 8;
/** Room for about a thousand IPv6 rows: no sizing call on an ordinary host. */
const FIRST_TABLE_BYTES = 64 * 1024;
/** The tries at a table that keeps growing between the calls, before the lookup gives up. */
const MAX_TABLE_ATTEMPTS = 8;
/** `MIB_TCP_STATE_LISTEN`: a listener, never the client of a connection. */
const MIB_TCP_STATE_LISTEN = 2;

/** One row of `MIB_TCPTABLE_OWNER_PID` or `MIB_TCP6TABLE_OWNER_PID`. */
export interface TcpRow {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** `MIB_TCP_STATE`: 2 LISTEN, 5 ESTABLISHED, 11 TIME_WAIT, ... */
  readonly state: number;
  readonly pid: number;
}

/** Creates the Windows resolver (see the module comment). Rejects off Windows. */
export function createWindowsPeerResolver(): PeerProcessResolver {
  return async (peer, local) => {
    const fn = (await loadIphlpapi()).GetExtendedTcpTable;
    const wildcard = isUnspecifiedAddress(local.address);
    const owners = new Set<number>();
    let unowned = false;
    // An IPv4 client of a dual-stack agent has an IPv4 socket: look in both tables.
    for (const family of [AF_INET, AF_INET6] as const) {
      for (const row of parseTcpTable(await readTable(fn, family), family)) {
        if (
          row.state !== MIB_TCP_STATE_LISTEN &&
          row.localPort === peer.port &&
          row.remotePort === local.port &&
          sameAddress(row.localAddress, peer.address) &&
          (wildcard || sameAddress(row.remoteAddress, local.address))
        ) {
          if (row.pid === 0) unowned = true;
          else owners.add(row.pid);
        }
      }
    }
    if (owners.size === 0 && unowned) {
      throw new Error(
        `Windows lists the connection from ${peer.address}:${peer.port} but not its process (owner 0)`,
      );
    }
    return [...owners];
  };
}

/**
 * One table, grown until it fits (connections come and go between the calls). A table that
 * changed under the call is read again, at most {@link MAX_TABLE_ATTEMPTS} times in all.
 * @param fn `GetExtendedTcpTable` (a koffi function, called on a worker thread).
 * @throws Error naming the Win32 error, or that the table kept changing.
 */
export async function readTable(fn: NativeFunction, family: number): Promise<Buffer> {
  const size: [number] = [FIRST_TABLE_BYTES];
  let table = Buffer.alloc(FIRST_TABLE_BYTES);
  for (let attempt = 0; attempt < MAX_TABLE_ATTEMPTS; attempt++) {
    size[0] = table.length;
    const status = await new Promise<number>((resolve, reject) => {
      fn.async(
        table,
        size,
        0,
        family,
        TCP_TABLE_OWNER_PID_ALL,
        0,
        (error: unknown, result: number) => {
          if (error === null || error === undefined) resolve(result);
          else
            reject(
              error instanceof Error
                ? error
                : new Error("GetExtendedTcpTable failed", { cause: error }),
            );
        },
      );
    });
    if (status === NO_ERROR) return table.subarray(0, size[0]);
    if (status === ERROR_INSUFFICIENT_BUFFER) {
      table = Buffer.alloc(size[0] + 16 * 56);
    } else if (status !== ERROR_OUTOFMEMORY && status !== ERROR_NOT_ENOUGH_MEMORY) {
      throw new Error(`GetExtendedTcpTable(family ${family}) failed with Win32 error ${status}`);
    }
  }
  throw new Error(
    `GetExtendedTcpTable(family ${family}) kept changing in ${MAX_TABLE_ATTEMPTS} reads; gave up`,
  );
}

/**
 * Decodes a `GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL)` table. Addresses are in network byte
 * order; a port is the low 16 bits of its DWORD, also in network byte order.
 */
export function parseTcpTable(table: Buffer, family: typeof AF_INET | typeof AF_INET6): TcpRow[] {
  if (table.length < 4) return [];
  const rowSize = family === AF_INET ? 24 : 56;
  const count = Math.min(table.readUInt32LE(0), Math.floor((table.length - 4) / rowSize));
  const rows: TcpRow[] = [];
  for (let index = 0; index < count; index++) {
    const at = 4 + index * rowSize;
    rows.push(
      family === AF_INET
        ? {
            state: table.readUInt32LE(at),
            localAddress: table.subarray(at + 4, at + 8).join("."),
            localPort: table.readUInt16BE(at + 8),
            remoteAddress: table.subarray(at + 12, at + 16).join("."),
            remotePort: table.readUInt16BE(at + 16),
            pid: table.readUInt32LE(at + 20),
          }
        : {
            // ucLocalAddr[16], dwLocalScopeId, dwLocalPort, ucRemoteAddr[16], dwRemoteScopeId,
            // dwRemotePort, dwState, dwOwningPid
            localAddress: formatIpv6(table.subarray(at, at + 16)),
            localPort: table.readUInt16BE(at + 20),
            remoteAddress: formatIpv6(table.subarray(at + 24, at + 40)),
            remotePort: table.readUInt16BE(at + 44),
            state: table.readUInt32LE(at + 48),
            pid: table.readUInt32LE(at + 52),
          },
    );
  }
  return rows;
}
