/**
 * The SIGHUP reload: what it applies, what it says needs a restart, and that a broken new
 * configuration changes nothing.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import type { FileAuditSink } from "../../agent/audit/audit-file.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createConfigReloader } from "../../agent/config/config-reload.js";
import { ConfigError, resolveAgentConfig, type AgentSettings } from "../../agent/config/options.js";
import type { ReloadableTlsCredentials } from "../../agent/security/tls-credentials.js";
import type { TlsMaterial } from "../../agent/security/tls.js";
import { createTestCa, pemFolder, type PemFolder } from "../helpers/test-pki.js";

const HOST = "mps01.lab.example.com";

/** A pino logger whose lines the test reads. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

function resolve(settings: AgentSettings) {
  return resolveAgentConfig({ flags: {}, env: {}, file: settings }, "linux", HOST);
}

/** Fake TLS credentials that record the material they were given. */
function fakeTls(): ReloadableTlsCredentials & { updates: TlsMaterial[] } {
  const updates: TlsMaterial[] = [];
  return {
    updates,
    credentials: undefined as never,
    current: () => updates.at(-1) as TlsMaterial,
    update: (material) => void updates.push(material),
  };
}

/** A fake audit sink that records where it was reopened. */
function fakeAudit(failWith?: Error): FileAuditSink & { reopened: string[] } {
  const reopened: string[] = [];
  return {
    path: "/var/log/audit.jsonl",
    reopened,
    write: () => Promise.resolve(),
    reopen: (path) => {
      if (failWith !== undefined) return Promise.reject(failWith);
      reopened.push(path ?? "same");
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

let folder: PemFolder;
let tlsSettings: AgentSettings;
const cleanUp: (() => Promise<void>)[] = [];
after(async () => {
  for (const fn of cleanUp) await fn();
});
before(async () => {
  const ca = await createTestCa("reload CA");
  const agent = await ca.issueServer([HOST]);
  folder = await pemFolder({ after: (fn) => cleanUp.push(fn) });
  tlsSettings = {
    tlsCert: await folder.write("agent.pem", agent.cert),
    tlsKey: await folder.write("agent.key", agent.key),
    tlsCa: await folder.write("ca.pem", ca.cert),
  };
});

describe("createConfigReloader", () => {
  it("applies the allow-list, certificates, audit path, log level and grace at once", async () => {
    const initial = resolve({ ...tlsSettings, allow: ["ops=operator"], auditLog: "/a.jsonl" });
    let next = initial;
    const policy = createAccessPolicy(initial.allow);
    const tls = fakeTls();
    const audit = fakeAudit();
    const { logger, lines } = memoryLogger();
    let graceMs = 0;
    const reloader = createConfigReloader(initial, {
      load: () => Promise.resolve(next),
      policy,
      tls,
      audit,
      logger,
      setGraceMs: (ms) => (graceMs = ms),
    });
    next = resolve({
      ...tlsSettings,
      allow: ["kiosk-7=reader"],
      auditLog: "/b.jsonl",
      logLevel: "warn",
      shutdownGrace: 3,
    });
    const report = await reloader.reload();
    assert.deepEqual(report, {
      applied: ["auditLog", "allow", "tls", "logLevel", "shutdownGrace"],
      needsRestart: [],
    });
    assert.deepEqual([...policy.allowList()], [["kiosk-7", "reader"]]);
    assert.equal(tls.updates.length, 1);
    assert.deepEqual(audit.reopened, ["/b.jsonl"]);
    assert.equal(logger.level, "warn");
    assert.equal(graceMs, 3000);
    assert.equal(reloader.current().auditLog, "/b.jsonl");
    // The "reloaded" line is info, and the level is now warn: nothing logged after the switch.
    assert.deepEqual(
      lines.map((line) => line["msg"]),
      [],
    );
  });

  it("says which changed settings need a restart, and applies the rest", async () => {
    const initial = resolve({ ...tlsSettings, allow: ["ops=operator"] });
    const { logger, lines } = memoryLogger();
    const policy = createAccessPolicy(initial.allow);
    const reloader = createConfigReloader(initial, {
      load: () =>
        Promise.resolve(
          resolve({
            ...tlsSettings,
            allow: ["ops=reader"],
            listen: "127.0.0.1:50062",
            auditLog: "/new.jsonl",
          }),
        ),
      policy,
      tls: fakeTls(),
      audit: undefined,
      logger,
      setGraceMs: () => undefined,
    });
    const report = await reloader.reload();
    assert.deepEqual(report?.needsRestart, ["listen", "auditLog (on or off)"]);
    assert.deepEqual([...policy.allowList()], [["ops", "reader"]]);
    assert.equal(reloader.current().listen.port, 50061, "the listen address in force is kept");
    const warning = lines.find((line) => line["level"] === 40);
    assert.match(String(warning?.["msg"]), /only take effect after a restart: listen, auditLog/);
    const done = lines.find((line) => line["msg"] === "configuration reloaded");
    assert.deepEqual(done?.["allow"], ["ops=reader"]);
    assert.equal(done?.["certificate"], `CN=${HOST}`);
  });

  for (const [name, load, audit, message] of [
    [
      "the configuration does not resolve",
      () => Promise.reject(new ConfigError('agent.json: "allow" must be an array')),
      fakeAudit(),
      /"allow" must be an array/,
    ],
    [
      "a certificate file is broken",
      () =>
        Promise.resolve(
          resolve({
            ...tlsSettings,
            tlsKey: "/nonexistent/agent.key",
            allow: ["ops=reader"],
            auditLog: "/b.jsonl",
          }),
        ),
      fakeAudit(),
      /--tls-key \/nonexistent\/agent\.key: cannot read the file: no such file/,
    ],
    [
      "the audit log cannot be reopened",
      () =>
        Promise.resolve(resolve({ ...tlsSettings, allow: ["ops=reader"], auditLog: "/b.jsonl" })),
      fakeAudit(new Error("EACCES: permission denied, open '/b.jsonl'")),
      /EACCES/,
    ],
  ] as const) {
    it(`changes nothing when ${name}`, async () => {
      const initial = resolve({ ...tlsSettings, allow: ["ops=operator"], auditLog: "/a.jsonl" });
      const policy = createAccessPolicy(initial.allow);
      const tls = fakeTls();
      const { logger, lines } = memoryLogger();
      let graceMs = 0;
      const reloader = createConfigReloader(initial, {
        load,
        policy,
        tls,
        audit,
        logger,
        setGraceMs: (ms) => (graceMs = ms),
      });
      assert.equal(await reloader.reload(), undefined);
      assert.deepEqual([...policy.allowList()], [["ops", "operator"]]);
      assert.deepEqual(tls.updates, []);
      assert.deepEqual(audit.reopened, []);
      assert.equal(graceMs, 0);
      assert.equal(reloader.current(), initial);
      const failure = lines.find((line) => line["level"] === 50);
      assert.equal(
        failure?.["msg"],
        "configuration reload failed; the previous configuration stays in force",
      );
      assert.match(String(failure?.["error"]), message);
    });
  }

  it("runs overlapping reloads one after the other", async () => {
    const initial = resolve({ ...tlsSettings, allow: ["ops=operator"] });
    const order: string[] = [];
    let calls = 0;
    const policy = createAccessPolicy(initial.allow);
    const reloader = createConfigReloader(initial, {
      load: async () => {
        const n = (calls += 1);
        order.push(`load ${n}`);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(`loaded ${n}`);
        return resolve({ ...tlsSettings, allow: [`ops${n}=reader`] });
      },
      policy,
      tls: undefined,
      audit: undefined,
      logger: pino({ enabled: false }),
      setGraceMs: () => undefined,
    });
    await Promise.all([reloader.reload(), reloader.reload()]);
    assert.deepEqual(order, ["load 1", "loaded 1", "load 2", "loaded 2"]);
    assert.deepEqual([...policy.allowList()], [["ops2", "reader"]]);
  });
});
