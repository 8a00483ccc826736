/**
 * Whether a target is the machine the controller runs on, so that `caller_session_id` can carry
 * the caller's own session there (DESIGN section 3, rule 4).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { canonicalAddress, isLoopbackAddress } from "../common/ip-address.js";
import type { Target } from "./targets.js";

/** The addresses of this machine's network interfaces, each in its canonical form. */
export function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const item of list ?? []) addresses.add(canonicalAddress(item.address) ?? item.address);
  }
  return addresses;
}

/**
 * Whether the target is dialled at this machine: its address override, or every address its
 * FQDN resolves to, is loopback or one of this machine's interface addresses. A name that does
 * not resolve is not local (the call itself will report why it cannot be reached).
 */
export async function isLocalTarget(target: Target, signal: AbortSignal): Promise<boolean> {
  const host = target.address.host;
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await abortable(
        lookup(host, { all: true }).then((found) => found.map((item) => item.address)),
        signal,
      );
    } catch {
      return false;
    }
  }
  if (addresses.length === 0) return false;
  const local = localAddresses();
  return addresses.every(
    (address) => isLoopbackAddress(address) || local.has(canonicalAddress(address) ?? address),
  );
}

/** Settles with `promise`, or rejects with the signal's reason when it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
