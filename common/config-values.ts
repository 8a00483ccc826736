/**
 * Values of configuration shared by the agent's and the console's options (flags, environment
 * variables, config files): one spelling of a flag, one reading of a boolean, one listening address.
 */

import { isIP } from "node:net";
import { canonicalHostName, hostNameProblem } from "./host-name.js";

/** The flag of a settings key: `tlsCert` → `--tls-cert`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Reads a boolean given as one (a flag) or as text (`1/0`, `true/false`, `yes/no`, `on/off`).
 * @param refuse makes the caller's own error from the message, which names `source`.
 */
export function parseBoolean(
  value: boolean | string,
  source: string,
  refuse: (message: string) => Error,
): boolean {
  if (typeof value === "boolean") return value;
  const lower = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return true;
  if (["0", "false", "no", "off"].includes(lower)) return false;
  throw refuse(`${source}: "${value}" is not a boolean (true/false, 1/0, yes/no)`);
}

/** A listening address as given: a host (name, IPv4, or IPv6 without brackets) and a port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** The address written back canonically: `host:port`, `[v6]:port`. */
  readonly text: string;
}

/**
 * Parses `HOST:PORT` (`[v6]:PORT` for IPv6, `[v6%zone]:PORT` for a link-local one); port 0 asks the
 * system for a free port. A host name
 * must be valid (RFC 1123); it is resolved only when bound.
 * @param examplePort the port the examples in the error message show (the program's default).
 * @param refuse makes the caller's own error from the message, which names `source`.
 */
export function parseListen(
  text: string,
  source: string,
  examplePort: number,
  refuse: (message: string) => Error,
): ListenAddress {
  // In brackets, anything up to the bracket: an IPv6 address, with a zone for a link-local one
  // (`[fe80::1%eth0]:50061`); what is no IPv6 address is refused below in words.
  const match = /^(?:\[([^\]\s]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (match === null || host === undefined || !Number.isInteger(port) || port > 65535) {
    const examples = ["127.0.0.1", "[::1]", "0.0.0.0"].map((h) => `${h}:${examplePort}`);
    throw refuse(`${source}: "${text}" is not HOST:PORT (e.g. ${examples.join(", ")})`);
  }
  if (match[1] !== undefined && isIP(host) !== 6) {
    throw refuse(`${source}: "${host}" in brackets is not an IPv6 address`);
  }
  if (match[2] !== undefined && isIP(host) === 0) {
    if (hostNameProblem(canonicalHostName(host)) !== undefined) {
      throw refuse(
        `${source}: "${host}" is not a valid host name (RFC 1123: letters, digits and hyphens, labels of at most 63, 253 in all)`,
      );
    }
  }
  return { host, port, text: match[1] !== undefined ? `[${host}]:${port}` : `${host}:${port}` };
}
