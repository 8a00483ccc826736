import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { before, describe, it } from "node:test";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import {
  BACKDATE_MS,
  PkiError,
  agentCertificateName,
  clientCertificateName,
  createCertificateAuthority,
  issueAgentCertificate,
  issueClientCertificate,
  type CertificateAuthority,
} from "../../controller/pki/index.js";

const DAY_MS = 86_400_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** The signature algorithm as @peculiar/x509 reads it back: `ECDSA` + `SHA-256`. */
function signatureAlgorithm(pem: string): { name: string; hash: string } {
  const algorithm = new x509.X509Certificate(pem).signatureAlgorithm as {
    name: string;
    hash: { name: string };
  };
  return { name: algorithm.name, hash: algorithm.hash.name };
}

function assertP256(pem: string, keyPem: string): void {
  const certificate = new X509Certificate(pem);
  assert.equal(certificate.publicKey.asymmetricKeyType, "ec");
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  const key = createPrivateKey(keyPem);
  assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.deepEqual(signatureAlgorithm(pem), { name: "ECDSA", hash: "SHA-256" });
}

void describe("pki certificates", () => {
  const now = new Date("2026-06-01T12:00:00Z");
  let ca: CertificateAuthority;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: "lab CA", days: 30, now });
  });

  void it("makes a CA: basicConstraints CA (critical, path length 0), keyCertSign, P-256/SHA-256", () => {
    const certificate = new X509Certificate(ca.certPem);
    assert.equal(certificate.ca, true);
    assert.equal(certificate.subject, "CN=lab CA");
    assert.equal(certificate.issuer, "CN=lab CA");
    assert.equal(certificate.verify(certificate.publicKey), true, "self-signed");
    const constraints = ca.certificate.getExtension(x509.BasicConstraintsExtension);
    assert.equal(constraints?.critical, true);
    assert.equal(constraints.pathLength, 0);
    const usage = ca.certificate.getExtension(x509.KeyUsagesExtension);
    assert.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assertP256(ca.certPem, ca.keyPem);
    assert.equal(ca.certificate.notBefore.getTime(), now.getTime() - BACKDATE_MS);
    assert.equal(ca.certificate.notAfter.getTime(), now.getTime() + 30 * DAY_MS);
  });

  void it("issues an agent certificate: the FQDN as CN and DNS SAN, serverAuth, signed by the CA", async () => {
    const agent = await issueAgentCertificate(ca, "H1.Lab.Example.com.", { days: 7, now });
    const certificate = new X509Certificate(agent.certPem);
    assert.equal(certificate.subject, "CN=h1.lab.example.com");
    assert.equal(certificate.subjectAltName, "DNS:h1.lab.example.com");
    assert.equal(certificate.checkHost("h1.lab.example.com"), "h1.lab.example.com");
    assert.equal(certificate.checkHost("h2.lab.example.com"), undefined);
    assert.deepEqual(certificate.keyUsage, [SERVER_AUTH]);
    assert.equal(certificate.ca, false);
    assert.equal(certificate.checkIssued(new X509Certificate(ca.certPem)), true);
    assert.equal(certificate.verify(new X509Certificate(ca.certPem).publicKey), true);
    assert.equal(agent.certificate.notAfter.getTime(), now.getTime() + 7 * DAY_MS);
    assert.equal(
      agent.certificate.getExtension(x509.KeyUsagesExtension)?.usages,
      x509.KeyUsageFlags.digitalSignature,
    );
    assertP256(agent.certPem, agent.keyPem);
  });

  void it("adds alternative names and IP addresses as SANs", async () => {
    const agent = await issueAgentCertificate(ca, "localhost", {
      altNames: ["devbox", "localhost"],
      ipAddresses: ["127.0.0.1", "::1"],
      now,
    });
    assert.equal(
      new X509Certificate(agent.certPem).subjectAltName,
      "DNS:localhost, DNS:devbox, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
  });

  void it("issues a client certificate: CN the identity, clientAuth, no SAN", async () => {
    const client = await issueClientCertificate(ca, "Ops-Team.1", { days: 7, now });
    const certificate = new X509Certificate(client.certPem);
    assert.equal(certificate.subject, "CN=Ops-Team.1");
    assert.equal(certificate.subjectAltName, undefined);
    assert.deepEqual(certificate.keyUsage, [CLIENT_AUTH]);
    assert.equal(certificate.verify(new X509Certificate(ca.certPem).publicKey), true);
    assertP256(client.certPem, client.keyPem);
  });

  void it("never outlives the CA, and refuses an expired CA", async () => {
    const long = await issueClientCertificate(ca, "ops", { days: 365, now });
    assert.deepEqual(long.certificate.notAfter, ca.certificate.notAfter);
    await assert.rejects(
      issueClientCertificate(ca, "ops", { now: new Date(now.getTime() + 31 * DAY_MS) }),
      (error: unknown) => error instanceof PkiError && /the CA expired/.test(error.message),
    );
  });

  void it("gives every certificate its own serial number and key", async () => {
    const [a, b] = await Promise.all([
      issueClientCertificate(ca, "a", { now }),
      issueClientCertificate(ca, "a", { now }),
    ]);
    assert.notEqual(a?.certificate.serialNumber, b?.certificate.serialNumber);
    assert.notEqual(a?.keyPem, b?.keyPem);
  });

  void it("refuses bad validity, agent names and client names", async () => {
    for (const days of [0, -1, 1.5, 40_000]) {
      await assert.rejects(createCertificateAuthority({ days }), /validity: .* 1\.\.36500/);
    }
    const badAgents = ["10.0.0.1", "::1", "-h1.example.com", "h_1.example.com", "a..b", "", "ca"];
    for (const name of badAgents) assert.throws(() => agentCertificateName(name), PkiError, name);
    assert.equal(agentCertificateName("Schüler.Example."), "xn--schler-5ya.example");
    const badClients = [
      "",
      "a b",
      "a=b",
      "a,b",
      "../x",
      ".x",
      "x/y",
      "ca",
      "CA",
      "é",
      "x".repeat(65),
    ];
    for (const name of badClients) assert.throws(() => clientCertificateName(name), PkiError, name);
    assert.equal(clientCertificateName("dev-operator"), "dev-operator");
    await assert.rejects(
      issueAgentCertificate(ca, "h1.example.com", { ipAddresses: ["h2"] }),
      /not an IP/,
    );
  });
});
