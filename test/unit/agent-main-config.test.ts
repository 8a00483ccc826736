import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { loadConfig, type MainIo } from "../../agent/main.js";
import { ConfigError } from "../../agent/config/options.js";
import { WMSFLEET_VERSION } from "../../common/version.js";

/** A writable stream that keeps what is written, as text. */
class MemoryStream extends Writable {
  text = "";
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    this.text += String(chunk);
    callback();
  }
}

interface TestIo extends MainIo {
  readonly stdout: MemoryStream;
  readonly stderr: MemoryStream;
}

function io(argv: readonly string[], env: NodeJS.ProcessEnv = {}): TestIo {
  return { argv, env, stdout: new MemoryStream(), stderr: new MemoryStream() };
}

/** Loads a configuration that must resolve (not an exit status). */
async function load(argv: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const testIo = io(argv, env);
  const result = await loadConfig(testIo);
  if (typeof result === "number") {
    assert.fail(`expected a configuration, got exit status ${result}: ${testIo.stderr.text}`);
  }
  assert.equal(testIo.stdout.text, "");
  assert.equal(testIo.stderr.text, "");
  return result;
}

/** Asserts that loading rejects with a `ConfigError` whose message is `message` or matches it. */
async function assertLoadFails(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(loadConfig(io(argv, env)), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const LOOPBACK = ["--insecure-loopback", "--host-fqdn", "h1.lab.example.com"];

void describe("loadConfig: help, version and bad flags", () => {
  void it("prints help on stdout and returns 0 for --help and -h", async () => {
    for (const flag of ["--help", "-h"]) {
      const testIo = io([flag]);
      assert.equal(await loadConfig(testIo), 0);
      assert.match(testIo.stdout.text, /^Usage: wms-agent \[options\]\n/);
      for (const text of [
        "--listen <host:port>",
        "--host-fqdn <name>",
        "--backend <name>",
        "--insecure-loopback",
        "--allow <identity=role>",
        "--shutdown-grace <seconds>",
        "--config <file>",
        "WMSFLEET_LISTEN",
        "WMSFLEET_CONFIG",
        "Exit status:",
      ]) {
        assert.ok(testIo.stdout.text.includes(text), `help mentions ${text}`);
      }
      assert.equal(testIo.stderr.text, "");
    }
  });

  void it("prints the version and returns 0 for --version and -V", async () => {
    for (const flag of ["--version", "-V"]) {
      const testIo = io([flag]);
      assert.equal(await loadConfig(testIo), 0);
      assert.equal(testIo.stdout.text, `${WMSFLEET_VERSION}\n`);
      assert.equal(testIo.stderr.text, "");
    }
  });

  void it("returns 2 for an unknown flag, saying so on stderr", async () => {
    const testIo = io([...LOOPBACK, "--bogus"]);
    assert.equal(await loadConfig(testIo), 2);
    assert.equal(testIo.stderr.text, "error: unknown option '--bogus'\n");
    assert.equal(testIo.stdout.text, "");
  });

  void it("returns 2 for a flag without its value", async () => {
    const testIo = io(["--listen"]);
    assert.equal(await loadConfig(testIo), 2);
    assert.equal(testIo.stderr.text, "error: option '--listen <host:port>' argument missing\n");
  });

  void it("returns 2 for a --log-level outside the choices", async () => {
    const testIo = io([...LOOPBACK, "--log-level", "verbose"]);
    assert.equal(await loadConfig(testIo), 2);
    assert.match(
      testIo.stderr.text,
      /^error: option '--log-level <level>' argument 'verbose' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\.\n$/,
    );
  });

  void it("returns 2 for a positional argument", async () => {
    const testIo = io([...LOOPBACK, "3"]);
    assert.equal(await loadConfig(testIo), 2);
    assert.match(testIo.stderr.text, /^error: too many arguments/);
  });
});

void describe("loadConfig: flags and environment", () => {
  void it("resolves flags", async () => {
    const config = await load([
      ...LOOPBACK,
      "--listen",
      "127.0.0.1:0",
      "--backend",
      "simulated",
      "--sim-fixture",
      "room.json",
      "--sim-activity",
      "--sim-seed",
      "42",
      "--audit-log",
      "audit.jsonl",
      "--log-level",
      "debug",
      "--shutdown-grace",
      "2.5",
    ]);
    assert.deepEqual(config, {
      listen: { host: "127.0.0.1", port: 0, text: "127.0.0.1:0" },
      hostFqdn: "h1.lab.example.com",
      backend: "simulated",
      simFixture: "room.json",
      simActivity: { seed: 42 },
      tls: undefined,
      allow: new Map(),
      insecureLoopback: true,
      auditLog: "audit.jsonl",
      logLevel: "debug",
      shutdownGraceMs: 2_500,
    });
  });

  void it("collects a repeated --allow", async () => {
    const config = await load([
      "--host-fqdn",
      "h1",
      "--tls-cert",
      "a.pem",
      "--tls-key",
      "a.key",
      "--tls-ca",
      "ca.pem",
      "--allow",
      "ops@lab=operator",
      "--allow",
      "viewer=reader",
    ]);
    assert.deepEqual(config.tls, { cert: "a.pem", key: "a.key", ca: "ca.pem" });
    assert.deepEqual(
      [...config.allow],
      [
        ["ops@lab", "operator"],
        ["viewer", "reader"],
      ],
    );
    assert.deepEqual(config.listen.text, "0.0.0.0:50061");
  });

  void it("splits a comma list in --allow and WMSFLEET_ALLOW, and refuses one that is not a list", async () => {
    const TLS = [
      "--host-fqdn",
      "h1",
      "--tls-cert",
      "a.pem",
      "--tls-key",
      "a.key",
      "--tls-ca",
      "ca.pem",
    ];
    const expected = [
      ["eve", "operator"],
      ["mon", "reader"],
      ["ops@lab", "operator"],
    ];
    const fromFlags = await load([
      ...TLS,
      "--allow",
      "eve=operator, mon=reader",
      "--allow",
      "ops@lab=operator",
    ]);
    assert.deepEqual([...fromFlags.allow], expected);
    const fromEnv = await load(TLS, { WMSFLEET_ALLOW: "eve=operator,mon=reader,ops@lab=operator" });
    assert.deepEqual([...fromEnv.allow], expected);
    // "eve=operator,mon" used to become the one identity "eve=operator,mon" with no role given.
    await assertLoadFails(
      [...TLS, "--allow", "eve=operator,mon"],
      {},
      '--allow: "mon" is not IDENTITY=ROLE (e.g. ops@lab=operator)',
    );
    await assertLoadFails(
      TLS,
      { WMSFLEET_ALLOW: "eve=operator,mon" },
      'WMSFLEET_ALLOW: "mon" is not IDENTITY=ROLE (e.g. ops@lab=operator)',
    );
  });

  void it("reads WMSFLEET_* from the injected environment; flags win", async () => {
    const env = {
      WMSFLEET_INSECURE_LOOPBACK: "1",
      WMSFLEET_HOST_FQDN: "env.example.com",
      WMSFLEET_LISTEN: "127.0.0.1:7001",
      WMSFLEET_LOG_LEVEL: "warn",
    };
    const fromEnv = await load([], env);
    assert.equal(fromEnv.insecureLoopback, true);
    assert.equal(fromEnv.hostFqdn, "env.example.com");
    assert.equal(fromEnv.listen.text, "127.0.0.1:7001");
    assert.equal(fromEnv.logLevel, "warn");

    const flagged = await load(["--listen", "[::1]:7002", "--log-level", "error"], env);
    assert.equal(flagged.listen.text, "[::1]:7002");
    assert.equal(flagged.logLevel, "error");
    assert.equal(flagged.hostFqdn, "env.example.com");
  });

  void it("lets a bad value through parsing and refuses it with a ConfigError naming the flag", async () => {
    await assertLoadFails(
      [...LOOPBACK, "--shutdown-grace", "soon"],
      {},
      '--shutdown-grace: "soon" is not a number of seconds within 0..3600',
    );
    await assertLoadFails(
      [...LOOPBACK],
      { WMSFLEET_INSECURE_LOOPBACK: "1", WMSFLEET_BACKEND: "hyperv" },
      'WMSFLEET_BACKEND: "hyperv" is not a backend (wts, simulated)',
    );
    await assertLoadFails(["--host-fqdn", "h1"], {}, /^no transport security configured: /);
  });
});

void describe("loadConfig: the config file", () => {
  let dir = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wmsfleet-agent-config-"));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(name: string, content: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content, "utf8");
    return path;
  }

  void it("reads a file named by --config, below flags and environment", async () => {
    const path = await configFile(
      "good.json",
      JSON.stringify({
        insecureLoopback: true,
        hostFqdn: "file.example.com",
        listen: "127.0.0.1:7003",
        logLevel: "debug",
        shutdownGrace: 30,
        auditLog: "file-audit.jsonl",
      }),
    );
    const fromFile = await load(["--config", path]);
    assert.equal(fromFile.insecureLoopback, true);
    assert.equal(fromFile.hostFqdn, "file.example.com");
    assert.equal(fromFile.listen.text, "127.0.0.1:7003");
    assert.equal(fromFile.logLevel, "debug");
    assert.equal(fromFile.shutdownGraceMs, 30_000);
    assert.equal(fromFile.auditLog, "file-audit.jsonl");

    const layered = await load(["--config", path, "--listen", "127.0.0.1:7004"], {
      WMSFLEET_LOG_LEVEL: "warn",
      WMSFLEET_SHUTDOWN_GRACE: "1",
    });
    assert.equal(layered.listen.text, "127.0.0.1:7004");
    assert.equal(layered.logLevel, "warn");
    assert.equal(layered.shutdownGraceMs, 1_000);
    assert.equal(layered.hostFqdn, "file.example.com");
  });

  void it("reads a file named by WMSFLEET_CONFIG; --config wins", async () => {
    const envFile = await configFile(
      "env.json",
      '{"insecureLoopback": true, "hostFqdn": "env-file.example.com"}',
    );
    const flagFile = await configFile(
      "flag.json",
      '{"insecureLoopback": true, "hostFqdn": "flag-file.example.com"}',
    );
    assert.equal((await load([], { WMSFLEET_CONFIG: envFile })).hostFqdn, "env-file.example.com");
    assert.equal(
      (await load(["--config", flagFile], { WMSFLEET_CONFIG: envFile })).hostFqdn,
      "flag-file.example.com",
    );
  });

  void it("ignores an empty WMSFLEET_CONFIG", async () => {
    assert.equal((await load(LOOPBACK, { WMSFLEET_CONFIG: "" })).hostFqdn, "h1.lab.example.com");
  });

  void it("refuses a file that is not JSON, naming the file", async () => {
    const path = await configFile("broken.json", '{"listen": "127.0.0.1:1",}');
    await assertLoadFails(
      ["--config", path],
      {},
      new RegExp(`^${escapeRegExp(path)}: not valid JSON: `),
    );
  });

  void it("refuses a file that does not hold an object, naming the file", async () => {
    const path = await configFile("array.json", '["--insecure-loopback"]');
    await assertLoadFails(
      [...LOOPBACK, "--config", path],
      {},
      `${path}: the config file must hold a JSON object`,
    );
  });

  void it("refuses an unknown key, naming the file and the key", async () => {
    const path = await configFile("unknown.json", '{"insecureLoopback": true, "port": 50061}');
    await assertLoadFails(
      ["--config", path],
      {},
      new RegExp(`^${escapeRegExp(path)}: unknown setting "port" \\(known: listen, hostFqdn, `),
    );
  });

  void it("refuses a value of the wrong type, naming the file and the key", async () => {
    const path = await configFile("type.json", '{"insecureLoopback": "yes"}');
    await assertLoadFails(
      ["--config", path],
      {},
      `${path}: "insecureLoopback" must be true or false`,
    );
  });

  void it("refuses a bad value, naming the file and the entry", async () => {
    const path = await configFile("value.json", '{"insecureLoopback": true, "listen": "nowhere"}');
    await assertLoadFails(
      ["--config", path, "--host-fqdn", "h1"],
      {},
      `${path}: listen: "nowhere" is not HOST:PORT (e.g. 127.0.0.1:50061, [::1]:50061, 0.0.0.0:50061)`,
    );
  });

  void it("refuses a file that does not exist, naming the file", async () => {
    const path = join(dir, "missing.json");
    await assertLoadFails(
      [...LOOPBACK, "--config", path],
      {},
      new RegExp(`^${escapeRegExp(path)}: cannot read the config file: ENOENT`),
    );
    await assertLoadFails(
      LOOPBACK,
      { WMSFLEET_CONFIG: path },
      new RegExp(`^${escapeRegExp(path)}: cannot read the config file: ENOENT`),
    );
  });

  void it("refuses a directory, naming it", async () => {
    const path = join(dir, "a-directory.json");
    await mkdir(path);
    await assertLoadFails(
      [...LOOPBACK, "--config", path],
      {},
      new RegExp(`^${escapeRegExp(path)}: cannot read the config file: EISDIR`),
    );
  });

  void it("reads a UTF-8 file that starts with a byte order mark", {}, async () => {
    const path = await configFile("bom.json", '\uFEFF{"insecureLoopback": true, "hostFqdn": "h1"}');
    assert.equal((await load(["--config", path])).hostFqdn, "h1");
  });
});

/** Escapes a path for use inside a regular expression. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
