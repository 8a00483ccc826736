import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureDevelopmentPki } from "../../controller/pki/index.js";

const DAY_MS = 86_400_000;

void describe("the development PKI (npm start)", () => {
  let root: string;
  let configDir: string;
  const ensure = (now?: Date) =>
    ensureDevelopmentPki({
      configDir,
      hostNames: ["DevBox", "not_a_dns_name"],
      ...(now ? { now } : {}),
    });
  const names = (written: readonly string[]) =>
    written.map((path) => path.slice(configDir.length + 1)).sort();
  const certificate = async (file: string) =>
    new X509Certificate(await readFile(join(configDir, file)));

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wmsfleet-dev-pki-"));
    configDir = join(root, ".wmsctl");
  });
  after(() => rm(root, { recursive: true, force: true }));

  void it("first start: a CA, localhost's agent certificate, dev-operator, and wmsctl's three files", async () => {
    const pki = await ensure();
    assert.deepEqual(names(pki.written), [
      "ca.pem",
      "client.key",
      "client.pem",
      "pki/ca.key",
      "pki/ca.pem",
      "pki/dev-operator.key",
      "pki/dev-operator.pem",
      "pki/localhost.key",
      "pki/localhost.pem",
    ]);
    const agent = await certificate("pki/localhost.pem");
    assert.equal(
      agent.subjectAltName,
      "DNS:localhost, DNS:devbox, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    assert.equal((await certificate("client.pem")).subject, "CN=dev-operator");
    assert.equal(
      await readFile(join(configDir, "ca.pem"), "utf8"),
      await readFile(pki.ca.certPath, "utf8"),
    );
    assert.equal(
      await readFile(join(configDir, "client.key"), "utf8"),
      await readFile(pki.client.keyPath, "utf8"),
    );
    if (process.platform !== "win32") {
      for (const key of ["client.key", "pki/ca.key", "pki/localhost.key", "pki/dev-operator.key"]) {
        assert.equal((await stat(join(configDir, key))).mode & 0o777, 0o600, key);
      }
    }
  });

  void it("later starts reuse it, and restore only what is missing", async () => {
    assert.deepEqual((await ensure()).written, []);
    await rm(join(configDir, "client.key"));
    assert.deepEqual(names((await ensure()).written), ["client.key"]);
    await rm(join(configDir, "pki", "localhost.key"));
    assert.deepEqual(names((await ensure()).written), ["pki/localhost.key", "pki/localhost.pem"]);
    await writeFile(join(configDir, "client.pem"), "replaced on purpose\n");
    assert.deepEqual((await ensure()).written, [], "wmsctl's own files are left alone");
    assert.equal(await readFile(join(configDir, "client.pem"), "utf8"), "replaced on purpose\n");
  });

  void it(
    "replaces an agent key others can read (the agent would refuse it), 0600 again",
    {
      skip: process.platform === "win32" && "POSIX modes",
    },
    async () => {
      const key = join(configDir, "pki", "localhost.key");
      await chmod(key, 0o644);
      assert.deepEqual(names((await ensure()).written), ["pki/localhost.key", "pki/localhost.pem"]);
      assert.equal((await stat(key)).mode & 0o777, 0o600);
      assert.deepEqual((await ensure()).written, []);
    },
  );

  void it("replaces certificates about to expire, and refreshes wmsctl's copies", async () => {
    const ca = await readFile(join(configDir, "pki", "ca.pem"), "utf8");
    const pki = await ensure(new Date(Date.now() + 360 * DAY_MS));
    assert.deepEqual(names(pki.written), [
      "ca.pem",
      "client.key",
      "client.pem",
      "pki/dev-operator.key",
      "pki/dev-operator.pem",
      "pki/localhost.key",
      "pki/localhost.pem",
    ]);
    assert.equal(await readFile(join(configDir, "pki", "ca.pem"), "utf8"), ca, "the CA is kept");
    assert.equal((await certificate("client.pem")).subject, "CN=dev-operator");
  });

  void it("a new CA (the old one lost) means new certificates for everything", async () => {
    await rm(join(configDir, "pki", "ca.key"));
    const pki = await ensure();
    assert.equal(pki.written.length, 9);
    const ca = await certificate("pki/ca.pem");
    assert.equal((await certificate("pki/localhost.pem")).verify(ca.publicKey), true);
    assert.equal((await certificate("client.pem")).verify(ca.publicKey), true);
  });
});
