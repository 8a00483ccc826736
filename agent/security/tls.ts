/**
 * The agent's mutual TLS material: reads `--tls-cert`, `--tls-key` and `--tls-ca` and checks them
 * before anything is bound, so that a broken file is one precise message (exit 2 at start-up, a
 * kept configuration on reload) instead of a handshake that fails later for every client.
 *
 * Checks, in order: each file readable and PEM; the key private to the agent's account (see
 * `key-permissions.ts`); each certificate parseable; the key unencrypted and matching the agent
 * certificate; every certificate within its validity dates; the agent
 * certificate usable by a TLS server (extendedKeyUsage); every certificate of the CA file a CA
 * (basicConstraints cA). An agent certificate that the CA file did not issue is only a warning:
 * clients verify it against their own CA, which may be another one.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { open } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import { ConfigError } from "../config/options.js";
import { privateKeyAccessProblem, type KeyAccessOptions } from "./key-permissions.js";

/** The three files of mutual TLS, as configured. */
export interface TlsFiles {
  /** The agent's certificate, optionally followed by intermediate CA certificates (PEM). */
  readonly cert: string;
  /** The agent's unencrypted private key (PEM: PKCS#8, SEC1 or PKCS#1). */
  readonly key: string;
  /** The private CA (one or more certificates, PEM) that issues client certificates. */
  readonly ca: string;
}

/** The checked contents of {@link TlsFiles}, ready for the server credentials. */
export interface TlsMaterial {
  readonly files: TlsFiles;
  /** The agent certificate chain (PEM). */
  readonly certChain: Buffer;
  /** The private key, as read (PEM). */
  readonly privateKey: Buffer;
  /** The trusted CA certificates (PEM); never the public roots. */
  readonly ca: Buffer;
  /** A summary for the log. */
  readonly summary: TlsSummary;
  /** Problems that do not stop the agent (e.g. a certificate that expires within 30 days). */
  readonly warnings: readonly string[];
}

/** What the log says about the TLS material in use. */
export interface TlsSummary {
  readonly subject: string;
  readonly subjectAltName: string | undefined;
  readonly notAfter: string;
  readonly fingerprint256: string;
  readonly caSubjects: readonly string[];
}

/** Options of {@link loadTlsMaterial}. */
export interface LoadTlsOptions {
  /** The clock validity dates are checked against. @default new Date() */
  readonly now?: Date;
  /** Warn when a certificate expires within this many days. @default 30 */
  readonly expiryWarningDays?: number;
  /** How the key's permissions are checked (platform, the Windows DACL reader). */
  readonly keyAccess?: KeyAccessOptions;
}

const LABELS = {
  cert: "--tls-cert",
  key: "--tls-key",
  ca: "--tls-ca",
} as const satisfies Record<keyof TlsFiles, string>;

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Reads and checks the agent's TLS files.
 * @throws ConfigError naming the flag, the file and what is wrong with it.
 */
export async function loadTlsMaterial(
  files: TlsFiles,
  options: LoadTlsOptions = {},
): Promise<TlsMaterial> {
  const now = options.now ?? new Date();
  const warnDays = options.expiryWarningDays ?? 30;
  // One after the other, so that the first problem reported is always the same one.
  const certText = await readPemFile("cert", files.cert);
  const keyText = await readPemFile("key", files.key, options.keyAccess ?? {});
  const caText = await readPemFile("ca", files.ca);

  const chain = parseCertificates("cert", files.cert, certText);
  const leaf = chain[0] as X509Certificate;
  const key = parsePrivateKey(files.key, keyText);
  if (!leaf.checkPrivateKey(key)) {
    throw new ConfigError(
      `${LABELS.key} ${files.key}: this private key does not belong to the certificate in ${files.cert} (${leaf.subject.replace(/\n/g, ", ")}); give the key that was made with that certificate`,
    );
  }
  const caCertificates = parseCertificates("ca", files.ca, caText);

  const warnings: string[] = [];
  for (const [flag, path, certificates] of [
    ["cert", files.cert, chain],
    ["ca", files.ca, caCertificates],
  ] as const) {
    for (const certificate of certificates) {
      const expiresInDays = checkValidity(flag, path, certificate, now);
      if (expiresInDays < warnDays) {
        warnings.push(
          `${LABELS[flag]} ${path}: ${describe(certificate)} expires ${expiresInDays < 1 ? "within a day" : `in ${Math.floor(expiresInDays)} days`} (${isoDate(certificate.validTo)}); issue a new one and send SIGHUP`,
        );
      }
    }
  }

  const usages = leaf.keyUsage as string[] | undefined;
  if (
    usages !== undefined &&
    !usages.includes(SERVER_AUTH) &&
    !usages.includes(ANY_EXTENDED_KEY_USAGE)
  ) {
    throw new ConfigError(
      `${LABELS.cert} ${files.cert}: ${describe(leaf)} is not a TLS server certificate (its extendedKeyUsage lacks serverAuth; a client certificate?); use the agent certificate made by wmsctl pki issue-agent`,
    );
  }

  for (const certificate of caCertificates) {
    if (!certificate.ca) {
      throw new ConfigError(
        `${LABELS.ca} ${files.ca}: ${describe(certificate)} is not a CA certificate (basicConstraints cA is not set); --tls-ca takes the private CA that issues the client certificates (ca.pem of wmsctl pki init), not a leaf certificate`,
      );
    }
  }
  if (!issuedByAny(leaf, [...chain.slice(1), ...caCertificates])) {
    warnings.push(
      `${LABELS.cert} ${files.cert}: ${describe(leaf)} was not issued by a CA in ${files.ca}; clients must trust its issuer (${leaf.issuer.replace(/\n/g, ", ")}) themselves`,
    );
  }

  // The certificates as checked, one block a line: files joined with `cat` may lack the newline
  // between two blocks, which Node's PEM reader would not see past.
  const material = {
    certChain: Buffer.from(pemOf(chain)),
    privateKey: Buffer.from(keyText),
    ca: Buffer.from(pemOf(caCertificates)),
  };
  try {
    // What the server will do with them: a failure here would otherwise refuse every handshake.
    createSecureContext({ ca: material.ca, cert: material.certChain, key: material.privateKey });
  } catch (error) {
    throw new ConfigError(
      `${LABELS.cert} ${files.cert}, ${LABELS.key} ${files.key}, ${LABELS.ca} ${files.ca}: Node's TLS refuses them: ${(error as Error).message}`,
    );
  }
  return {
    files,
    ...material,
    summary: {
      subject: leaf.subject.replace(/\n/g, ", "),
      subjectAltName: leaf.subjectAltName,
      notAfter: isoDate(leaf.validTo),
      fingerprint256: leaf.fingerprint256,
      caSubjects: caCertificates.map((c) => c.subject.replace(/\n/g, ", ")),
    },
    warnings,
  };
}

/**
 * A warning when the agent certificate does not name `hostFqdn`: controllers verify the agent
 * against the FQDN they dial, so they would refuse this agent.
 */
export function hostNameWarning(material: TlsMaterial, hostFqdn: string): string | undefined {
  const leaf = new X509Certificate(material.certChain);
  if (leaf.checkHost(hostFqdn) !== undefined) return undefined;
  return `${LABELS.cert} ${material.files.cert}: ${describe(leaf)} does not name this host, ${hostFqdn} (${leaf.subjectAltName ?? "no subjectAltName"}); wmsctl -s ${hostFqdn} will refuse it: issue one with wmsctl pki issue-agent ${hostFqdn}`;
}

async function readPemFile(
  flag: keyof TlsFiles,
  path: string,
  keyAccess?: KeyAccessOptions,
): Promise<string> {
  let bytes: Buffer;
  let accessProblem: string | undefined;
  try {
    const handle = await open(path, "r");
    try {
      bytes = await handle.readFile();
      // Judged on the file that was read, not on whatever the path names a moment later.
      if (keyAccess !== undefined) {
        accessProblem = await privateKeyAccessProblem(path, handle, keyAccess);
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied (the agent's account must be able to read it)"
          : code === "EISDIR"
            ? "is a folder, not a file"
            : (error as Error).message;
    throw new ConfigError(`${LABELS[flag]} ${path}: cannot read the file: ${reason}`);
  }
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
  const blocks = [...text.matchAll(PEM_BEGIN)].map((m) => m[1] ?? "");
  if (blocks.length === 0) {
    const binary = bytes.length > 0 && bytes[0] === 0x30;
    throw new ConfigError(
      `${LABELS[flag]} ${path}: not a PEM file (no "-----BEGIN" line)${binary ? "; it looks like DER: convert it to PEM" : bytes.length === 0 ? "; the file is empty" : ""}`,
    );
  }
  if (flag === "key") {
    if (blocks.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
      throw new ConfigError(
        `${LABELS.key} ${path}: the private key is encrypted with a passphrase, which the agent cannot ask for; give an unencrypted key readable only by the agent's account`,
      );
    }
    if (!blocks.some((b) => b.endsWith("PRIVATE KEY"))) {
      throw new ConfigError(
        `${LABELS.key} ${path}: holds ${blocks.map((b) => `a ${b}`).join(", ")} but no private key${blocks.includes("CERTIFICATE") ? " (--tls-cert and --tls-key swapped?)" : ""}`,
      );
    }
    if (accessProblem !== undefined)
      throw new ConfigError(`${LABELS.key} ${path}: ${accessProblem}`);
  } else if (!blocks.includes("CERTIFICATE")) {
    throw new ConfigError(
      `${LABELS[flag]} ${path}: holds ${blocks.map((b) => `a ${b}`).join(", ")} but no certificate${blocks.some((b) => b.endsWith("PRIVATE KEY")) ? " (--tls-cert and --tls-key swapped?)" : ""}`,
    );
  }
  return text;
}

function parseCertificates(flag: "cert" | "ca", path: string, text: string): X509Certificate[] {
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new ConfigError(
        `${LABELS[flag]} ${path}: certificate ${index + 1} is not a valid X.509 certificate: ${(error as Error).message}`,
      );
    }
  });
}

function parsePrivateKey(path: string, text: string): KeyObject {
  try {
    return createPrivateKey(text);
  } catch (error) {
    throw new ConfigError(
      `${LABELS.key} ${path}: not a valid private key: ${(error as Error).message}`,
    );
  }
}

/** Throws when `certificate` is outside its validity dates; returns the days it has left. */
function checkValidity(
  flag: "cert" | "ca",
  path: string,
  certificate: X509Certificate,
  now: Date,
): number {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  const dates = `valid from ${notBefore.toISOString()} to ${notAfter.toISOString()}`;
  if (now < notBefore) {
    throw new ConfigError(
      `${LABELS[flag]} ${path}: ${describe(certificate)} is not valid yet (${dates}; it is now ${now.toISOString()}); check the clock of this host and of the CA`,
    );
  }
  if (now > notAfter) {
    throw new ConfigError(
      `${LABELS[flag]} ${path}: ${describe(certificate)} has expired (${dates}; it is now ${now.toISOString()}); issue a new one`,
    );
  }
  return (notAfter.getTime() - now.getTime()) / DAY_MS;
}

function issuedByAny(leaf: X509Certificate, issuers: readonly X509Certificate[]): boolean {
  return issuers.some((issuer) => {
    try {
      return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
    } catch {
      return false;
    }
  });
}

function describe(certificate: X509Certificate): string {
  return `the certificate "${certificate.subject.replace(/\n/g, ", ")}"`;
}

function pemOf(certificates: readonly X509Certificate[]): string {
  return certificates.map((certificate) => certificate.toString().trim()).join("\n") + "\n";
}

function isoDate(text: string): string {
  return new Date(text).toISOString();
}
