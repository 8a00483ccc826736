/**
 * The console's settings: flags > WMSCONSOLE_* > config file > defaults, and a precise
 * ConsoleConfigError for each bad value (the command exits 2 on it, before binding).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  ConsoleConfigError,
  resolveConsoleConfig,
  resolveStoreConfig,
  settingsFromEnvironment,
  settingsFromFile,
  type ConsoleSettings,
} from "../../console/config/options.js";

const TLS: ConsoleSettings = {
  tlsCert: "https.pem",
  tlsKey: "https.key",
  ca: "ca.pem",
  cert: "console.pem",
  key: "console.key",
  dataDir: "/var/lib/wms-console",
};

/** `settings` without `key`. */
function without(settings: ConsoleSettings, key: keyof ConsoleSettings): ConsoleSettings {
  const copy = { ...settings };
  delete copy[key];
  return copy;
}

function resolve(flags: ConsoleSettings, env: ConsoleSettings = {}, file: ConsoleSettings = {}) {
  return resolveConsoleConfig({ flags, env, file, filePath: "console.json" });
}

it("defaults: 127.0.0.1:8443 over HTTPS, no inventory, log level info", () => {
  const config = resolve(TLS);
  assert.deepEqual(config.listen, { host: "127.0.0.1", port: 8443, text: "127.0.0.1:8443" });
  assert.deepEqual(config.https, { cert: "https.pem", key: "https.key" });
  assert.deepEqual(config.agentTls, { ca: "ca.pem", cert: "console.pem", key: "console.key" });
  assert.deepEqual(config.inventories, []);
  assert.equal(config.insecureLoopback, false);
  assert.equal(config.logLevel, "info");
});

it("flags win over the environment, which wins over the file", () => {
  const env = settingsFromEnvironment({
    WMSCONSOLE_LISTEN: "127.0.0.1:9000",
    WMSCONSOLE_LOG_LEVEL: "debug",
    WMSCONSOLE_INVENTORY: "a.txt, b.txt,",
    WMSCONSOLE_DATA_DIR: "",
  });
  assert.deepEqual(env, {
    listen: "127.0.0.1:9000",
    logLevel: "debug",
    inventory: ["a.txt", "b.txt"],
  });
  const file = settingsFromFile(
    { listen: "0.0.0.0:1", logLevel: "warn", dataDir: "/file", inventory: ["c.txt"] },
    "console.json",
  );
  const config = resolve({ ...without(TLS, "dataDir"), listen: "[::1]:8443" }, env, file);
  assert.equal(config.listen.text, "[::1]:8443");
  assert.equal(config.logLevel, "debug");
  assert.deepEqual(config.inventories, ["a.txt", "b.txt"]);
  assert.equal(config.dataDir, "/file");
});

it("insecure loopback needs neither HTTPS nor agent credentials, and excludes HTTPS", () => {
  const config = resolve({ insecureLoopback: true, dataDir: "d" });
  assert.equal(config.https, undefined);
  assert.equal(config.agentTls, undefined);
  assert.equal(resolve({ dataDir: "d" }, { insecureLoopback: "yes" }).insecureLoopback, true);
  assert.throws(
    () => resolve({ ...TLS, insecureLoopback: true }),
    /--tls-cert and --insecure-loopback exclude each other/,
  );
});

it("each bad value is a ConsoleConfigError naming its source", () => {
  const cases: [ConsoleSettings, ConsoleSettings, RegExp][] = [
    [{ ...TLS, listen: "nowhere" }, {}, /^--listen: "nowhere" is not HOST:PORT/],
    [{ ...TLS, listen: "h:70000" }, {}, /is not HOST:PORT/],
    [{ ...TLS, listen: "[h]:1" }, {}, /is not HOST:PORT|not an IPv6/],
    [{ ...TLS, listen: "bad_name!:1" }, {}, /not a valid host name/],
    [TLS, { listen: "x" }, /^WMSCONSOLE_LISTEN: "x"/],
    [{ ...TLS, logLevel: "loud" }, {}, /"loud" is not a level/],
    [without(TLS, "tlsKey"), {}, /HTTPS needs both --tls-cert and --tls-key/],
    [{ dataDir: "d" }, {}, /no HTTPS configured/],
    [without(TLS, "key"), {}, /need all three of --ca, --cert and --key/],
    [{ tlsCert: "a", tlsKey: "b", dataDir: "d" }, {}, /no agent credentials/],
    [without(TLS, "dataDir"), {}, /no store: give --data-dir/],
    [{ insecureLoopback: "perhaps", dataDir: "d" }, {}, /"perhaps" is not a boolean/],
    [{ ...TLS, inventory: [" "] }, {}, /an empty file name/],
  ];
  for (const [flags, env, message] of cases) {
    assert.throws(
      () => resolve(flags, env),
      (error: unknown) => error instanceof ConsoleConfigError && message.test(error.message),
      JSON.stringify(flags),
    );
  }
});

it("a config file is an object of known settings of the right types", () => {
  for (const [content, message] of [
    [[], /must hold a JSON object/],
    [{ colour: "red" }, /unknown setting "colour"/],
    [{ inventory: "a.txt" }, /"inventory" must be an array/],
    [{ insecureLoopback: "true" }, /"insecureLoopback" must be true or false/],
    [{ listen: 8443 }, /"listen" must be a non-empty string/],
  ] as const) {
    assert.throws(() => settingsFromFile(content, "c.json"), message);
  }
});

it("the user and token commands need only the data dir", () => {
  assert.deepEqual(resolveStoreConfig({ flags: { dataDir: "d" }, env: {}, file: {} }), {
    dataDir: "d",
    logLevel: "info",
  });
  assert.throws(() => resolveStoreConfig({ flags: {}, env: {}, file: {} }), /no store/);
});

it("--history-days: 90 by default, flags > environment > file, whole days 1..3660 or exit 2", () => {
  assert.equal(resolve(TLS).historyDays, 90);
  assert.equal(
    resolve({ ...TLS, historyDays: "30" }, { historyDays: "60" }, { historyDays: 7 }).historyDays,
    30,
  );
  assert.equal(
    resolve(TLS, settingsFromEnvironment({ WMSCONSOLE_HISTORY_DAYS: "60" })).historyDays,
    60,
  );
  assert.equal(resolve(TLS, {}, settingsFromFile({ historyDays: 7 }, "c.json")).historyDays, 7);
  for (const [value, source] of [
    ["0", "--history-days"],
    ["1.5", "--history-days"],
    ["3661", "--history-days"],
    ["ninety", "--history-days"],
  ] as const) {
    assert.throws(
      () => resolve({ ...TLS, historyDays: value }),
      (error: unknown) =>
        error instanceof ConsoleConfigError &&
        error.message.startsWith(`${source}: "${value}" is not a number of days 1..3660`),
    );
  }
  assert.throws(
    () => resolve(TLS, { historyDays: "-1" }),
    /^ConsoleConfigError: WMSCONSOLE_HISTORY_DAYS: "-1" is not a number of days/,
  );
  assert.throws(
    () => settingsFromFile({ historyDays: true }, "c.json"),
    /"historyDays" must be a whole number of days/,
  );
});

it("--audit-days: 365 by default, flags > environment > file, whole days 1..3660 or exit 2", () => {
  assert.equal(resolve(TLS).auditDays, 365);
  assert.equal(
    resolve({ ...TLS, auditDays: "30" }, { auditDays: "60" }, { auditDays: 7 }).auditDays,
    30,
  );
  assert.equal(
    resolve(TLS, settingsFromEnvironment({ WMSCONSOLE_AUDIT_DAYS: "60" })).auditDays,
    60,
  );
  assert.equal(resolve(TLS, {}, settingsFromFile({ auditDays: 7 }, "c.json")).auditDays, 7);
  assert.equal(resolve({ ...TLS, auditDays: " 3660 " }).auditDays, 3660);
  for (const value of ["0", "1.5", "3661", "a year", "", "1e3", "-1"]) {
    assert.throws(
      () => resolve({ ...TLS, auditDays: value }),
      (error: unknown) =>
        error instanceof ConsoleConfigError &&
        error.message ===
          `--audit-days: "${value}" is not a number of days 1..3660 (whole days of audit trail to keep)`,
      value,
    );
  }
  assert.throws(
    () => resolve(TLS, {}, settingsFromFile({ auditDays: 0 }, "c.json")),
    /^ConsoleConfigError: console\.json: auditDays: "0" is not a number of days/,
  );
  assert.throws(
    () => settingsFromFile({ auditDays: [365] }, "c.json"),
    /"auditDays" must be a whole number of days/,
  );
  // The history's retention is its own: one does not set the other.
  assert.equal(resolve({ ...TLS, auditDays: "30" }).historyDays, 90);
});
