/**
 * `loadTlsMaterial`: the checks of the agent's certificate, key and CA files, with certificates
 * made in the test. (Start-up refusals of the spawned agent are in test/e2e/agent-security.)
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { ConfigError } from "../../agent/config/options.js";
import { hostNameWarning, loadTlsMaterial, type TlsFiles } from "../../agent/security/tls.js";
import {
  createTestCa,
  pemFolder,
  type IssuedCertificate,
  type PemFolder,
  type TestCa,
} from "../helpers/test-pki.js";

const HOST = "mps01.lab.example.com";
const DAY_MS = 24 * 60 * 60 * 1000;

let ca: TestCa;
let agentCert: IssuedCertificate;
before(async () => {
  ca = await createTestCa("unit CA");
  agentCert = await ca.issueServer([HOST], ["127.0.0.1"]);
});

async function files(
  folder: PemFolder,
  overrides: Partial<Record<keyof TlsFiles, string | Buffer>> = {},
): Promise<TlsFiles> {
  return {
    cert: await folder.write("agent.pem", overrides.cert ?? agentCert.cert),
    key: await folder.write("agent.key", overrides.key ?? agentCert.key),
    ca: await folder.write("ca.pem", overrides.ca ?? ca.cert),
  };
}

async function rejects(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, message);
    return true;
  });
}

describe("loadTlsMaterial", () => {
  it("accepts good files and summarises them", async (t) => {
    const folder = await pemFolder(t);
    const material = await loadTlsMaterial(await files(folder));
    assert.equal(material.summary.subject, `CN=${HOST}`);
    assert.equal(material.summary.subjectAltName, `DNS:${HOST}, IP Address:127.0.0.1`);
    assert.deepEqual(material.summary.caSubjects, ["CN=unit CA"]);
    assert.match(material.summary.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.deepEqual(material.warnings, []);
    assert.equal(new X509Certificate(material.certChain).subject, `CN=${HOST}`);
  });

  it("reads a CA bundle whose blocks were joined without a newline", async (t) => {
    const folder = await pemFolder(t);
    const other = await createTestCa("second CA");
    const bundle = `${ca.cert.trim()}${other.cert.trim()}`;
    const material = await loadTlsMaterial(await files(folder, { ca: bundle }));
    assert.deepEqual(material.summary.caSubjects, ["CN=unit CA", "CN=second CA"]);
    assert.equal(material.ca.toString().match(/-----BEGIN CERTIFICATE-----\n/g)?.length, 2);
  });

  it("accepts a file with a byte order mark and Windows line ends", async (t) => {
    const folder = await pemFolder(t);
    const crlf = `\uFEFF${agentCert.cert.replace(/\n/g, "\r\n")}`;
    const material = await loadTlsMaterial(await files(folder, { cert: crlf }));
    assert.equal(material.summary.subject, `CN=${HOST}`);
  });

  it("warns about a certificate that expires within 30 days, and one from another CA", async (t) => {
    const folder = await pemFolder(t);
    const soon = await ca.issueServer([HOST], [], { notAfter: new Date(Date.now() + 3 * DAY_MS) });
    const material = await loadTlsMaterial(await files(folder, { cert: soon.cert, key: soon.key }));
    assert.equal(material.warnings.length, 1);
    assert.match(material.warnings[0] ?? "", /expires in 2 days .*SIGHUP/);

    const other = await createTestCa("agents CA");
    const foreign = await other.issueServer([HOST]);
    const separate = await loadTlsMaterial(
      await files(folder, { cert: foreign.cert, key: foreign.key }),
    );
    assert.match(separate.warnings[0] ?? "", /was not issued by a CA in .*ca\.pem.*CN=agents CA/);
  });

  it("checks dates against the clock it is given", async (t) => {
    const folder = await pemFolder(t);
    const given = await files(folder);
    const later = new Date(agentCert.notAfter.getTime() + 1000);
    await rejects(
      loadTlsMaterial(given, { now: later }),
      new RegExp(
        `has expired \\(valid from ${agentCert.notBefore.toISOString()} to ${agentCert.notAfter.toISOString()}; it is now ${later.toISOString()}\\)`,
      ),
    );
    await rejects(
      loadTlsMaterial(given, { now: new Date(agentCert.notBefore.getTime() - 1000) }),
      /is not valid yet/,
    );
  });

  it("names each unreadable or non-PEM file", async (t) => {
    const folder = await pemFolder(t);
    const good = await files(folder);
    const missing = join(folder.dir, "missing.pem");
    await rejects(
      loadTlsMaterial({ ...good, ca: missing }),
      new RegExp(`^--tls-ca ${missing}: cannot read the file: no such file$`),
    );
    const der = new X509Certificate(agentCert.cert).raw;
    await rejects(
      loadTlsMaterial(await files(folder, { cert: der })),
      /--tls-cert .*agent\.pem: not a PEM file \(no "-----BEGIN" line\); it looks like DER: convert it to PEM/,
    );
    await rejects(
      loadTlsMaterial(await files(folder, { ca: "" })),
      /--tls-ca .*: not a PEM file .*the file is empty/,
    );
    await rejects(
      loadTlsMaterial(await files(folder, { key: agentCert.cert })),
      /--tls-key .*agent\.key: holds a CERTIFICATE but no private key \(--tls-cert and --tls-key swapped\?\)/,
    );
    await rejects(
      loadTlsMaterial(
        await files(folder, {
          cert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        }),
      ),
      /--tls-cert .*: certificate 1 is not a valid X\.509 certificate/,
    );
    await rejects(
      loadTlsMaterial(
        await files(folder, {
          key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        }),
      ),
      /--tls-key .*: not a valid private key/,
    );
  });

  it("refuses an encrypted private key, saying why", async (t) => {
    const folder = await pemFolder(t);
    const encrypted = createPrivateKey(agentCert.key).export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "secret",
    });
    await rejects(
      loadTlsMaterial(await files(folder, { key: encrypted })),
      /--tls-key .*: the private key is encrypted with a passphrase/,
    );
  });

  it("refuses a key of another certificate, a non-CA CA file and a client certificate", async (t) => {
    const folder = await pemFolder(t);
    const other = await ca.issueServer([HOST]);
    await rejects(
      loadTlsMaterial(await files(folder, { key: other.key })),
      /this private key does not belong to the certificate in .*agent\.pem \(CN=mps01\.lab\.example\.com\)/,
    );
    const notCa = await createTestCa("not a CA", { ca: false });
    await rejects(
      loadTlsMaterial(await files(folder, { ca: `${ca.cert}${notCa.cert}` })),
      /--tls-ca .*: the certificate "CN=not a CA" is not a CA certificate \(basicConstraints cA is not set\)/,
    );
    const client = await ca.issueClient("ops");
    await rejects(
      loadTlsMaterial(await files(folder, { cert: client.cert, key: client.key })),
      /is not a TLS server certificate \(its extendedKeyUsage lacks serverAuth/,
    );
  });

  it("warns when the agent certificate does not name --host-fqdn", async (t) => {
    const folder = await pemFolder(t);
    const material = await loadTlsMaterial(await files(folder));
    assert.equal(hostNameWarning(material, HOST), undefined);
    assert.equal(hostNameWarning(material, HOST.toUpperCase()), undefined);
    assert.match(
      hostNameWarning(material, "mps02.lab.example.com") ?? "",
      /does not name this host, mps02\.lab\.example\.com \(DNS:mps01\.lab\.example\.com, IP Address:127\.0\.0\.1\); wmsctl -s mps02\.lab\.example\.com will refuse it: issue one with wmsctl pki issue-agent mps02\.lab\.example\.com/,
    );
  });
});
