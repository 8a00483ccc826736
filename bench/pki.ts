/**
 * The bench's certificates, made in memory with `@peculiar/x509` (no openssl): one private CA,
 * one agent certificate whose SANs are every bench FQDN (all agents share it, as agents behind
 * one wildcard-less certificate would), and one operator client certificate. P-256 keys: the
 * handshake cost of a realistic deployment, cheaper than RSA-2048.
 */
import { webcrypto } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** PEM texts of the bench's mutual-TLS material. */
export interface BenchPki {
  readonly caPem: string;
  readonly agentCertPem: string;
  readonly agentKeyPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** The identity the client certificate carries (subject CN). */
  readonly clientIdentity: string;
  /** One certificate per agent name (only when asked for). */
  readonly perAgent: ReadonlyMap<string, { readonly certPem: string; readonly keyPem: string }>;
}

/** Paths of the same material written to disk, for processes given `--ca/--cert/--key`. */
export interface BenchPkiFiles {
  readonly ca: string;
  readonly agentCert: string;
  readonly agentKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** `<dir>/agents/<name>.pem` and `.key`, when there are per-agent certificates. */
  readonly perAgentDir: string | undefined;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

async function keyPair(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/**
 * Makes a CA, an agent certificate for `agentNames` (SANs) and an operator client certificate;
 * with `perAgent`, also one certificate per agent naming only that agent (as in production).
 */
export async function makeBenchPki(
  agentNames: readonly string[],
  clientIdentity = "bench-operator",
  perAgent = false,
): Promise<BenchPki> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=wmsfleet bench CA",
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (subject: string, extensions: x509.Extension[]) => {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      notBefore,
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
        ...extensions,
      ],
    });
    return { certPem: cert.toString("pem"), keyPem: await keyPem(keys.privateKey) };
  };
  const [firstName] = agentNames;
  if (firstName === undefined) throw new TypeError("makeBenchPki: no agent names");
  const agent = await issue(`CN=${firstName}`, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(
      (perAgent ? [firstName] : agentNames).map((name) => ({ type: "dns" as const, value: name })),
    ),
  ]);
  const client = await issue(`CN=${clientIdentity}`, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
  const agents = new Map<string, { certPem: string; keyPem: string }>();
  if (perAgent) {
    for (const name of agentNames) {
      agents.set(
        name,
        await issue(`CN=${name}`, [
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }]),
        ]),
      );
    }
  }
  return {
    perAgent: agents,
    caPem: ca.toString("pem"),
    agentCertPem: agent.certPem,
    agentKeyPem: agent.keyPem,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
    clientIdentity,
  };
}

/** Writes the material to `dir` (keys mode 0600) and returns the paths. */
export async function writeBenchPki(pki: BenchPki, dir: string): Promise<BenchPkiFiles> {
  await mkdir(dir, { recursive: true });
  const files: BenchPkiFiles = {
    ca: join(dir, "ca.pem"),
    agentCert: join(dir, "agent.pem"),
    agentKey: join(dir, "agent.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
    perAgentDir: pki.perAgent.size > 0 ? join(dir, "agents") : undefined,
  };
  await writeFile(files.ca, pki.caPem);
  await writeFile(files.agentCert, pki.agentCertPem);
  await writeFile(files.agentKey, pki.agentKeyPem, { mode: 0o600 });
  await writeFile(files.clientCert, pki.clientCertPem);
  await writeFile(files.clientKey, pki.clientKeyPem, { mode: 0o600 });
  if (files.perAgentDir !== undefined) {
    await mkdir(files.perAgentDir, { recursive: true });
    for (const [name, pair] of pki.perAgent) {
      await writeFile(join(files.perAgentDir, `${name}.pem`), pair.certPem);
      await writeFile(join(files.perAgentDir, `${name}.key`), pair.keyPem, { mode: 0o600 });
    }
  }
  return files;
}
