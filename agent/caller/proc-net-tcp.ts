/**
 * The TCP tables of Linux procfs, `/proc/net/tcp` and `/proc/net/tcp6`: the fallback of
 * protection rule 3's socket lookup when netlink (`sock-diag.ts`) cannot answer.
 */
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import { formatIpv6, type TcpEndpoint } from "../../common/ip-address.js";

/** One socket of `/proc/net/tcp` or `/proc/net/tcp6`. */
export interface ProcNetTcpEntry {
  readonly local: TcpEndpoint;
  readonly remote: TcpEndpoint;
  /** The kernel's TCP state (`st` column): 1 is ESTABLISHED, 10 is LISTEN. */
  readonly state: number;
  readonly uid: number;
  /** The socket's inode; 0 for sockets no process holds any more (TIME_WAIT, orphaned). */
  readonly inode: number;
}

/** The `st` value of an established connection (`TCP_ESTABLISHED`). */
export const TCP_ESTABLISHED = 1;

/** The `st` value of a listening socket (`TCP_LISTEN`). */
export const TCP_LISTEN = 10;

/**
 * Every entry of `<procRoot>/net/tcp` and `<procRoot>/net/tcp6`. A table that cannot be read is
 * an error, except `tcp6` when it does not exist (IPv6 disabled).
 */
export async function readTcpTables(procRoot: string): Promise<ProcNetTcpEntry[]> {
  const entries = parseProcNetTcp(await readFile(`${procRoot}/net/tcp`, "latin1"));
  try {
    entries.push(...parseProcNetTcp(await readFile(`${procRoot}/net/tcp6`, "latin1")));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return entries;
}

/**
 * Parses the text of `/proc/net/tcp` or `/proc/net/tcp6`. The header and malformed lines are
 * skipped.
 * @param byteOrder - the byte order of the address words. @default this machine's
 */
export function parseProcNetTcp(
  text: string,
  byteOrder: "LE" | "BE" = endianness(),
): ProcNetTcpEntry[] {
  const entries: ProcNetTcpEntry[] = [];
  for (const line of text.split("\n")) {
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
 * Decodes an address as procfs writes it: hex of the address's 32-bit words, each in host byte
 * order (little-endian on x86 and arm64). 8 digits for IPv4, 32 for IPv6.
 * `0100007F` is `127.0.0.1`; `0000000000000000FFFF00000100007F` is `::ffff:127.0.0.1`.
 * @param byteOrder - the byte order of the words. @default this machine's
 * @returns the address in its text form (RFC 5952 for IPv6), `undefined` if malformed.
 */
export function decodeProcAddress(
  hex: string,
  byteOrder: "LE" | "BE" = endianness(),
): string | undefined {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length; word += 8) {
    for (let index = 0; index < 8; index += 2) {
      const at = byteOrder === "LE" ? 6 - index : index;
      bytes[(word + index) / 2] = parseInt(hex.slice(word + at, word + at + 2), 16);
    }
  }
  return bytes.length === 4 ? bytes.join(".") : formatIpv6(bytes);
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
