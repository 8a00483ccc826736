/**
 * Whether a peer runs on this host (DESIGN section 3, rule 3): its address is loopback or an
 * address of one of this host's interfaces — the LAN IPv4, a global or link-local IPv6, in any
 * spelling, IPv4-mapped included. A local program that dials the host's FQDN arrives from its
 * LAN address, not from loopback.
 */
import { networkInterfaces } from "node:os";
import { canonicalAddress, isLoopbackAddress } from "../../common/ip-address.js";

/** Options of {@link createHostAddresses}. */
export interface HostAddressesOptions {
  /**
   * How long one reading of the interface addresses is used, in milliseconds. Addresses change
   * (DHCP, a VPN, IPv6 privacy addresses); reading them costs about 60 µs, which a call from a
   * remote peer would otherwise pay every time.
   * @default 1000 — a new address counts as local within a second; at most one reading a second
   */
  readonly maxAgeMs?: number;
  /** The interfaces and their addresses. @default os.networkInterfaces */
  readonly interfaces?: () => NodeJS.Dict<{ readonly address: string }[]>;
  /** The clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

/** This host's addresses, read again once they are older than `maxAgeMs`. */
export interface HostAddresses {
  /** Whether `address` (an IP literal) is loopback or belongs to an interface of this host. */
  isLocal(address: string): boolean;
}

/** Creates the check (see {@link HostAddressesOptions}). */
export function createHostAddresses(options: HostAddressesOptions = {}): HostAddresses {
  const maxAgeMs = options.maxAgeMs ?? 1000;
  if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
    throw new TypeError(`maxAgeMs must be a number of milliseconds >= 0, not ${maxAgeMs}`);
  }
  const interfaces = options.interfaces ?? networkInterfaces;
  const now = options.now ?? (() => performance.now());
  let addresses: ReadonlySet<string> = new Set();
  let readAt = -Infinity;
  return {
    isLocal(address) {
      if (isLoopbackAddress(address)) return true;
      const key = canonicalAddress(address);
      if (key === undefined) return false;
      if (now() - readAt > maxAgeMs) {
        const fresh = new Set<string>();
        for (const list of Object.values(interfaces())) {
          for (const item of list ?? []) {
            const canonical = canonicalAddress(item.address);
            if (canonical !== undefined) fresh.add(canonical);
          }
        }
        addresses = fresh;
        readAt = now();
      }
      return addresses.has(key);
    },
  };
}
