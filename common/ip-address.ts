/**
 * IP address literals, parsed once and compared by value: the one place where wmsfleet reads
 * IPv4 and IPv6 text (the agent's protection rule 3 and its peers, the controller's loopback
 * checks).
 *
 * An address is compared as its 16 bytes, IPv4 as IPv4-mapped IPv6 (`127.0.0.1` and
 * `::ffff:127.0.0.1` are the same address: a dual-stack server sees IPv4 clients in the mapped
 * form while their own sockets are plain IPv4). Validity is decided by Node's own parser
 * (`net.isIP`, libuv's `inet_pton`); this module only takes apart what it accepted. A zone index
 * (`fe80::1%eth0`) is accepted and dropped: it names the interface, not the address.
 */
import { isIP } from "node:net";

/** One end of a TCP connection: an IPv4 or IPv6 literal (no brackets) and a port. */
export interface TcpEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * The 16 bytes of an IPv4 or IPv6 literal, IPv4 mapped into IPv6 (`::ffff:a.b.c.d`); brackets
 * around IPv6 and a zone index are allowed. `undefined` for anything that is not an address
 * (host names included).
 */
export function addressBytes(text: string): Uint8Array | undefined {
  const address = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const family = isIP(address);
  if (family === 4) {
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(ipv4Bytes(address), 12);
    return bytes;
  }
  if (family !== 6) return undefined;
  let rest = address.replace(/%.*$/, "");
  let tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (dotted?.[1] !== undefined) {
    tail = ipv4Bytes(dotted[1]);
    rest = `${rest.slice(0, dotted.index)}:0:0`;
  }
  const [head = "", after] = rest.split("::");
  const words = (part: string | undefined): number[] =>
    part === undefined || part === "" ? [] : part.split(":").map((word) => parseInt(word, 16));
  const before = words(head);
  const behind = words(after);
  const all =
    after === undefined
      ? before
      : [...before, ...new Array<number>(8 - before.length - behind.length).fill(0), ...behind];
  const bytes = new Uint8Array(16);
  all.forEach((word, index) => {
    bytes[index * 2] = word >> 8;
    bytes[index * 2 + 1] = word & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/** Whether 16 address bytes are an IPv4-mapped IPv6 address (`::ffff:0:0/96`). */
export function isMappedIpv4(bytes: Uint8Array): boolean {
  for (let index = 0; index < 10; index++) if (bytes[index] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Whether a literal is a loopback address: `127.0.0.0/8`, `::1`, or `127.0.0.0/8` mapped into
 * IPv6, in any spelling. Names (`localhost`) are not addresses: `false`.
 */
export function isLoopbackAddress(text: string): boolean {
  const bytes = addressBytes(text);
  if (bytes === undefined) return false;
  if (isMappedIpv4(bytes)) return bytes[12] === 127;
  for (let index = 0; index < 15; index++) if (bytes[index] !== 0) return false;
  return bytes[15] === 1;
}

/** Whether a literal is the unspecified (wildcard) address: `0.0.0.0`, `::`, `::ffff:0.0.0.0`. */
export function isUnspecifiedAddress(text: string): boolean {
  const bytes = addressBytes(text);
  if (bytes === undefined) return false;
  const from = isMappedIpv4(bytes) ? 12 : 0;
  for (let index = from; index < 16; index++) if (bytes[index] !== 0) return false;
  return true;
}

/**
 * The one spelling of an address, for comparing and for sets: IPv4 and IPv4-mapped IPv6 as
 * dotted IPv4 (`127.0.0.1`), every other IPv6 address in RFC 5952 form (`2001:db8::1`, lower
 * case, no zone). `undefined` for anything that is not an address.
 */
export function canonicalAddress(text: string): string | undefined {
  const bytes = addressBytes(text);
  if (bytes === undefined) return undefined;
  return isMappedIpv4(bytes) ? bytes.subarray(12).join(".") : formatIpv6(bytes);
}

/** Whether two literals name the same address (`127.0.0.1` and `::ffff:127.0.0.1` do). */
export function sameAddress(a: string, b: string): boolean {
  const key = canonicalAddress(a);
  return key !== undefined && key === canonicalAddress(b);
}

/**
 * 16 address bytes as IPv6 text in RFC 5952 form: lower case, the longest run of two or more
 * zero words as `::`, and an IPv4-mapped address with its IPv4 part dotted (`::ffff:127.0.0.1`).
 */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16)
    throw new RangeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  if (isMappedIpv4(bytes)) return `::ffff:${bytes.subarray(12).join(".")}`;
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

/**
 * Parses grpc-js's `call.getPeer()` into an endpoint: `127.0.0.1:5000`, `[::1]:5000`,
 * `[::ffff:127.0.0.1]:5000`, or an IPv6 address without brackets split at its last colon
 * (`::1:5000`). `undefined` for anything else (`unknown`, a Unix socket path, a name, port 0).
 */
export function parsePeer(peer: string): TcpEndpoint | undefined {
  const colon = peer.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let address = peer.slice(0, colon);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const portText = peer.slice(colon + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535) || isIP(address) === 0) return undefined;
  return { address, port };
}

function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}
