/**
 * The development PKI that `npm start` makes on first start, so that a newcomer's `wmsctl get`
 * talks mutual TLS to the local agent with no set-up: a CA, an agent certificate for `localhost`
 * (and the machine's name, `127.0.0.1`, `::1`), a client certificate `dev-operator`, and wmsctl's
 * credentials (`ca.pem`, `client.pem`, `client.key`) in the config directory — a checkout's
 * git-ignored `.wmsctl/`. Later starts reuse what is there and valid, and replace only what is
 * missing, expired, about to expire, signed by another CA, or without its key — or whose key others
 * can read (the agent refuses such a key; a checkout copied with a loose umask would otherwise stop
 * `npm start`).
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { access, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { CONFIG_FILES } from "../config-dir.js";
import {
  createCertificateAuthority,
  issueAgentCertificate,
  issueClientCertificate,
  type CertificateAuthority,
} from "./certificates.js";
import {
  CERT_FILE_MODE,
  KEY_FILE_MODE,
  caFiles,
  loadCertificateAuthority,
  pemFiles,
  writeFileWithMode,
  writeIssued,
  type PemFilePair,
} from "./pki-files.js";
import { agentCertificateName } from "./pki-names.js";

/** Certificates expiring sooner than this are replaced. */
const RENEW_BEFORE_MS = 7 * 86_400_000;

/** Options of {@link ensureDevelopmentPki}. */
export interface DevelopmentPkiOptions {
  /** The config directory (`.wmsctl/` of the checkout); the PKI goes in its `pki/`. */
  readonly configDir: string;
  /** Names the agent certificate carries besides `localhost`. @default [] */
  readonly hostNames?: readonly string[];
  /** The client identity. @default "dev-operator" */
  readonly clientName?: string;
  /** @default new Date() */
  readonly now?: Date;
}

/** The files of a development PKI. */
export interface DevelopmentPki {
  readonly pkiDir: string;
  readonly ca: PemFilePair;
  readonly agent: PemFilePair;
  readonly client: PemFilePair;
  readonly clientName: string;
  /** The files written by this call (none when everything was there). */
  readonly written: readonly string[];
}

/**
 * Whether `files` hold a certificate by `ca`, valid for a week more, for exactly `dnsNames` when
 * given, and the key that belongs to it, private to its owner (no group or other bits on POSIX).
 */
async function usable(
  files: PemFilePair,
  ca: CertificateAuthority,
  now: Date,
  dnsNames?: readonly string[],
): Promise<boolean> {
  try {
    const certificate = new x509.X509Certificate(await readFile(files.certPath, "utf8"));
    if (certificate.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
    if (!(await certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }))) {
      return false;
    }
    if (process.platform !== "win32" && ((await stat(files.keyPath)).mode & 0o077) !== 0) {
      return false;
    }
    const key = createPublicKey(createPrivateKey(await readFile(files.keyPath, "utf8")));
    const spki = key.export({ type: "spki", format: "der" });
    if (!spki.equals(Buffer.from(certificate.publicKey.rawData))) return false;
    if (dnsNames === undefined) return true;
    const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
    const have = (san?.names.items ?? []).filter((n) => n.type === "dns").map((n) => n.value);
    return have.length === dnsNames.length && dnsNames.every((name) => have.includes(name));
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Makes or completes the development PKI under `options.configDir`. Idempotent.
 * @throws PkiError when a file cannot be read or written.
 */
export async function ensureDevelopmentPki(
  options: DevelopmentPkiOptions,
): Promise<DevelopmentPki> {
  const now = options.now ?? new Date();
  const pkiDir = join(options.configDir, "pki");
  const clientName = options.clientName ?? "dev-operator";
  const extraNames: string[] = [];
  for (const name of options.hostNames ?? []) {
    try {
      extraNames.push(agentCertificateName(name));
    } catch {
      // A machine name that is no valid DNS name cannot be a SAN; localhost still works.
    }
  }
  const dnsNames = [...new Set(["localhost", ...extraNames])];
  const files = {
    ca: caFiles(pkiDir),
    agent: pemFiles(pkiDir, "localhost"),
    client: pemFiles(pkiDir, clientName),
  };
  const written: string[] = [];
  const write = async (pair: PemFilePair, pem: { certPem: string; keyPem: string }) => {
    await writeIssued(pair, pem, true);
    written.push(pair.certPath, pair.keyPath);
  };

  // A CA that is missing, unreadable, broken or about to expire is replaced (and with it, below,
  // everything it signed).
  let ca = await loadCertificateAuthority(files.ca).catch(() => undefined);
  if (ca === undefined || !(await usable(files.ca, ca, now))) {
    ca = await createCertificateAuthority({ commonName: "wmsfleet development CA", now });
    await write(files.ca, ca);
  }
  if (!(await usable(files.agent, ca, now, dnsNames))) {
    const [first = "localhost", ...altNames] = dnsNames;
    await write(
      files.agent,
      await issueAgentCertificate(ca, first, { altNames, ipAddresses: ["127.0.0.1", "::1"], now }),
    );
  }
  let clientChanged = false;
  if (!(await usable(files.client, ca, now))) {
    await write(files.client, await issueClientCertificate(ca, clientName, { now }));
    clientChanged = true;
  }

  // wmsctl's credentials: copies of the CA certificate and the client pair, refreshed whenever
  // the originals changed, left alone otherwise (they may have been replaced on purpose).
  const copies: [string, string, number][] = [
    [files.ca.certPath, CONFIG_FILES.ca, CERT_FILE_MODE],
    [files.client.certPath, CONFIG_FILES.cert, CERT_FILE_MODE],
    [files.client.keyPath, CONFIG_FILES.key, KEY_FILE_MODE],
  ];
  const refresh = clientChanged || written.includes(files.ca.certPath);
  for (const [source, name, mode] of copies) {
    const target = join(options.configDir, name);
    if (refresh || !(await exists(target))) {
      await writeFileWithMode(target, await readFile(source, "utf8"), mode, true);
      written.push(target);
    }
  }
  return { pkiDir, ...files, clientName, written };
}
