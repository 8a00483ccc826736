/**
 * A PKI directory on disk, as `wmsctl pki` keeps it: `ca.pem` + `ca.key`, then `NAME.pem` +
 * `NAME.key` for each agent (named by FQDN) and client (named by identity). Keys are written with
 * mode 0600, certificates 0644, the directory made 0700; nothing is replaced unless `force` is
 * set, and then atomically (a new file renamed over the old one).
 */
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from "node:crypto";
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import {
  KEY_ALGORITHM,
  type CertificateAuthority,
  type IssuedCertificate,
} from "./certificates.js";
import { PkiError } from "./pki-error.js";

/** Mode of private keys: owner read/write only. */
export const KEY_FILE_MODE = 0o600;
/** Mode of certificates: public. */
export const CERT_FILE_MODE = 0o644;

/** Where a certificate and its key are written. */
export interface PemFilePair {
  readonly certPath: string;
  readonly keyPath: string;
}

/** The files of `name` in a PKI directory: `DIR/NAME.pem`, `DIR/NAME.key`. */
export function pemFiles(dir: string, name: string): PemFilePair {
  return { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key`) };
}

/** The CA's files in a PKI directory. */
export function caFiles(dir: string): PemFilePair {
  return pemFiles(dir, "ca");
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw PkiError.from(error, path, path);
  }
}

/**
 * Refuses to go on when any of `paths` exists and `force` is not set, before anything is written.
 * @throws PkiError naming the first file that exists.
 */
export async function checkWritable(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const path of paths) {
    if (await exists(path)) {
      throw new PkiError(`${path} exists; nothing was written (use --force to replace it)`, {
        path,
      });
    }
  }
}

/**
 * Writes one file with `mode`: exclusively (failing if it exists) unless `force`, and then
 * through a temporary file renamed over the old one, so a reader never sees half a key and an old
 * file's looser mode never carries over.
 */
export async function writeFileWithMode(
  path: string,
  data: string,
  mode: number,
  force: boolean,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const target = force ? `${path}.${randomBytes(6).toString("hex")}.tmp` : path;
  try {
    await writeFile(target, data, { flag: "wx", mode });
    // The umask may have taken bits away (never added): set the mode exactly.
    if (process.platform !== "win32") await chmod(target, mode);
    if (force) await rename(target, path);
  } catch (error) {
    if (force) await rm(target, { force: true });
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new PkiError(`${path} exists; use --force to replace it`, { path, cause: error });
    }
    throw PkiError.from(error, `cannot write ${path}`, path);
  }
}

/**
 * Writes a certificate and its key (key 0600, certificate 0644).
 * @throws PkiError when a file exists and `force` is not set (then nothing is written).
 */
export async function writeIssued(
  files: PemFilePair,
  issued: Pick<IssuedCertificate, "certPem" | "keyPem">,
  force: boolean,
): Promise<void> {
  await checkWritable([files.keyPath, files.certPath], force);
  await writeFileWithMode(files.keyPath, issued.keyPem, KEY_FILE_MODE, force);
  await writeFileWithMode(files.certPath, issued.certPem, CERT_FILE_MODE, force);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === "ENOENT" ? " (run wmsctl pki init first, or give --dir)" : "";
    throw PkiError.from(error, `cannot read the ${what} ${path}${hint}`, path);
  }
}

/**
 * Loads a CA from its certificate and key files, checking that the certificate is a CA
 * (basicConstraints CA), that the key is an ECDSA P-256 key and that it belongs to the
 * certificate. Keys in PKCS #8 or SEC 1 (`EC PRIVATE KEY`) PEM are accepted.
 * @throws PkiError naming the file that is missing, unreadable or wrong.
 */
export async function loadCertificateAuthority(files: PemFilePair): Promise<CertificateAuthority> {
  const certPem = await readText(files.certPath, "CA certificate");
  const keyPem = await readText(files.keyPath, "CA key");
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certPem);
  } catch (error) {
    throw PkiError.from(error, `${files.certPath} is not a PEM certificate`, files.certPath);
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca !== true) {
    throw new PkiError(`${files.certPath} is not a CA certificate (no basicConstraints CA)`, {
      path: files.certPath,
    });
  }
  let pkcs8: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      throw new Error("not an ECDSA P-256 key");
    }
    const keySpki = createPublicKey(key).export({ type: "spki", format: "der" });
    if (!keySpki.equals(Buffer.from(certificate.publicKey.rawData))) {
      throw new Error(`it does not belong to the certificate ${files.certPath}`);
    }
    pkcs8 = key.export({ type: "pkcs8", format: "der" });
  } catch (error) {
    throw PkiError.from(error, `${files.keyPath} cannot sign for this CA`, files.keyPath);
  }
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, KEY_ALGORITHM, false, [
    "sign",
  ]);
  return { certificate, privateKey, certPem, keyPem };
}
