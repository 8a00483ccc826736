import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_AGENT_PORT } from "../../common/agent-port.js";
import {
  ConfigError,
  ENVIRONMENT_VARIABLES,
  parseAllow,
  parseHostName,
  resolveAgentConfig,
  settingsFromEnvironment,
  settingsFromFile,
  type AgentSettings,
  type SettingSources,
} from "../../agent/config/options.js";
import { parseListen as parseListenAddress } from "../../common/config-values.js";

/** The agent's reading of `--listen`: its default port in the examples, its own error. */
function parseListen(text: string, source: string): ReturnType<typeof parseListenAddress> {
  return parseListenAddress(
    text,
    source,
    DEFAULT_AGENT_PORT,
    (message) => new ConfigError(message),
  );
}

const FILE = "/etc/wmsfleet/agent.json";
const MACHINE = "agent1.lab.example.com";
const TLS: AgentSettings = { tlsCert: "a.pem", tlsKey: "a.key", tlsCa: "ca.pem" };
const INSECURE: AgentSettings = { insecureLoopback: true };

/** Resolves on Linux on a machine named {@link MACHINE}, with the config file at {@link FILE}. */
function resolve(
  sources: Partial<SettingSources>,
  platform: NodeJS.Platform = "linux",
  machine = MACHINE,
) {
  return resolveAgentConfig(
    { flags: {}, env: {}, file: {}, filePath: FILE, ...sources },
    platform,
    machine,
  );
}

/** Asserts `fn` throws a `ConfigError` (a `TypeError`) with exactly `message`. */
function assertConfigError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.ok(error instanceof TypeError);
    assert.equal(error.name, "ConfigError");
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const NOT_HOST_PORT = (source: string, text: string) =>
  `${source}: "${text}" is not HOST:PORT (e.g. 127.0.0.1:50061, [::1]:50061, 0.0.0.0:50061)`;
const NOT_HOST_NAME = (source: string, name: string) =>
  `${source}: "${name}" is not a valid host name (RFC 1123: letters, digits and hyphens, labels of at most 63, 253 in all)`;

void describe("ENVIRONMENT_VARIABLES", () => {
  void it("names WMSFLEET_ and the setting in upper snake case, for every setting", () => {
    assert.deepEqual(ENVIRONMENT_VARIABLES, {
      listen: "WMSFLEET_LISTEN",
      hostFqdn: "WMSFLEET_HOST_FQDN",
      backend: "WMSFLEET_BACKEND",
      simFixture: "WMSFLEET_SIM_FIXTURE",
      simActivity: "WMSFLEET_SIM_ACTIVITY",
      simSeed: "WMSFLEET_SIM_SEED",
      tlsCert: "WMSFLEET_TLS_CERT",
      tlsKey: "WMSFLEET_TLS_KEY",
      tlsCa: "WMSFLEET_TLS_CA",
      allow: "WMSFLEET_ALLOW",
      insecureLoopback: "WMSFLEET_INSECURE_LOOPBACK",
      auditLog: "WMSFLEET_AUDIT_LOG",
      logLevel: "WMSFLEET_LOG_LEVEL",
      shutdownGrace: "WMSFLEET_SHUTDOWN_GRACE",
    });
  });
});

void describe("settingsFromEnvironment", () => {
  void it("reads every WMSFLEET_* variable as text", () => {
    assert.deepEqual(
      settingsFromEnvironment({
        WMSFLEET_LISTEN: "127.0.0.1:7000",
        WMSFLEET_HOST_FQDN: "h1.lab.example.com",
        WMSFLEET_BACKEND: "simulated",
        WMSFLEET_SIM_FIXTURE: "room.json",
        WMSFLEET_TLS_CERT: "a.pem",
        WMSFLEET_TLS_KEY: "a.key",
        WMSFLEET_TLS_CA: "ca.pem",
        WMSFLEET_ALLOW: "ops=operator",
        WMSFLEET_INSECURE_LOOPBACK: "yes",
        WMSFLEET_AUDIT_LOG: "audit.jsonl",
        WMSFLEET_LOG_LEVEL: "debug",
        WMSFLEET_SHUTDOWN_GRACE: "5",
      }),
      {
        listen: "127.0.0.1:7000",
        hostFqdn: "h1.lab.example.com",
        backend: "simulated",
        simFixture: "room.json",
        tlsCert: "a.pem",
        tlsKey: "a.key",
        tlsCa: "ca.pem",
        allow: ["ops=operator"],
        insecureLoopback: "yes",
        auditLog: "audit.jsonl",
        logLevel: "debug",
        shutdownGrace: "5",
      },
    );
  });

  void it("ignores empty and unrelated variables", () => {
    assert.deepEqual(
      settingsFromEnvironment({
        WMSFLEET_LISTEN: "",
        WMSFLEET_CONFIG: "agent.json",
        WMSFLEET_SIM_SESSION: "3",
        PATH: "/usr/bin",
        LISTEN: "0.0.0.0:1",
        wmsfleet_listen: "0.0.0.0:2",
      }),
      {},
    );
  });

  void it("splits WMSFLEET_ALLOW at commas, trimming and dropping empty entries", () => {
    assert.deepEqual(
      settingsFromEnvironment({ WMSFLEET_ALLOW: " ops@lab=operator , , viewer=reader," }),
      { allow: ["ops@lab=operator", "viewer=reader"] },
    );
  });
});

void describe("settingsFromFile", () => {
  void it("accepts every setting with its JSON type", () => {
    const content = {
      listen: "127.0.0.1:7000",
      hostFqdn: "h1.lab.example.com",
      backend: "simulated",
      simFixture: "room.json",
      tlsCert: "a.pem",
      tlsKey: "a.key",
      tlsCa: "ca.pem",
      allow: ["ops=operator", "viewer=reader"],
      insecureLoopback: false,
      auditLog: "audit.jsonl",
      logLevel: "warn",
      shutdownGrace: 2.5,
    };
    assert.deepEqual(settingsFromFile(content, FILE), content);
    assert.deepEqual(settingsFromFile({}, FILE), {});
  });

  void it("refuses content that is not a JSON object, naming the file", () => {
    for (const content of [null, [], ["listen"], "listen", 42, true]) {
      assertConfigError(
        () => settingsFromFile(content, FILE),
        `${FILE}: the config file must hold a JSON object`,
      );
    }
  });

  void it("refuses an unknown key, naming the file, the key and the known keys", () => {
    assertConfigError(
      () => settingsFromFile({ listen: "127.0.0.1:1", port: 50061 }, FILE),
      `${FILE}: unknown setting "port" (known: listen, hostFqdn, backend, simFixture, simActivity, simSeed, tlsCert, tlsKey, tlsCa, allow, insecureLoopback, auditLog, logLevel, shutdownGrace)`,
    );
    // The flag spelling is not the file spelling.
    assertConfigError(
      () => settingsFromFile({ "host-fqdn": "h1" }, FILE),
      /^\/etc\/wmsfleet\/agent\.json: unknown setting "host-fqdn" \(known: /,
    );
    assertConfigError(
      () => settingsFromFile(JSON.parse('{"__proto__": {"listen": "x"}}'), FILE),
      /^\/etc\/wmsfleet\/agent\.json: unknown setting "__proto__"/,
    );
  });

  void it("refuses a value of the wrong type, naming the file and the key", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ listen: 50061 }, `${FILE}: "listen" must be a string`],
      [{ hostFqdn: null }, `${FILE}: "hostFqdn" must be a string`],
      [{ tlsCa: ["ca.pem"] }, `${FILE}: "tlsCa" must be a string`],
      [{ logLevel: 30 }, `${FILE}: "logLevel" must be a string`],
      [{ allow: "ops=operator" }, `${FILE}: "allow" must be an array of "IDENTITY=ROLE" strings`],
      [
        { allow: ["ops=operator", 3] },
        `${FILE}: "allow" must be an array of "IDENTITY=ROLE" strings`,
      ],
      [{ insecureLoopback: "true" }, `${FILE}: "insecureLoopback" must be true or false`],
      [{ insecureLoopback: 1 }, `${FILE}: "insecureLoopback" must be true or false`],
      [{ shutdownGrace: "10" }, `${FILE}: "shutdownGrace" must be a number of seconds`],
      [{ shutdownGrace: null }, `${FILE}: "shutdownGrace" must be a number of seconds`],
    ];
    for (const [content, message] of cases) {
      assertConfigError(() => settingsFromFile(content, FILE), message);
    }
  });
});

void describe("parseListen", () => {
  const source = "--listen";

  void it("reads IPv4 addresses", () => {
    assert.deepEqual(parseListen("127.0.0.1:50061", source), {
      host: "127.0.0.1",
      port: 50061,
      text: "127.0.0.1:50061",
    });
    assert.deepEqual(parseListen("0.0.0.0:0", source), {
      host: "0.0.0.0",
      port: 0,
      text: "0.0.0.0:0",
    });
    assert.deepEqual(parseListen("10.1.2.3:65535", source), {
      host: "10.1.2.3",
      port: 65535,
      text: "10.1.2.3:65535",
    });
  });

  void it("reads bracketed IPv6 addresses and keeps the brackets in the text", () => {
    assert.deepEqual(parseListen("[fe80::1%eth0]:50061", source), {
      host: "fe80::1%eth0",
      port: 50061,
      text: "[fe80::1%eth0]:50061",
    });
    assert.deepEqual(parseListen("[::1]:50061", source), {
      host: "::1",
      port: 50061,
      text: "[::1]:50061",
    });
    assert.deepEqual(parseListen("[::]:1", source), { host: "::", port: 1, text: "[::]:1" });
    assert.deepEqual(parseListen("[::ffff:127.0.0.1]:7000", source), {
      host: "::ffff:127.0.0.1",
      port: 7000,
      text: "[::ffff:127.0.0.1]:7000",
    });
    assert.deepEqual(parseListen("[2001:DB8::1]:443", source), {
      host: "2001:DB8::1",
      port: 443,
      text: "[2001:DB8::1]:443",
    });
  });

  void it("reads host names", () => {
    assert.deepEqual(parseListen("localhost:50061", source), {
      host: "localhost",
      port: 50061,
      text: "localhost:50061",
    });
    assert.deepEqual(parseListen("agent-1.lab.example.com:443", source), {
      host: "agent-1.lab.example.com",
      port: 443,
      text: "agent-1.lab.example.com:443",
    });
  });

  void it("trims the text and writes the port in canonical form", () => {
    assert.deepEqual(parseListen("  localhost:1  ", source), {
      host: "localhost",
      port: 1,
      text: "localhost:1",
    });
    assert.deepEqual(parseListen("127.0.0.1:00080", source), {
      host: "127.0.0.1",
      port: 80,
      text: "127.0.0.1:80",
    });
  });

  void it("refuses a missing port, naming the source", () => {
    for (const text of ["localhost", "127.0.0.1", "[::1]", "localhost:", "[::1]:", ":50061", ""]) {
      assertConfigError(() => parseListen(text, source), NOT_HOST_PORT(source, text));
    }
  });

  void it("refuses bad ports", () => {
    for (const text of [
      "127.0.0.1:65536",
      "127.0.0.1:99999",
      "127.0.0.1:123456",
      "127.0.0.1:-1",
      "127.0.0.1:+80",
      "127.0.0.1:1.5",
      "127.0.0.1:http",
      "127.0.0.1:0x50",
      "[::1]:70000",
      "localhost:50061:1",
    ]) {
      assertConfigError(
        () => parseListen(text, "WMSFLEET_LISTEN"),
        NOT_HOST_PORT("WMSFLEET_LISTEN", text),
      );
    }
  });

  void it("refuses IPv6 without brackets", () => {
    for (const text of ["::1:50061", "2001:db8::1:443"]) {
      assertConfigError(() => parseListen(text, source), NOT_HOST_PORT(source, text));
    }
  });

  void it("refuses brackets around something that is not IPv6", () => {
    assertConfigError(
      () => parseListen("[127.0.0.1]:50061", source),
      '--listen: "127.0.0.1" in brackets is not an IPv6 address',
    );
    assertConfigError(
      () => parseListen("[abc]:50061", source),
      '--listen: "abc" in brackets is not an IPv6 address',
    );
    assertConfigError(
      () => parseListen("[localhost]:1", source),
      '--listen: "localhost" in brackets is not an IPv6 address',
    );
    assertConfigError(
      () => parseListen("[fe80::1%]:1", source),
      '--listen: "fe80::1%" in brackets is not an IPv6 address',
    );
  });

  void it("refuses a host that is not a valid host name, naming the source", () => {
    for (const host of ["bad_name", "-lead.example.com", "trail-.example.com", "a..b", "zoë"]) {
      assertConfigError(
        () => parseListen(`${host}:50061`, `${FILE}: listen`),
        NOT_HOST_NAME(`${FILE}: listen`, host),
      );
    }
  });

  void it("refuses a dotted-decimal host that is no IPv4 address", {}, () => {
    assertConfigError(
      () => parseListen("999.0.0.1:50061", source),
      NOT_HOST_NAME(source, "999.0.0.1"),
    );
    assertConfigError(() => parseHostName("256.1.1.1", source), NOT_HOST_NAME(source, "256.1.1.1"));
  });
});

void describe("parseHostName", () => {
  const source = "--host-fqdn";

  void it("lowercases, trims and drops one trailing dot", () => {
    assert.equal(parseHostName("Agent1.LAB.Example.COM.", source), "agent1.lab.example.com");
    assert.equal(parseHostName("  h1.lab  ", source), "h1.lab");
    assert.equal(parseHostName("LOCALHOST", source), "localhost");
  });

  void it("accepts RFC 1123 labels: letters, digits, inner hyphens, leading digits", () => {
    for (const name of ["a", "h1", "1h", "a-b", "a--b", "xn--zo-8ka.example", "a.b.c.d.e"]) {
      assert.equal(parseHostName(name, source), name);
    }
  });

  void it("accepts labels of 63 characters and refuses 64", () => {
    const label63 = "a".repeat(63);
    assert.equal(parseHostName(`${label63}.example.com`, source), `${label63}.example.com`);
    const label64 = "a".repeat(64);
    assertConfigError(
      () => parseHostName(`${label64}.example.com`, source),
      NOT_HOST_NAME(source, `${label64}.example.com`),
    );
  });

  void it("accepts 253 characters in all and refuses 254, a trailing dot not counted", () => {
    const label = "a".repeat(63);
    const name253 = `${label}.${label}.${label}.${"b".repeat(61)}`;
    assert.equal(name253.length, 253);
    assert.equal(parseHostName(name253, source), name253);
    assert.equal(parseHostName(`${name253}.`, source), name253);
    const name254 = `${label}.${label}.${label}.${"b".repeat(62)}`;
    assertConfigError(() => parseHostName(name254, source), NOT_HOST_NAME(source, name254));
  });

  void it("refuses everything else, naming the source", () => {
    for (const name of [
      "",
      "   ",
      ".",
      "..",
      ".example.com",
      "a..b",
      "a.b..",
      "-a",
      "a-",
      "a.-b.c",
      "a_b",
      "a b",
      "*.example.com",
      "zoë.example.com",
      "h1:50061",
      "[::1]",
    ]) {
      assertConfigError(
        () => parseHostName(name, "WMSFLEET_HOST_FQDN"),
        NOT_HOST_NAME("WMSFLEET_HOST_FQDN", name),
      );
    }
  });
});

void describe("parseAllow", () => {
  void it("reads IDENTITY=ROLE entries, trimming both sides", () => {
    assert.deepEqual(
      [...parseAllow(["ops@lab=operator", " viewer = reader "], "--allow")],
      [
        ["ops@lab", "operator"],
        ["viewer", "reader"],
      ],
    );
    assert.equal(parseAllow([], "--allow").size, 0);
  });

  void it("splits at the last '=' so identities may hold '='", () => {
    assert.deepEqual(
      [...parseAllow(["CN=ops,O=lab=operator"], "--allow")],
      [["CN=ops,O=lab", "operator"]],
    );
  });

  void it("lets a later entry for the same identity replace an earlier one", () => {
    assert.deepEqual(
      [...parseAllow(["ops=operator", "ops=reader"], "--allow")],
      [["ops", "reader"]],
    );
  });

  void it("refuses entries without an identity, naming the source", () => {
    for (const entry of ["ops", "=operator", " =operator", ""]) {
      assertConfigError(
        () => parseAllow(["viewer=reader", entry], "WMSFLEET_ALLOW"),
        `WMSFLEET_ALLOW: "${entry}" is not IDENTITY=ROLE (e.g. ops@lab=operator)`,
      );
    }
  });

  void it("refuses roles other than reader and operator", () => {
    for (const [entry, role] of [
      ["ops=admin", "admin"],
      ["ops=Operator", "Operator"],
      ["ops=", ""],
      ["ops=reader,operator", "reader,operator"],
    ] as const) {
      assertConfigError(
        () => parseAllow([entry], `${FILE}: allow`),
        `${FILE}: allow: "${entry}": role "${role}" is not reader or operator`,
      );
    }
  });
});

void describe("resolveAgentConfig defaults", () => {
  void it("fills every default around mutual TLS", () => {
    const config = resolve({ flags: TLS });
    assert.deepEqual(config, {
      listen: { host: "0.0.0.0", port: DEFAULT_AGENT_PORT, text: "0.0.0.0:50061" },
      hostFqdn: MACHINE,
      backend: "simulated",
      simFixture: undefined,
      simActivity: undefined,
      tls: { cert: "a.pem", key: "a.key", ca: "ca.pem" },
      allow: new Map(),
      insecureLoopback: false,
      auditLog: undefined,
      logLevel: "info",
      shutdownGraceMs: 10_000,
    });
  });

  void it("listens on localhost:50061 by default with --insecure-loopback", () => {
    const config = resolve({ flags: INSECURE });
    assert.deepEqual(config.listen, { host: "localhost", port: 50061, text: "localhost:50061" });
    assert.equal(config.insecureLoopback, true);
    assert.equal(config.tls, undefined);
  });

  void it("uses the machine's host name, lowercased, and says how to override a bad one", () => {
    assert.equal(resolve({ flags: INSECURE }, "linux", "Agent1.LAB.example.com").hostFqdn, MACHINE);
    assertConfigError(
      () => resolve({ flags: INSECURE }, "linux", "my_pc"),
      NOT_HOST_NAME("the machine's host name (set --host-fqdn)", "my_pc"),
    );
    assert.equal(
      resolve({ flags: { ...INSECURE, hostFqdn: "h1" } }, "linux", "my_pc").hostFqdn,
      "h1",
    );
  });

  void it("picks wts on Windows and simulated elsewhere", () => {
    assert.equal(resolve({ flags: INSECURE }, "win32").backend, "wts");
    assert.equal(resolve({ flags: INSECURE }, "linux").backend, "simulated");
    assert.equal(resolve({ flags: INSECURE }, "darwin").backend, "simulated");
  });
});

void describe("resolveAgentConfig precedence: flags > environment > file > defaults", () => {
  void it("for text settings", () => {
    const flags: AgentSettings = {
      ...INSECURE,
      listen: "127.0.0.1:1001",
      hostFqdn: "flag.example",
    };
    const env: AgentSettings = {
      listen: "127.0.0.1:1002",
      hostFqdn: "env.example",
      auditLog: "env.jsonl",
      logLevel: "debug",
    };
    const file: AgentSettings = {
      listen: "127.0.0.1:1003",
      hostFqdn: "file.example",
      auditLog: "file.jsonl",
      logLevel: "warn",
      simFixture: "file-room.json",
    };
    const config = resolve({ flags, env, file });
    assert.equal(config.listen.text, "127.0.0.1:1001");
    assert.equal(config.hostFqdn, "flag.example");
    assert.equal(config.auditLog, "env.jsonl");
    assert.equal(config.logLevel, "debug");
    assert.equal(config.simFixture, "file-room.json");

    const fromEnv = resolve({ flags: INSECURE, env, file });
    assert.equal(fromEnv.listen.text, "127.0.0.1:1002");
    assert.equal(fromEnv.hostFqdn, "env.example");

    const fromFile = resolve({ flags: INSECURE, file });
    assert.equal(fromFile.listen.text, "127.0.0.1:1003");
    assert.equal(fromFile.hostFqdn, "file.example");
    assert.equal(fromFile.auditLog, "file.jsonl");
    assert.equal(fromFile.logLevel, "warn");
  });

  void it("for the backend", () => {
    assert.equal(
      resolve({ flags: { ...INSECURE, backend: "simulated" }, env: { backend: "wts" } }, "win32")
        .backend,
      "simulated",
    );
    assert.equal(
      resolve({ flags: INSECURE, env: { backend: "simulated" }, file: { backend: "wts" } }, "win32")
        .backend,
      "simulated",
    );
    assert.equal(
      resolve({ flags: INSECURE, file: { backend: "simulated" } }, "win32").backend,
      "simulated",
    );
  });

  void it("for the boolean --insecure-loopback", () => {
    // Environment false beats file true: TLS is then required.
    assert.equal(
      resolve({ env: { ...TLS, insecureLoopback: "0" }, file: INSECURE }).insecureLoopback,
      false,
    );
    assert.equal(
      resolve({ env: { insecureLoopback: "true" }, file: { insecureLoopback: false } })
        .insecureLoopback,
      true,
    );
    assert.equal(resolve({ file: INSECURE }).insecureLoopback, true);
    assert.equal(
      resolve({ flags: INSECURE, env: { insecureLoopback: "no" } }).insecureLoopback,
      true,
    );
  });

  void it("for the repeatable --allow: the winning source replaces the others", () => {
    const config = resolve({
      flags: { ...TLS, allow: ["flag=operator"] },
      env: { allow: ["env=reader"] },
      file: { allow: ["file=reader"] },
    });
    assert.deepEqual([...config.allow], [["flag", "operator"]]);
    assert.deepEqual(
      [
        ...resolve({ flags: TLS, env: { allow: ["env=reader"] }, file: { allow: ["file=reader"] } })
          .allow,
      ],
      [["env", "reader"]],
    );
    assert.deepEqual(
      [...resolve({ flags: TLS, file: { allow: ["file=reader"] } }).allow],
      [["file", "reader"]],
    );
  });

  void it("for the numeric --shutdown-grace", () => {
    assert.equal(
      resolve({
        flags: { ...INSECURE, shutdownGrace: "1" },
        env: { shutdownGrace: "2" },
        file: { shutdownGrace: 3 },
      }).shutdownGraceMs,
      1_000,
    );
    assert.equal(
      resolve({ flags: INSECURE, env: { shutdownGrace: "2" }, file: { shutdownGrace: 3 } })
        .shutdownGraceMs,
      2_000,
    );
    assert.equal(resolve({ flags: INSECURE, file: { shutdownGrace: 3 } }).shutdownGraceMs, 3_000);
  });

  void it("for each TLS file, which may come from different sources", () => {
    const config = resolve({
      flags: { tlsCert: "flag.pem" },
      env: { tlsCert: "env.pem", tlsKey: "env.key" },
      file: { tlsCert: "file.pem", tlsKey: "file.key", tlsCa: "file-ca.pem" },
    });
    assert.deepEqual(config.tls, { cert: "flag.pem", key: "env.key", ca: "file-ca.pem" });
  });

  void it("names the winning source in an error: flag, variable or file entry", () => {
    const bad = "nowhere";
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, listen: bad }, env: { listen: "127.0.0.1:1" } }),
      NOT_HOST_PORT("--listen", bad),
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { listen: bad }, file: { listen: "127.0.0.1:1" } }),
      NOT_HOST_PORT("WMSFLEET_LISTEN", bad),
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, file: { listen: bad } }),
      NOT_HOST_PORT(`${FILE}: listen`, bad),
    );
    assertConfigError(
      () =>
        resolveAgentConfig({ flags: INSECURE, env: {}, file: { listen: bad } }, "linux", MACHINE),
      NOT_HOST_PORT("config file: listen", bad),
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { hostFqdn: "bad_name" } }),
      NOT_HOST_NAME("WMSFLEET_HOST_FQDN", "bad_name"),
    );
  });
});

void describe("resolveAgentConfig validation", () => {
  void it("reads booleans from the environment", () => {
    for (const text of ["1", "true", "TRUE", "yes", "Yes", "on", " true "]) {
      assert.equal(resolve({ env: { insecureLoopback: text } }).insecureLoopback, true, text);
    }
    for (const text of ["0", "false", "False", "no", "off", "OFF"]) {
      assert.equal(
        resolve({ env: { ...TLS, insecureLoopback: text } }).insecureLoopback,
        false,
        text,
      );
    }
    for (const text of ["2", "y", "enabled", "truthy"]) {
      assertConfigError(
        () => resolve({ env: { insecureLoopback: text } }),
        `WMSFLEET_INSECURE_LOOPBACK: "${text}" is not a boolean (true/false, 1/0, yes/no)`,
      );
    }
  });

  void it("refuses an unknown backend, naming the source", () => {
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, backend: "rdp" } }),
      '--backend: "rdp" is not a backend (wts, simulated)',
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, file: { backend: "WTS" } }, "win32"),
      `${FILE}: backend: "WTS" is not a backend (wts, simulated)`,
    );
  });

  void it("refuses wts off Windows and says to use simulated", () => {
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, backend: "wts" } }, "linux"),
      "--backend: the wts backend needs Windows (Remote Desktop Services); use --backend simulated on linux",
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { backend: "wts" } }, "darwin"),
      "WMSFLEET_BACKEND: the wts backend needs Windows (Remote Desktop Services); use --backend simulated on darwin",
    );
    assert.equal(resolve({ flags: { ...INSECURE, backend: "wts" } }, "win32").backend, "wts");
  });

  void it("refuses a fixture without the simulated backend", () => {
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, simFixture: "room.json" } }, "win32"),
      "--sim-fixture: a fixture only applies to --backend simulated",
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { simFixture: "room.json", backend: "wts" } }, "win32"),
      "WMSFLEET_SIM_FIXTURE: a fixture only applies to --backend simulated",
    );
    assert.equal(
      resolve({ flags: { ...INSECURE, simFixture: "room.json" } }, "linux").simFixture,
      "room.json",
    );
    assert.equal(
      resolve({ flags: { ...INSECURE, simFixture: "room.json", backend: "simulated" } }, "win32")
        .simFixture,
      "room.json",
    );
  });

  void it("turns the simulated activity on, with or without a seed, from any source", () => {
    assert.deepEqual(resolve({ flags: { ...INSECURE, simActivity: true } }).simActivity, {
      seed: undefined,
    });
    assert.deepEqual(
      resolve({ flags: INSECURE, env: { simActivity: "yes", simSeed: "4294967295" } }).simActivity,
      { seed: 4294967295 },
    );
    assert.deepEqual(
      resolve({ flags: INSECURE, file: { simActivity: true, simSeed: 7 } }).simActivity,
      { seed: 7 },
    );
    assert.equal(resolve({ flags: INSECURE, env: { simActivity: "off" } }).simActivity, undefined);
  });

  void it("refuses a bad seed, a seed without activity, and activity without the simulated backend", () => {
    for (const seed of ["-1", "1.5", "4294967296", "", "seven"]) {
      assertConfigError(
        () => resolve({ flags: { ...INSECURE, simActivity: true }, env: { simSeed: seed } }),
        `WMSFLEET_SIM_SEED: "${seed}" is not a seed (an integer 0..4294967295)`,
      );
    }
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, simSeed: "3" } }),
      "--sim-seed: a seed only applies with --sim-activity (it seeds the simulated activity)",
    );
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, simActivity: true, backend: "wts" } }, "win32"),
      "--sim-activity: simulated activity only applies to --backend simulated",
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { simActivity: "maybe" } }),
      'WMSFLEET_SIM_ACTIVITY: "maybe" is not a boolean (true/false, 1/0, yes/no)',
    );
    assert.throws(
      () => settingsFromFile({ simSeed: "3" }, FILE),
      /"simSeed" must be a number \(an integer 0\.\.4294967295\)/,
    );
    assert.throws(
      () => settingsFromFile({ simActivity: "on" }, FILE),
      /"simActivity" must be true or false/,
    );
  });

  void it("refuses half of mutual TLS, naming the three settings", () => {
    const message = "mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca";
    for (const partial of [
      { tlsCert: "a.pem" },
      { tlsKey: "a.key" },
      { tlsCa: "ca.pem" },
      { tlsCert: "a.pem", tlsKey: "a.key" },
      { tlsKey: "a.key", tlsCa: "ca.pem" },
    ]) {
      assertConfigError(() => resolve({ flags: partial }), message);
      assertConfigError(() => resolve({ file: partial }), message);
    }
  });

  void it("refuses TLS and --insecure-loopback together, naming the TLS source", () => {
    assertConfigError(
      () => resolve({ flags: { ...TLS, ...INSECURE } }),
      "--tls-cert and --insecure-loopback exclude each other: choose mutual TLS or insecure loopback",
    );
    // Even half of TLS: the conflict is reported first.
    assertConfigError(
      () => resolve({ flags: INSECURE, file: { tlsCa: "ca.pem" } }),
      `${FILE}: tlsCa and --insecure-loopback exclude each other: choose mutual TLS or insecure loopback`,
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { tlsKey: "a.key" } }),
      "WMSFLEET_TLS_KEY and --insecure-loopback exclude each other: choose mutual TLS or insecure loopback",
    );
  });

  void it("names where --insecure-loopback came from when it conflicts", {}, () => {
    assertConfigError(
      () => resolve({ flags: TLS, env: { insecureLoopback: "1" } }),
      /WMSFLEET_INSECURE_LOOPBACK/,
    );
    assertConfigError(
      () => resolve({ flags: { allow: ["ops=operator"] }, file: INSECURE }),
      new RegExp(`${FILE}: insecureLoopback`),
    );
  });

  void it("refuses to run with no transport security at all", () => {
    const message =
      "no transport security configured: give --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure-loopback to listen without TLS on loopback addresses only";
    assertConfigError(() => resolve({}), message);
    assertConfigError(() => resolve({ env: { insecureLoopback: "false" } }), message);
    assertConfigError(() => resolve({ file: { insecureLoopback: false } }), message);
  });

  void it("refuses --allow with --insecure-loopback: there are no identities", () => {
    assertConfigError(
      () => resolve({ flags: { ...INSECURE, allow: ["ops=operator"] } }),
      "--allow: identities come from client certificates, and there are none with insecure loopback (--insecure-loopback)",
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { allow: ["ops=operator"] } }),
      "WMSFLEET_ALLOW: identities come from client certificates, and there are none with insecure loopback (--insecure-loopback)",
    );
    assert.equal(resolve({ flags: { ...INSECURE, allow: [] } }).allow.size, 0);
  });

  void it("refuses a bad allow entry, naming its source", () => {
    assertConfigError(
      () => resolve({ flags: TLS, file: { allow: ["ops=root"] } }),
      `${FILE}: allow: "ops=root": role "root" is not reader or operator`,
    );
  });

  void it("accepts every pino level and refuses others, naming the source", () => {
    for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) {
      assert.equal(resolve({ flags: INSECURE, env: { logLevel: level } }).logLevel, level);
    }
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { logLevel: "verbose" } }),
      'WMSFLEET_LOG_LEVEL: "verbose" is not a level (fatal, error, warn, info, debug, trace, silent)',
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, file: { logLevel: "INFO" } }),
      `${FILE}: logLevel: "INFO" is not a level (fatal, error, warn, info, debug, trace, silent)`,
    );
  });

  void it("accepts --shutdown-grace within 0..3600 seconds, fractions included", () => {
    for (const [value, ms] of [
      ["0", 0],
      ["3600", 3_600_000],
      ["0.25", 250],
      ["12.5", 12_500],
      [" 7 ", 7_000],
      [0, 0],
      [3600, 3_600_000],
    ] as const) {
      assert.equal(
        resolve({ flags: { ...INSECURE, shutdownGrace: value } }).shutdownGraceMs,
        ms,
        JSON.stringify(value),
      );
    }
  });

  void it("refuses --shutdown-grace outside 0..3600 or not a number, naming the source", () => {
    for (const value of ["3601", "-1", "-0.5", "", "  ", "abc", "10s", "Infinity", "NaN"]) {
      assertConfigError(
        () => resolve({ flags: { ...INSECURE, shutdownGrace: value } }),
        `--shutdown-grace: "${value}" is not a number of seconds within 0..3600`,
      );
    }
    assertConfigError(
      () => resolve({ flags: INSECURE, env: { shutdownGrace: "99999" } }),
      'WMSFLEET_SHUTDOWN_GRACE: "99999" is not a number of seconds within 0..3600',
    );
    assertConfigError(
      () => resolve({ flags: INSECURE, file: { shutdownGrace: 7200 } }),
      `${FILE}: shutdownGrace: "7200" is not a number of seconds within 0..3600`,
    );
  });
});
