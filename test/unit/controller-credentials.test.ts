import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findCredentialFiles, type CredentialFlags } from "../../controller/cli/credentials.js";
import type { CliIo } from "../../controller/cli/io.js";
import { userConfigDir } from "../../controller/config-dir.js";
import { findConfigDir } from "../../controller/index.js";
import {
  createCertificateAuthority,
  issueAgentCertificate,
  issueClientCertificate,
} from "../../controller/pki/index.js";
import { runWmsctl } from "../helpers/controller-cli.js";

void describe("wmsctl credentials", () => {
  let root: string;
  let home: string;
  let project: string;
  let deep: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wmsfleet-credentials-"));
    home = join(root, "home");
    project = join(root, "project");
    deep = join(project, "src", "deep");
    await mkdir(deep, { recursive: true });
    await mkdir(join(home, ".config", "wmsctl"), { recursive: true });
  });
  after(() => rm(root, { recursive: true, force: true }));

  const io = (env: Record<string, string> = {}, cwd = deep) =>
    ({ env, cwd, homeDir: home, platform: "linux" }) as unknown as CliIo;
  const find = (flags: CredentialFlags, env?: Record<string, string>, cwd?: string) =>
    findCredentialFiles(flags, io(env, cwd));

  void it("config dir: --config-dir, then WMSCTL_CONFIG_DIR, then .wmsctl/ upwards, then the user's", async () => {
    const context = { env: {}, cwd: deep, homeDir: home, platform: "linux" as const };
    assert.deepEqual(await findConfigDir(context), {
      path: join(home, ".config", "wmsctl"),
      source: "user",
      exists: true,
    });
    await mkdir(join(project, ".wmsctl"));
    assert.equal((await findConfigDir(context))?.path, join(project, ".wmsctl"));
    assert.equal((await findConfigDir(context))?.source, "project");
    const env = { WMSCTL_CONFIG_DIR: "../../env-dir" };
    assert.deepEqual(await findConfigDir({ ...context, env }), {
      path: join(project, "env-dir"),
      source: "WMSCTL_CONFIG_DIR",
      exists: false,
    });
    assert.equal((await findConfigDir({ ...context, env, flag: "/flag" }))?.path, "/flag");
    assert.equal(
      await findConfigDir({
        ...context,
        cwd: join(root, "elsewhere"),
        homeDir: join(root, "nobody"),
      }),
      undefined,
    );
  });

  void it("the user's config dir: %APPDATA% on Windows, XDG_CONFIG_HOME, ~/.config", () => {
    const base = { homeDir: "/home/u", platform: "linux" as const };
    assert.equal(userConfigDir({ ...base, env: {} }), "/home/u/.config/wmsctl");
    assert.equal(userConfigDir({ ...base, env: { XDG_CONFIG_HOME: "/x" } }), "/x/wmsctl");
    assert.equal(
      userConfigDir({ ...base, env: { XDG_CONFIG_HOME: "rel" } }),
      "/home/u/.config/wmsctl",
    );
    const windows = { homeDir: "C:\\Users\\u", platform: "win32" as const };
    assert.equal(
      userConfigDir({ ...windows, env: { APPDATA: "C:\\Users\\u\\AppData\\Roaming" } }),
      "C:\\Users\\u\\AppData\\Roaming\\wmsctl",
    );
    assert.equal(userConfigDir({ ...windows, env: {} }), "C:\\Users\\u\\AppData\\Roaming\\wmsctl");
  });

  void it("each file: its flag, else its WMSCTL_* variable, else the config dir", async () => {
    const dir = join(project, ".wmsctl");
    const env = { WMSCTL_CA: "/env/ca.pem", WMSCTL_CERT: "/env/c.pem", WMSCTL_KEY: "/env/c.key" };
    const all = await find({ ca: "/f/ca.pem", cert: "/f/c.pem", key: "/f/c.key" }, env);
    assert.deepEqual(all, {
      ca: { path: "/f/ca.pem", source: "--ca" },
      cert: { path: "/f/c.pem", source: "--cert" },
      key: { path: "/f/c.key", source: "--key" },
    });
    const mixed = await find({ cert: "/f/c.pem" }, { WMSCTL_KEY: "/env/c.key" });
    assert.deepEqual(mixed?.ca, { path: join(dir, "ca.pem"), source: `project config dir ${dir}` });
    assert.deepEqual(mixed?.cert, { path: "/f/c.pem", source: "--cert" });
    assert.deepEqual(mixed?.key, { path: "/env/c.key", source: "WMSCTL_KEY" });
    const viaDir = await find({ configDir: "/cfg" }, { WMSCTL_CONFIG_DIR: "/ignored" });
    assert.deepEqual(viaDir?.key, { path: "/cfg/client.key", source: "--config-dir /cfg" });
  });

  void it("--insecure-loopback takes no credentials, and refuses flags or variables", async () => {
    assert.equal(await find({ insecureLoopback: true }), undefined);
    await assert.rejects(
      find({ insecureLoopback: true }, { WMSCTL_CA: "/x" }),
      /cannot be combined/,
    );
  });

  void it("exit 2 naming a missing file, or saying what to do when there are none", async () => {
    const target = ["get", "-s", "h1.lab.example.com", "--resolve=h1.lab.example.com=127.0.0.1:9"];
    const none = await runWmsctl(target, {
      cwd: join(root, "elsewhere"),
      homeDir: join(root, "x"),
    });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no credentials for mutual TLS: give --ca, --cert and --key/);
    assert.match(none.stderr, /wmsctl pki/);
    assert.match(none.stderr, /npm start/);
    assert.match(none.stderr, /--insecure-loopback/);

    const fromDir = await runWmsctl(target, { cwd: deep, homeDir: home });
    assert.equal(fromDir.status, 2);
    const dir = join(project, ".wmsctl");
    assert.match(
      fromDir.stderr,
      new RegExp(
        `CA certificate ${dir}/ca\\.pem \\(project config dir ${dir}\\): ENOENT.*issue-client NAME --install`,
      ),
    );

    await writeFile(join(dir, "ca.pem"), "not a certificate");
    await writeFile(join(dir, "client.pem"), "not a certificate");
    const noKey = await runWmsctl(target, { cwd: deep, homeDir: home });
    assert.equal(noKey.status, 2);
    assert.match(noKey.stderr, /client key .*\.wmsctl\/client\.key .*ENOENT/);

    await writeFile(join(dir, "client.key"), "not a key");
    const bad = await runWmsctl(target, { cwd: deep, homeDir: home });
    assert.equal(bad.status, 2);
    assert.match(
      bad.stderr,
      /client certificate .*\.wmsctl\/client\.pem \(project config dir .*\): not a PEM file \(no "-----BEGIN" line\); it is not a certificate or key at all/,
    );

    const flag = await runWmsctl([...target, "--key", join(root, "nope.key")], {
      cwd: deep,
      homeDir: home,
    });
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--key .*nope\.key: ENOENT/);
  });

  void it("exit 2 for a client certificate that is expired or not yet valid", async () => {
    const ca = await createCertificateAuthority({ days: 30 });
    const dir = join(root, "expired");
    await mkdir(dir);
    const lastMonth = new Date(Date.now() - 20 * 86_400_000);
    const expired = await issueClientCertificate(ca, "ops", { days: 1, now: lastMonth });
    await writeFile(join(dir, "ca.pem"), ca.certPem);
    await writeFile(join(dir, "client.pem"), expired.certPem);
    await writeFile(join(dir, "client.key"), expired.keyPem);
    const run = await runWmsctl(
      ["health", "-s", "h1.lab.example.com", "--resolve=h1.lab.example.com=127.0.0.1:9"],
      { env: { WMSCTL_CONFIG_DIR: dir } },
    );
    assert.equal(run.status, 2);
    assert.match(
      run.stderr,
      /client certificate .*client\.pem \(WMSCTL_CONFIG_DIR .*\): the certificate "CN=ops" is valid from .* not now \(.*\); issue a new one/,
    );
  });

  void it("exit 2 naming a wrong file and what it holds, never OpenSSL's words", async () => {
    const ca = await createCertificateAuthority({ days: 30 });
    const client = await issueClientCertificate(ca, "ops", { days: 1 });
    const other = await issueClientCertificate(ca, "eve", { days: 1 });
    const agent = await issueAgentCertificate(ca, "h1.lab.example.com", { days: 1 });
    const dir = join(root, "wrong");
    await mkdir(dir);
    const file = async (name: string, content: string | Buffer) => {
      await writeFile(join(dir, name), content);
      return join(dir, name);
    };
    const good = {
      ca: await file("ca.pem", ca.certPem),
      cert: await file("client.pem", client.certPem),
      key: await file("client.key", client.keyPem),
    };
    const encrypted = await file(
      "encrypted.key",
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    const cases: [Partial<typeof good>, RegExp][] = [
      [
        { cert: good.key },
        /^--cert .*client\.key: holds a PRIVATE KEY but no certificate \(--cert and --key swapped\?\)$/,
      ],
      [
        { key: good.cert },
        /^--key .*client\.pem: holds a CERTIFICATE but no private key \(--cert and --key swapped\?\)$/,
      ],
      [
        { cert: good.ca },
        /^--cert .*ca\.pem: the certificate "CN=wmsfleet CA" is a CA certificate, not a client certificate; --cert takes the certificate wmsctl pki issue-client made \(client\.pem\), and --ca the CA \(ca\.pem\)$/,
      ],
      [
        { ca: good.cert },
        /^--ca .*client\.pem: the certificate "CN=ops" is not a CA certificate \(basicConstraints cA is not set; a client or agent certificate\?\)/,
      ],
      [
        { ca: good.key },
        /^--ca .*client\.key: holds a PRIVATE KEY but no certificate \(--ca takes the CA certificate, ca\.pem, never a key\)$/,
      ],
      [
        { cert: await file("garbage.pem", "hello\n") },
        /^--cert .*garbage\.pem: not a PEM file \(no "-----BEGIN" line\); it is not a certificate or key at all$/,
      ],
      [
        { cert: await file("der.cer", Buffer.from([0x30, 0x82, 0x01])) },
        /^--cert .*der\.cer: not a PEM file .*; it looks like DER \(binary\): convert it to PEM$/,
      ],
      [
        { cert: await file("empty.pem", "") },
        /^--cert .*empty\.pem: not a PEM file .*; the file is empty$/,
      ],
      [
        { key: encrypted },
        /^--key .*encrypted\.key: the private key is encrypted with a passphrase, which wmsctl does not ask for/,
      ],
      [
        { key: await file("eve.key", other.keyPem) },
        /^--key .*eve\.key: this private key does not belong to the certificate "CN=ops" in .*client\.pem; give the key that was made with that certificate$/,
      ],
      [
        {
          cert: await file("agent.pem", agent.certPem),
          key: await file("agent.key", agent.keyPem),
        },
        /^--cert .*agent\.pem: the certificate "CN=h1\.lab\.example\.com" is not a client certificate \(its extendedKeyUsage lacks clientAuth; an agent certificate\?\)/,
      ],
    ];
    for (const [given, message] of cases) {
      const files = { ...good, ...given };
      const run = await runWmsctl([
        "get",
        "-s",
        "h1.lab.example.com",
        "--resolve=h1.lab.example.com=127.0.0.1:9",
        "--ca",
        files.ca,
        "--cert",
        files.cert,
        "--key",
        files.key,
      ]);
      assert.equal(run.status, 2, run.stderr);
      const line = run.stderr.replace(/^wmsctl: /, "").trimEnd();
      assert.match(line, message);
      assert.doesNotMatch(line, /routines|error:[0-9A-F]{8}|PEM_read|DECODER/);
    }
  });
});
