/**
 * Certificates for controller tests, made in memory by `controller/pki` (no `openssl`): a private
 * CA, an agent certificate whose SAN is the agent's FQDN and a client certificate, written to a
 * temporary directory for the tests that pass file names to `wmsctl`; and server credentials of an
 * in-process agent that asks for client certificates.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerCredentials } from "@grpc/grpc-js";
import {
  createCertificateAuthority,
  issueAgentCertificate,
  issueClientCertificate,
  writeIssued,
  type CertificateAuthority,
  type IssuedCertificate,
} from "../../controller/pki/index.js";

/** PEM files (paths) and their contents. */
export interface TestPki {
  readonly dir: string;
  readonly caPath: string;
  readonly agentCertPath: string;
  readonly agentKeyPath: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly ca: Buffer;
  readonly agentCert: Buffer;
  readonly agentKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** The CA itself, to issue more certificates from. */
  readonly authority: CertificateAuthority;
  remove(): Promise<void>;
}

/** The credentials of an agent with `agent`'s certificate that requires clients of `ca`. */
export function agentServerCredentials(
  ca: Pick<IssuedCertificate, "certPem">,
  agent: Pick<IssuedCertificate, "certPem" | "keyPem">,
): ServerCredentials {
  return ServerCredentials.createSsl(
    Buffer.from(ca.certPem),
    [{ cert_chain: Buffer.from(agent.certPem), private_key: Buffer.from(agent.keyPem) }],
    true,
  );
}

/** Makes a CA, an agent certificate for `agentFqdn` (SAN) and a client certificate `ops`. */
export async function makeTestPki(agentFqdn: string): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-pki-"));
  const authority = await createCertificateAuthority({ commonName: "wmsfleet test CA", days: 1 });
  const agent = await issueAgentCertificate(authority, agentFqdn, { days: 1 });
  const client = await issueClientCertificate(authority, "ops", { days: 1 });
  const path = (file: string) => join(dir, file);
  await writeIssued({ certPath: path("ca.pem"), keyPath: path("ca.key") }, authority, false);
  await writeIssued({ certPath: path("agent.pem"), keyPath: path("agent.key") }, agent, false);
  await writeIssued({ certPath: path("client.pem"), keyPath: path("client.key") }, client, false);
  return {
    dir,
    caPath: path("ca.pem"),
    agentCertPath: path("agent.pem"),
    agentKeyPath: path("agent.key"),
    clientCertPath: path("client.pem"),
    clientKeyPath: path("client.key"),
    ca: Buffer.from(authority.certPem),
    agentCert: Buffer.from(agent.certPem),
    agentKey: Buffer.from(agent.keyPem),
    clientCert: Buffer.from(client.certPem),
    clientKey: Buffer.from(client.keyPem),
    authority,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
