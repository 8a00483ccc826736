/**
 * Certificates in memory, made with `@peculiar/x509` over Node's WebCrypto: a private CA and the
 * agent and client certificates it signs. Every key is ECDSA P-256 and every signature ECDSA with
 * SHA-256. No files here (see `pki-files.ts`) and no `openssl` binary anywhere.
 */
import { randomBytes, webcrypto } from "node:crypto";
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata API installed first (ES modules evaluate in import order).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { PkiError } from "./pki-error.js";
import {
  agentCertificateName,
  certificateIpAddresses,
  clientCertificateName,
} from "./pki-names.js";

/** The WebCrypto provider every operation uses (passed explicitly: no global registration). */
const crypto = webcrypto;

/** A WebCrypto key (Node's `webcrypto.CryptoKey`). */
export type CryptoKey = webcrypto.CryptoKey;

/** ECDSA over P-256 (secp256r1, prime256v1). */
export const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
/** ECDSA with SHA-256. */
export const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

/** Certificates start this long before they are made, for clocks that lag a little. */
export const BACKDATE_MS = 5 * 60_000;

const DAY_MS = 86_400_000;

/** A certificate with its private key, as PEM and as objects. */
export interface IssuedCertificate {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
  /** `-----BEGIN CERTIFICATE-----` */
  readonly certPem: string;
  /** PKCS #8, `-----BEGIN PRIVATE KEY-----`, unencrypted. */
  readonly keyPem: string;
}

/** A CA: its certificate and the key that signs with it. */
export type CertificateAuthority = IssuedCertificate;

/** What every certificate takes. */
export interface ValidityOptions {
  /**
   * Days of validity from now; an agent or client certificate's is cut at its CA's end.
   * @default 3650 for a CA, 365 for agents and clients
   */
  readonly days?: number;
  /** The clock. @default `new Date()` */
  readonly now?: Date;
}

/** Options of {@link createCertificateAuthority}. */
export interface CaOptions extends ValidityOptions {
  /** The CA's subject CN. @default "wmsfleet CA" */
  readonly commonName?: string;
}

/** Options of {@link issueAgentCertificate}. */
export interface AgentCertificateOptions extends ValidityOptions {
  /** More host names the agent answers to (DNS SANs after the first name). @default [] */
  readonly altNames?: readonly string[];
  /** IP addresses the agent may be dialled at (IP SANs). @default [] */
  readonly ipAddresses?: readonly string[];
}

/** PEM armour of DER bytes. */
export function toPem(der: ArrayBuffer, label: string): string {
  const base64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${base64.replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;
}

/** A positive 128-bit serial number, in hex (RFC 5280: unique per CA, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

function validity(
  options: ValidityOptions,
  defaultDays: number,
): { notBefore: Date; notAfter: Date } {
  const days = options.days ?? defaultDays;
  if (!Number.isSafeInteger(days) || days < 1 || days > 36_500) {
    throw new PkiError(`validity: ${days} is not a number of days in 1..36500`);
  }
  const now = options.now ?? new Date();
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function issued(
  certificate: x509.X509Certificate,
  privateKey: CryptoKey,
): Promise<IssuedCertificate> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", privateKey);
  return {
    certificate,
    privateKey,
    certPem: certificate.toString("pem") + "\n",
    keyPem: toPem(pkcs8, "PRIVATE KEY"),
  };
}

/**
 * Makes a self-signed CA: basicConstraints CA (critical, path length 0: it signs end-entity
 * certificates only), key usage keyCertSign and cRLSign, a subject key identifier.
 */
export async function createCertificateAuthority(
  options: CaOptions = {},
): Promise<CertificateAuthority> {
  const commonName = options.commonName ?? "wmsfleet CA";
  if (commonName.trim() === "" || commonName.length > 64) {
    throw new PkiError(`CA name: "${commonName}" must be 1..64 characters`);
  }
  const keys = await keyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: [{ CN: [commonName] }],
      ...validity(options, 3650),
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return issued(certificate, keys.privateKey);
}

async function issueLeaf(
  ca: CertificateAuthority,
  commonName: string,
  usage: x509.ExtendedKeyUsage,
  sans: x509.JsonGeneralName[],
  options: ValidityOptions,
): Promise<IssuedCertificate> {
  const dates = validity(options, 365);
  // A certificate never outlives its CA (it would fail verification from then on anyway).
  if (dates.notAfter > ca.certificate.notAfter) dates.notAfter = ca.certificate.notAfter;
  if (dates.notAfter <= (options.now ?? new Date())) {
    throw new PkiError(
      `the CA expired on ${ca.certificate.notAfter.toISOString()}; make a new one (wmsctl pki init --force)`,
    );
  }
  const keys = await keyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey, false, crypto),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: [{ CN: [commonName] }],
      issuer: ca.certificate.subjectName,
      ...dates,
      publicKey: keys.publicKey,
      signingKey: ca.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions,
    },
    crypto,
  );
  return issued(certificate, keys.privateKey);
}

/**
 * Issues an agent (server) certificate: CN and first DNS SAN the host name, more DNS and IP SANs
 * from the options, extended key usage serverAuth. TLS clients check the SAN, so this is the name
 * `wmsctl` dials the agent by.
 * @throws PkiError on a bad name or address, or a CA that has expired.
 */
export async function issueAgentCertificate(
  ca: CertificateAuthority,
  fqdn: string,
  options: AgentCertificateOptions = {},
): Promise<IssuedCertificate> {
  const name = agentCertificateName(fqdn);
  const names = [...new Set([name, ...(options.altNames ?? []).map(agentCertificateName)])];
  const sans: x509.JsonGeneralName[] = [
    ...names.map((value) => ({ type: "dns" as const, value })),
    ...certificateIpAddresses(options.ipAddresses ?? []).map((value) => ({
      type: "ip" as const,
      value,
    })),
  ];
  return issueLeaf(ca, name, x509.ExtendedKeyUsage.serverAuth, sans, options);
}

/**
 * Issues a client certificate: subject CN the client's name (the identity an agent's
 * `--allow NAME=ROLE` grants a role to), extended key usage clientAuth, no SAN.
 * @throws PkiError on a bad name or a CA that has expired.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  name: string,
  options: ValidityOptions = {},
): Promise<IssuedCertificate> {
  const identity = clientCertificateName(name);
  return issueLeaf(ca, identity, x509.ExtendedKeyUsage.clientAuth, [], options);
}
