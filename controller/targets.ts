/**
 * The hosts a request goes to, built from `-s/--server` values, inventory files and `--resolve`
 * overrides (DESIGN section 6): names normalised and merged, each with the address it is dialled
 * at. The FQDN stays the host's identity (TLS name, `expected_host`) whatever the address.
 */
import { readFile } from "node:fs/promises";
import { DEFAULT_AGENT_PORT } from "../common/agent-port.js";
import {
  TargetError,
  formatHostPort,
  normalizeHostName,
  parseHostPort,
  type HostPort,
} from "./host-name.js";

/** The host targeted when none is named, as `Disconnect-WmsSession` defaults to localhost. */
export const DEFAULT_TARGET = "localhost";

/** One host to reach. */
export interface Target {
  /** The normalised FQDN: the host's identity, its TLS name and the `expected_host` sent. */
  readonly fqdn: string;
  /** Where the agent is dialled. */
  readonly address: HostPort;
  /** Whether `address` came from an inventory line or `--resolve` rather than the FQDN. */
  readonly overridden: boolean;
}

/** One line of an inventory file: a name and, optionally, the address to dial it at. */
export interface InventoryEntry {
  readonly fqdn: string;
  readonly address?: HostPort;
}

/** The sources of {@link resolveTargets}, as the command line gives them. */
export interface TargetSpec {
  /** `-s/--server` values; each may be a comma-separated list. @default [] */
  readonly servers?: readonly string[];
  /** Parsed inventory files, in order. @default [] */
  readonly inventories?: readonly (readonly InventoryEntry[])[];
  /** `--resolve FQDN=ADDRESS:PORT` values. @default [] */
  readonly resolve?: readonly string[];
  /** The port used when no override names one. @default 50061 */
  readonly defaultPort?: number;
}

/**
 * Parses an inventory: one FQDN a line, optionally followed by `ADDRESS:PORT`; `#` starts a
 * comment; blank lines are ignored.
 * @throws TargetError naming `source` and the line number; also when there is no host at all.
 */
export function parseInventory(text: string, source: string): InventoryEntry[] {
  const entries: InventoryEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${source}:${index + 1}`;
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const fields = line.split(/\s+/);
    if (fields.length > 2) {
      throw new TargetError(`${where}: expected "FQDN [ADDRESS:PORT]", found "${line}"`);
    }
    const [name = "", address] = fields;
    let fqdn: string;
    try {
      fqdn = normalizeHostName(name);
    } catch (error) {
      throw new TargetError(`${where}: ${(error as Error).message}`);
    }
    entries.push(
      address === undefined ? { fqdn } : { fqdn, address: parseHostPort(address, where) },
    );
  });
  if (entries.length === 0) throw new TargetError(`${source}: the inventory names no host`);
  return entries;
}

/**
 * Reads and parses an inventory file.
 * @throws TargetError when it cannot be read or is malformed or empty.
 */
export async function readInventory(path: string, signal?: AbortSignal): Promise<InventoryEntry[]> {
  let text: string;
  try {
    text = await readFile(path, { encoding: "utf8", ...(signal === undefined ? {} : { signal }) });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    throw new TargetError(`${path}: cannot read the inventory: ${(error as Error).message}`);
  }
  return parseInventory(text, path);
}

/**
 * Merges the sources into the list of hosts, in first-named order without duplicates; with no
 * server and no inventory, the list is `localhost`. `--resolve` wins over an inventory address;
 * two different addresses for one name are an error.
 * @throws TargetError on a malformed name, address or `--resolve` value, or a conflict.
 */
export function resolveTargets(spec: TargetSpec): Target[] {
  const defaultPort = spec.defaultPort ?? DEFAULT_AGENT_PORT;
  const names: string[] = [];
  const addresses = new Map<string, HostPort>();
  const setAddress = (fqdn: string, address: HostPort, where: string, wins: boolean) => {
    const previous = addresses.get(fqdn);
    if (previous !== undefined && formatHostPort(previous) !== formatHostPort(address) && !wins) {
      throw new TargetError(
        `${where}: ${fqdn} is given two addresses, ${formatHostPort(previous)} and ${formatHostPort(address)}`,
      );
    }
    addresses.set(fqdn, address);
  };
  for (const value of spec.servers ?? []) {
    for (const item of value.split(",")) {
      if (item.trim() === "" && value.includes(",")) continue;
      try {
        names.push(normalizeHostName(item));
      } catch (error) {
        throw new TargetError(`--server: ${(error as Error).message}`);
      }
    }
  }
  for (const inventory of spec.inventories ?? []) {
    for (const entry of inventory) {
      names.push(entry.fqdn);
      if (entry.address !== undefined) {
        setAddress(entry.fqdn, entry.address, "inventory", false);
      }
    }
  }
  const resolved = new Set<string>();
  for (const value of spec.resolve ?? []) {
    const where = `--resolve ${value}`;
    const equals = value.indexOf("=");
    if (equals <= 0) throw new TargetError(`${where}: expected FQDN=ADDRESS:PORT`);
    let fqdn: string;
    try {
      fqdn = normalizeHostName(value.slice(0, equals));
    } catch (error) {
      throw new TargetError(`${where}: ${(error as Error).message}`);
    }
    if (resolved.has(fqdn)) throw new TargetError(`${where}: ${fqdn} is resolved twice`);
    resolved.add(fqdn);
    setAddress(fqdn, parseHostPort(value.slice(equals + 1), where), where, true);
  }
  if (names.length === 0) names.push(DEFAULT_TARGET);
  return [...new Set(names)].map((fqdn) => {
    const address = addresses.get(fqdn);
    return address === undefined
      ? { fqdn, address: { host: fqdn, port: defaultPort }, overridden: false }
      : { fqdn, address, overridden: true };
  });
}
