import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runWmsctl, type CliRun } from "../helpers/controller-cli.js";

const posix = process.platform !== "win32";

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

void describe("wmsctl pki", () => {
  let root: string;
  let home: string;
  let dir: string;
  const pki = (args: readonly string[], cwd = root): Promise<CliRun> =>
    runWmsctl(["pki", ...args], { cwd, homeDir: home });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wmsfleet-pki-cli-"));
    home = join(root, "home");
    dir = join(root, "fleet-pki");
  });
  after(() => rm(root, { recursive: true, force: true }));

  void it("init writes ca.pem and ca.key (0600) and will not overwrite them without --force", async () => {
    const first = await pki(["init", "--dir", dir, "--name", "Lab CA", "--days", "100"]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /ca\.pem {2}CA "Lab CA", valid until \d{4}-\d\d-\d\d/);
    assert.deepEqual((await readdir(dir)).sort(), ["ca.key", "ca.pem"]);
    if (posix) {
      assert.equal(await mode(join(dir, "ca.key")), 0o600);
      assert.equal(await mode(join(dir, "ca.pem")), 0o644);
      assert.equal(await mode(dir), 0o700);
    }
    const ca = new X509Certificate(await readFile(join(dir, "ca.pem")));
    assert.equal(ca.ca, true);
    assert.equal(ca.subject, "CN=Lab CA");

    const before = await readFile(join(dir, "ca.key"), "utf8");
    const again = await pki(["init", "--dir", dir]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /ca\.key exists; nothing was written \(use --force to replace it\)/);
    assert.equal(await readFile(join(dir, "ca.key"), "utf8"), before);
  });

  void it("issue-agent writes FQDN.pem/FQDN.key per name, normalised, with the FQDN as SAN", async () => {
    const run = await pki([
      "issue-agent",
      "H1.Lab.Example.com.",
      "h2.lab.example.com",
      "--dir",
      dir,
    ]);
    assert.equal(run.status, 0, run.stderr);
    for (const fqdn of ["h1.lab.example.com", "h2.lab.example.com"]) {
      const certificate = new X509Certificate(await readFile(join(dir, `${fqdn}.pem`)));
      assert.equal(certificate.subjectAltName, `DNS:${fqdn}`);
      assert.equal(certificate.issuer, "CN=Lab CA");
      if (posix) assert.equal(await mode(join(dir, `${fqdn}.key`)), 0o600);
    }
    assert.match(run.stdout, /--tls-cert FQDN\.pem --tls-key FQDN\.key --tls-ca ca\.pem/);
  });

  void it("refuses bad names before writing anything, and existing files unless --force", async () => {
    const bad = await pki(["issue-agent", "h3.lab.example.com", "10.0.0.1", "--dir", dir]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /"10\.0\.0\.1" is an IP address/);
    await assert.rejects(stat(join(dir, "h3.lab.example.com.pem")), { code: "ENOENT" });

    const clash = await pki([
      "issue-agent",
      "h3.lab.example.com",
      "h1.lab.example.com",
      "--dir",
      dir,
    ]);
    assert.equal(clash.status, 2);
    assert.match(clash.stderr, /h1\.lab\.example\.com\.key exists/);
    await assert.rejects(stat(join(dir, "h3.lab.example.com.pem")), { code: "ENOENT" });

    const old = await readFile(join(dir, "h1.lab.example.com.pem"), "utf8");
    if (posix) await chmod(join(dir, "h1.lab.example.com.key"), 0o644);
    const forced = await pki(["issue-agent", "h1.lab.example.com", "--dir", dir, "--force"]);
    assert.equal(forced.status, 0, forced.stderr);
    assert.notEqual(await readFile(join(dir, "h1.lab.example.com.pem"), "utf8"), old);
    if (posix) assert.equal(await mode(join(dir, "h1.lab.example.com.key")), 0o600);
    assert.equal((await readdir(dir)).filter((name) => name.endsWith(".tmp")).length, 0);

    const days = await pki(["issue-client", "ops", "--dir", dir, "--days", "0"]);
    assert.equal(days.status, 2);
    assert.match(days.stderr, /--days: "0" is not an integer in 1\.\.36500/);

    const client = await pki(["issue-client", "a=b", "--dir", dir]);
    assert.equal(client.status, 2);
    assert.match(client.stderr, /client name: "a=b" may hold only/);
  });

  void it("issue-client writes NAME.pem with CN NAME and clientAuth; --install fills the config dir", async () => {
    const config = join(root, "config");
    const run = await pki([
      "issue-client",
      "alice",
      "--dir",
      dir,
      "--config-dir",
      config,
      "--install",
    ]);
    assert.equal(run.status, 0, run.stderr);
    const certificate = new X509Certificate(await readFile(join(dir, "alice.pem")));
    assert.equal(certificate.subject, "CN=alice");
    assert.deepEqual(certificate.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
    assert.equal(await readFile(join(config, "client.pem"), "utf8"), certificate.toString());
    assert.equal(
      await readFile(join(config, "client.key"), "utf8"),
      await readFile(join(dir, "alice.key"), "utf8"),
    );
    assert.equal(
      await readFile(join(config, "ca.pem"), "utf8"),
      await readFile(join(dir, "ca.pem"), "utf8"),
    );
    if (posix) assert.equal(await mode(join(config, "client.key")), 0o600);
    assert.match(run.stdout, /--allow alice=operator/);

    const again = await pki([
      "issue-client",
      "bob",
      "--dir",
      dir,
      "--config-dir",
      config,
      "--install",
    ]);
    assert.equal(again.status, 2, "installing over another client needs --force");
    assert.match(again.stderr, /client\.key exists/);
    await assert.rejects(stat(join(dir, "bob.pem")), { code: "ENOENT" });
  });

  void it("issue-console writes the console's HTTPS certificate (serverAuth, NAME and --ip as SANs) and its client identity (CN NAME, clientAuth)", async () => {
    const run = await pki([
      "issue-console",
      "Console.Lab.Example.com",
      "--ip",
      "10.0.0.5",
      "--alt-name",
      "wms.lab.example.com",
      "--dir",
      dir,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const name = "console.lab.example.com";
    const https = new X509Certificate(await readFile(join(dir, `${name}-https.pem`)));
    assert.equal(https.subjectAltName, `DNS:${name}, DNS:wms.lab.example.com, IP Address:10.0.0.5`);
    assert.equal(
      https.checkPrivateKey(createPrivateKey(await readFile(join(dir, `${name}-https.key`)))),
      true,
    );
    const client = new X509Certificate(await readFile(join(dir, `${name}-console.pem`)));
    assert.equal(client.subject, `CN=${name}`);
    assert.equal(client.subjectAltName, undefined);
    if (posix) {
      assert.equal(await mode(join(dir, `${name}-https.key`)), 0o600);
      assert.equal(await mode(join(dir, `${name}-console.key`)), 0o600);
    }
    assert.match(run.stdout, new RegExp(`--allow ${name.replaceAll(".", "\\.")}=operator`));
    const again = await pki(["issue-console", name, "--dir", dir]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /-https\.key exists; nothing was written/);
    const bad = await pki(["issue-console", "not a name", "--dir", dir]);
    assert.equal(bad.status, 2);
  });

  void it("defaults to the config dir's pki/: the project's .wmsctl/ upwards, else the user's", async () => {
    const project = join(root, "project");
    await mkdir(join(project, ".wmsctl"), { recursive: true });
    await mkdir(join(project, "sub", "deeper"), { recursive: true });
    const init = await pki(["init"], join(project, "sub", "deeper"));
    assert.equal(init.status, 0, init.stderr);
    await stat(join(project, ".wmsctl", "pki", "ca.key"));

    const user = await pki(["init"], join(root, "elsewhere"));
    assert.equal(user.status, 0, user.stderr);
    await stat(join(home, ".config", "wmsctl", "pki", "ca.key"));
  });

  void it("names the CA file that is missing, unreadable or wrong", async () => {
    const empty = join(root, "empty");
    const missing = await pki(["issue-client", "ops", "--dir", empty]);
    assert.equal(missing.status, 2);
    assert.match(
      missing.stderr,
      /cannot read the CA certificate .*empty\/ca\.pem \(run wmsctl pki init first, or give --dir\): ENOENT/,
    );

    const other = join(root, "other");
    assert.equal((await pki(["init", "--dir", other])).status, 0);
    await writeFile(join(dir, "ca.key"), await readFile(join(other, "ca.key")));
    const mismatch = await pki(["issue-client", "ops", "--dir", dir]);
    assert.equal(mismatch.status, 2);
    assert.match(
      mismatch.stderr,
      /ca\.key cannot sign for this CA: it does not belong to the certificate/,
    );

    await writeFile(join(other, "ca.pem"), await readFile(join(dir, "h2.lab.example.com.pem")));
    const notCa = await pki(["issue-client", "ops", "--dir", other]);
    assert.equal(notCa.status, 2);
    assert.match(notCa.stderr, /ca\.pem is not a CA certificate/);
  });
});
