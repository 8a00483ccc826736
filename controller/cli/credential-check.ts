/**
 * The checks wmsctl makes of its three credential files before it dials anything, so that a wrong
 * file is named, with what it holds, instead of OpenSSL's words or every host `unreachable`: a key
 * given as the certificate, the CA given as the client certificate, a client certificate given as
 * the CA, a key that belongs to another certificate, garbage, an encrypted key, a certificate out
 * of its dates. The same habits as the agent's own checks of its files (agent/security/tls.ts).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { UsageError } from "./usage-error.js";

/** One credential file and where its name came from (`--ca`, `WMSCTL_CA`, a config dir). */
export interface CredentialFile {
  readonly path: string;
  readonly source: string;
}

/** The three files, read. */
export interface CredentialBytes {
  readonly ca: { readonly file: CredentialFile; readonly bytes: Buffer };
  readonly cert: { readonly file: CredentialFile; readonly bytes: Buffer };
  readonly key: { readonly file: CredentialFile; readonly bytes: Buffer };
}

/** What each file is, in messages. */
const ROLES = {
  ca: "CA certificate",
  cert: "client certificate",
  key: "client key",
} as const;

const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

/** `--cert /x/c.pem` or `client certificate /x/c.pem (project config dir …)`. */
export function fileLabel(role: keyof typeof ROLES, file: CredentialFile): string {
  return /^(?:--(?:ca|cert|key)|WMSCTL_(?:CA|CERT|KEY))$/.test(file.source)
    ? `${file.source} ${file.path}`
    : `${ROLES[role]} ${file.path} (${file.source})`;
}

/** `the certificate "CN=ops"`. */
function describe(certificate: X509Certificate): string {
  return `the certificate "${certificate.subject.replace(/\n/g, ", ")}"`;
}

/** The PEM block labels in a file; a UsageError when there is none. */
function pemBlocks(role: keyof typeof ROLES, file: CredentialFile, bytes: Buffer): string[] {
  const text = bytes.toString("utf8");
  const blocks = [...text.matchAll(PEM_BEGIN)].map((m) => m[1] ?? "");
  if (blocks.length > 0) return blocks;
  const looks =
    bytes.length === 0
      ? "the file is empty"
      : bytes[0] === 0x30
        ? "it looks like DER (binary): convert it to PEM"
        : "it is not a certificate or key at all";
  throw new UsageError(`${fileLabel(role, file)}: not a PEM file (no "-----BEGIN" line); ${looks}`);
}

const holds = (blocks: readonly string[]) => blocks.map((b) => `a ${b}`).join(", ");

function certificates(role: "ca" | "cert", file: CredentialFile, bytes: Buffer): X509Certificate[] {
  const blocks = pemBlocks(role, file, bytes);
  if (!blocks.includes("CERTIFICATE")) {
    const swapped = blocks.some((b) => b.endsWith("PRIVATE KEY"))
      ? role === "cert"
        ? " (--cert and --key swapped?)"
        : " (--ca takes the CA certificate, ca.pem, never a key)"
      : "";
    throw new UsageError(
      `${fileLabel(role, file)}: holds ${holds(blocks)} but no certificate${swapped}`,
    );
  }
  return (bytes.toString("utf8").match(CERTIFICATE_BLOCK) ?? []).map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new UsageError(
        `${fileLabel(role, file)}: certificate ${index + 1} is not a valid X.509 certificate (the PEM block is damaged)`,
      );
    }
  });
}

function privateKey(file: CredentialFile, bytes: Buffer): KeyObject {
  const blocks = pemBlocks("key", file, bytes);
  const text = bytes.toString("utf8");
  if (blocks.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new UsageError(
      `${fileLabel("key", file)}: the private key is encrypted with a passphrase, which wmsctl does not ask for; give an unencrypted key readable only by you (wmsctl pki issue-client writes one)`,
    );
  }
  if (!blocks.some((b) => b.endsWith("PRIVATE KEY"))) {
    const swapped = blocks.includes("CERTIFICATE") ? " (--cert and --key swapped?)" : "";
    throw new UsageError(
      `${fileLabel("key", file)}: holds ${holds(blocks)} but no private key${swapped}`,
    );
  }
  try {
    return createPrivateKey(text);
  } catch {
    throw new UsageError(
      `${fileLabel("key", file)}: the private key block is damaged or of an unknown kind`,
    );
  }
}

function checkDates(certificate: X509Certificate, label: string, now: Date, renew: string): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now <= to && now >= from) return;
  throw new UsageError(
    `${label}: ${describe(certificate)} is valid from ${from.toISOString()} to ${to.toISOString()}, not now (${now.toISOString()}); ${renew}`,
  );
}

/**
 * Checks the three files as wmsctl will use them.
 * @throws UsageError naming the file, what it holds and what to give instead.
 */
export function checkCredentials(files: CredentialBytes, now: Date): void {
  const chain = certificates("cert", files.cert.file, files.cert.bytes);
  const key = privateKey(files.key.file, files.key.bytes);
  const authorities = certificates("ca", files.ca.file, files.ca.bytes);
  const certLabel = fileLabel("cert", files.cert.file);
  const leaf = chain[0] as X509Certificate;
  if (leaf.ca) {
    throw new UsageError(
      `${certLabel}: ${describe(leaf)} is a CA certificate, not a client certificate; --cert takes the certificate wmsctl pki issue-client made (client.pem), and --ca the CA (ca.pem)`,
    );
  }
  const usages = leaf.keyUsage as string[] | undefined;
  if (
    usages !== undefined &&
    !usages.includes(CLIENT_AUTH) &&
    !usages.includes(ANY_EXTENDED_KEY_USAGE)
  ) {
    throw new UsageError(
      `${certLabel}: ${describe(leaf)} is not a client certificate (its extendedKeyUsage lacks clientAuth; an agent certificate?); agents refuse it: use one made by wmsctl pki issue-client`,
    );
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new UsageError(
      `${fileLabel("key", files.key.file)}: this private key does not belong to ${describe(leaf)} in ${files.cert.file.path}; give the key that was made with that certificate`,
    );
  }
  checkDates(leaf, certLabel, now, "issue a new one (wmsctl pki issue-client NAME --force)");
  const caLabel = fileLabel("ca", files.ca.file);
  for (const authority of authorities) {
    if (!authority.ca) {
      throw new UsageError(
        `${caLabel}: ${describe(authority)} is not a CA certificate (basicConstraints cA is not set; a client or agent certificate?); --ca takes the CA that signs the agents' certificates (ca.pem of wmsctl pki init)`,
      );
    }
    checkDates(
      authority,
      caLabel,
      now,
      "the agents' certificates it signed are refused too: make a new CA",
    );
  }
}
