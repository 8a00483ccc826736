/**
 * Host names and addresses as `wmsctl` accepts them: fully qualified names checked against
 * RFC 1123 (253 characters, labels of 63), internationalised names converted to their ASCII
 * (punycode) form, lowercased, without the trailing dot; and `HOST:PORT` addresses with IPv6
 * literals in brackets.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { canonicalHostName, hostNameProblem } from "../common/host-name.js";
import { isLoopbackAddress } from "../common/ip-address.js";

/** A name, address or file line that cannot be used as a target. */
export class TargetError extends Error {
  override readonly name = "TargetError";
}

/** An address to dial: a host name or IP literal and a TCP port. */
export interface HostPort {
  /** A host name or an IP address (IPv6 without brackets). */
  readonly host: string;
  /** 1..65535 */
  readonly port: number;
}

/**
 * Validates and normalises a host name: IDN → ASCII, lowercase, trailing dot dropped, then
 * RFC 1123 (letters, digits and inner hyphens; labels 1..63; at most 253 characters).
 * @throws TargetError naming the input and what is wrong with it.
 */
export function normalizeHostName(input: string): string {
  const trimmed = input.trim();
  if (trimmed === "") throw new TargetError("empty host name");
  if (isIP(trimmed) !== 0 || isIP(trimmed.replace(/^\[(.*)\]$/, "$1")) !== 0) {
    throw new TargetError(
      `"${input}" is an IP address; name the host by its FQDN and give the address with --resolve ${"FQDN=ADDRESS:PORT"}`,
    );
  }
  const withoutDot = canonicalHostName(trimmed);
  const name = /^[\x21-\x7e]*$/.test(withoutDot) ? withoutDot : domainToASCII(withoutDot);
  if (name === "") throw new TargetError(`"${input}" is not a valid internationalised host name`);
  const problem = hostNameProblem(name);
  if (problem !== undefined) throw new TargetError(`"${input}": ${problem}`);
  return name;
}

/**
 * Parses a TCP port number.
 * @throws TargetError unless the text is a decimal integer 1..65535.
 */
export function parsePort(text: string, where: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new TargetError(`${where}: "${text}" is not a port number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new TargetError(`${where}: port ${port} is out of 1..65535`);
  return port;
}

/**
 * Parses `HOST:PORT`, `IPV4:PORT` or `[IPV6]:PORT`. Host names are normalised like targets.
 * @throws TargetError when a part is missing or malformed.
 */
export function parseHostPort(text: string, where: string): HostPort {
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(text);
  if (bracketed !== null) {
    const [, host = "", port = ""] = bracketed;
    if (isIP(host) !== 6) throw new TargetError(`${where}: "${host}" is not an IPv6 address`);
    return { host: host.toLowerCase(), port: parsePort(port, where) };
  }
  const colon = text.lastIndexOf(":");
  if (colon <= 0 || text.indexOf(":") !== colon) {
    throw new TargetError(
      `${where}: "${text}" is not ADDRESS:PORT (write IPv6 addresses as [ADDRESS]:PORT)`,
    );
  }
  const host = text.slice(0, colon);
  const port = parsePort(text.slice(colon + 1), where);
  if (isIP(host) === 4) return { host, port };
  try {
    return { host: normalizeHostName(host), port };
  } catch (error) {
    throw new TargetError(`${where}: ${(error as Error).message}`);
  }
}

/** Formats an address for gRPC and for people: `host:port`, `[v6]:port`. */
export function formatHostPort(address: HostPort): string {
  return isIP(address.host) === 6
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

/**
 * Whether an IP literal is a loopback address (127.0.0.0/8, ::1, IPv4-mapped 127.x), in any
 * spelling; `false` for names. The agent decides the same with the same code.
 */
export function isLoopbackIp(address: string): boolean {
  return isLoopbackAddress(address);
}
