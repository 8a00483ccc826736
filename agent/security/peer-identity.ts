/**
 * The names a verified client certificate vouches for: its subject CN(s) and its DNS, email and
 * URI subject alternative names, in that order. Any of them can be given a role with `--allow`.
 * IP address SANs are left out: an address says where a caller is, not who it is.
 *
 * Node gives the SANs as one string (`DNS:a, email:b, URI:c`); since the fix for CVE-2021-44532 it
 * writes any value that could be ambiguous (a comma, a quote) as a JSON string, and this module
 * splits it the way Node's own `checkServerIdentity` does. Results are kept by SHA-256
 * fingerprint, so each certificate is read once.
 */
import type { PeerCertificate } from "node:tls";

/** The identity names of one client certificate. */
export interface PeerIdentity {
  /** Every name, CNs first, without duplicates; DNS names lowercased. */
  readonly names: readonly string[];
  /** Those of {@link names} that are DNS names (matched without regard to case). */
  readonly dnsNames: ReadonlySet<string>;
  /** The subject, for messages when no name is usable (e.g. `O=Lab, OU=Kiosks`). */
  readonly subject: string;
}

const CACHE_LIMIT = 1024;
const cache = new Map<string, PeerIdentity>();

/** Reads the identity names of a verified peer certificate (as grpc-js's auth context gives it). */
export function peerIdentity(certificate: PeerCertificate): PeerIdentity {
  const key = certificate.fingerprint256;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const identity = parseIdentity(certificate);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, identity);
  return identity;
}

function parseIdentity(certificate: PeerCertificate): PeerIdentity {
  // `subject` is typed as an object of strings, but a repeated attribute comes as an array.
  const subject = certificate.subject as unknown as Record<string, string | string[] | undefined>;
  const commonNames = subject["CN"];
  const names: string[] =
    commonNames === undefined ? [] : Array.isArray(commonNames) ? [...commonNames] : [commonNames];
  const dnsNames = new Set<string>();
  for (const entry of splitAltNames(certificate.subjectaltname ?? "")) {
    const colon = entry.indexOf(":");
    const type = entry.slice(0, colon);
    const value = entry.slice(colon + 1);
    if (type === "DNS") {
      names.push(value.toLowerCase());
      dnsNames.add(value.toLowerCase());
    } else if (type === "email" || type === "URI") {
      names.push(value);
    }
  }
  return {
    names: [...new Set(names.filter((name) => name !== ""))],
    dnsNames,
    subject: Object.entries(subject)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`)
      .join(", "),
  };
}

// A JSON string literal, as Node's tls module matches it (control characters are never literal).
// eslint-disable-next-line no-control-regex
const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/;

/**
 * Splits Node's `subjectaltname` into entries (`TYPE:value`), decoding values that Node wrote as
 * JSON strings.
 * @throws Error for a string Node would not have written.
 */
export function splitAltNames(altNames: string): string[] {
  if (altNames === "") return [];
  const entries: string[] = [];
  let current = "";
  let offset = 0;
  while (offset < altNames.length) {
    const separator = altNames.indexOf(",", offset);
    const quote = altNames.indexOf('"', offset);
    if (quote !== -1 && (separator === -1 || quote < separator)) {
      current += altNames.slice(offset, quote);
      const match = JSON_STRING.exec(altNames.slice(quote));
      if (match === null) throw new Error(`malformed subjectaltname: ${altNames}`);
      current += JSON.parse(match[0]) as string;
      offset = quote + match[0].length;
    } else if (separator !== -1) {
      current += altNames.slice(offset, separator);
      entries.push(current);
      current = "";
      offset = separator + 2;
    } else {
      current += altNames.slice(offset);
      offset = altNames.length;
    }
  }
  entries.push(current);
  return entries;
}
