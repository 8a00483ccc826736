/**
 * Certificates made in the test, in memory, with `@peculiar/x509` over Node's WebCrypto: ECDSA
 * P-256 with SHA-256, like `wmsctl pki`. A CA issues agent (server) certificates for FQDNs and IP
 * addresses and client certificates with a CN and optional SANs; validity dates, the CA flag and
 * the extended key usages can be bent to make the broken certificates tests need.
 */
import { webcrypto } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata API installed first (ES modules evaluate in import order).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

const crypto = webcrypto;
x509.cryptoProvider.set(crypto);

const EC_KEY: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and its private key, as PEM text. */
export interface IssuedCertificate {
  /** The certificate (PEM). */
  readonly cert: string;
  /** The PKCS#8 private key (PEM). */
  readonly key: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Knobs of one certificate. */
export interface IssueOptions {
  /** @default one hour ago */
  readonly notBefore?: Date;
  /** @default a year from now */
  readonly notAfter?: Date;
}

/** A subject alternative name of a client certificate. */
export interface TestSan {
  readonly type: "dns" | "email" | "url" | "ip";
  readonly value: string;
}

/** A test CA that issues certificates. */
export interface TestCa extends IssuedCertificate {
  readonly name: string;
  /** An agent certificate: `serverAuth`, the names as DNS SANs, the addresses as IP SANs. */
  issueServer(
    names: readonly string[],
    addresses?: readonly string[],
    options?: IssueOptions,
  ): Promise<IssuedCertificate>;
  /** A client certificate: `clientAuth`, subject CN `commonName`, and the given SANs. */
  issueClient(
    commonName: string,
    options?: IssueOptions & { readonly sans?: readonly TestSan[] },
  ): Promise<IssuedCertificate>;
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

/** Now, to the second: certificates carry whole seconds. */
function nowSeconds(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

function validity(options: IssueOptions): { notBefore: Date; notAfter: Date } {
  const now = nowSeconds();
  return {
    notBefore: options.notBefore ?? new Date(now - 60 * 60 * 1000),
    notAfter: options.notAfter ?? new Date(now + 365 * DAY_MS),
  };
}

/** Escapes a value for an X.500 name string (RFC 4514). */
function dnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, "\\$1");
}

/**
 * Makes a self-signed CA (basicConstraints cA, keyCertSign).
 * @param options `ca: false` makes a self-signed certificate that is not a CA (for "not a CA" tests)
 */
export async function createTestCa(
  name = "wmsfleet test CA",
  options: IssueOptions & { readonly ca?: boolean } = {},
): Promise<TestCa> {
  const keys = await newKeys();
  const dates = validity(options);
  const isCa = options.ca ?? true;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${dnValue(name)}`,
    keys,
    signingAlgorithm: SIGNING,
    ...dates,
    extensions: [
      new x509.BasicConstraintsExtension(isCa, isCa ? 0 : undefined, true),
      new x509.KeyUsagesExtension(
        isCa
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
          : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });

  async function issue(
    subject: string,
    sans: readonly TestSan[],
    usage: string,
    issueOptions: IssueOptions,
  ): Promise<IssuedCertificate> {
    const leafKeys = await newKeys();
    const leafDates = validity(issueOptions);
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: caCert.subject,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: SIGNING,
      ...leafDates,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        ...(sans.length === 0
          ? []
          : [new x509.SubjectAlternativeNameExtension(sans.map((san) => ({ ...san })))]),
        await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return {
      cert: `${cert.toString("pem")}\n`,
      key: await keyPem(leafKeys.privateKey),
      ...leafDates,
    };
  }

  return {
    name,
    cert: `${caCert.toString("pem")}\n`,
    key: await keyPem(keys.privateKey),
    ...dates,
    issueServer: (names, addresses = [], issueOptions = {}) =>
      issue(
        `CN=${dnValue(names[0] ?? addresses[0] ?? "agent")}`,
        [
          ...names.map((value) => ({ type: "dns" as const, value })),
          ...addresses.map((value) => ({ type: "ip" as const, value })),
        ],
        x509.ExtendedKeyUsage.serverAuth,
        issueOptions,
      ),
    issueClient: (commonName, issueOptions = {}) =>
      issue(
        `CN=${dnValue(commonName)}`,
        issueOptions.sans ?? [],
        x509.ExtendedKeyUsage.clientAuth,
        issueOptions,
      ),
  };
}

/** Dates around now, for expired and not-yet-valid certificates. */
export const validityWindows = {
  expired: {
    notBefore: new Date(nowSeconds() - 10 * DAY_MS),
    notAfter: new Date(nowSeconds() - DAY_MS),
  },
  notYetValid: {
    notBefore: new Date(nowSeconds() + DAY_MS),
    notAfter: new Date(nowSeconds() + 10 * DAY_MS),
  },
} as const;

/** A temporary folder for PEM files, removed after the test. */
export interface PemFolder {
  readonly dir: string;
  /** Writes `content` to `name` in the folder; resolves to its path. */
  write(name: string, content: string | Buffer): Promise<string>;
}

/** Makes a temporary folder for PEM files; removed after the test. */
export async function pemFolder(t: { after(fn: () => Promise<void>): void }): Promise<PemFolder> {
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-test-pki-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return {
    dir,
    async write(name, content) {
      const path = join(dir, name);
      await writeFile(path, content, { mode: 0o600 });
      return path;
    },
  };
}
