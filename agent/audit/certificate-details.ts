/**
 * The client certificate as an audit record names it: not only the identity that was given a
 * role, but which certificate carried it (subject, serial, SHA-256 fingerprint) and, when the
 * identity is a subject alternative name, which one. Two certificates can carry the same name
 * (a reissue, or one the CA should not have signed); the serial and fingerprint tell them apart.
 */
import type { PeerCertificate } from "node:tls";
import { peerIdentity, splitAltNames } from "../security/peer-identity.js";
import type { CertificateDetails } from "./audit-record.js";

/**
 * The details of a verified client certificate; `identity` is the name that was given the role
 * (or, for a refused call, the certificate's first name), `undefined` when there is none.
 */
export function certificateDetails(
  certificate: PeerCertificate,
  identity: string | undefined,
): CertificateDetails {
  const { subject } = peerIdentity(certificate);
  const matchedSan = identity === undefined ? undefined : sanNaming(certificate, identity);
  return {
    subject,
    ...(matchedSan === undefined ? {} : { matchedSan }),
    serial: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
  };
}

/**
 * The DNS, email or URI SAN (`TYPE:value`) that is `identity`, unless the identity is the
 * subject CN, which the authorizer tries first. DNS names compare without regard to case.
 */
function sanNaming(certificate: PeerCertificate, identity: string): string | undefined {
  const commonNames = (certificate.subject as unknown as Record<string, string | string[]>)["CN"];
  const cns = commonNames === undefined ? [] : [commonNames].flat();
  if (cns.includes(identity)) return undefined;
  let entries: string[];
  try {
    entries = splitAltNames(certificate.subjectaltname ?? "");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const type = entry.slice(0, colon);
    const value = entry.slice(colon + 1);
    if (type === "DNS" && value.toLowerCase() === identity.toLowerCase()) return entry;
    if ((type === "email" || type === "URI") && value === identity) return entry;
  }
  return undefined;
}
