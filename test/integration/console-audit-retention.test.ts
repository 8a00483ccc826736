/**
 * The console's audit trail stays bounded, on a real SQLite file: records older than
 * `--audit-days` are pruned (their host index with them, in batches) by the running console on an
 * injected clock; and a flood of anonymous refusals (no credentials, a login refused by the rate
 * limit) adds a bounded number of records, the rest summed up once their window ends.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { pino } from "pino";
import { AUDIT_PRUNE_BATCH_RECORDS, pruneAudit } from "../../console/audit/retention.js";
import {
  MAX_REFUSAL_RECORDS_PER_ADDRESS,
  REFUSAL_WINDOW_MS,
} from "../../console/audit/refusals.js";
import { resolveConsoleConfig } from "../../console/config/options.js";
import { createLoginGuard } from "../../console/security/login-guard.js";
import { startConsole } from "../../console/service.js";
import { openSqliteStore } from "../../console/store/sqlite-store.js";
import type { ConsoleStore, NewAuditEntry } from "../../console/store/store.js";
import { startTestConsole } from "../helpers/console-harness.js";

const DAY_MS = 86_400_000;
const T0 = Date.parse("2026-11-30T08:00:00Z");

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-console-audit-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function record(time: number, host: string): NewAuditEntry {
  return {
    time: new Date(time),
    actor: "alice",
    auth: "cookie",
    address: "127.0.0.1",
    action: "action.intent",
    outcome: "ok",
    hosts: [host, "shared.lab"],
    detail: { action: "disconnect" },
  };
}

/** `old` records 400 days back, then 3 from yesterday, each naming its own host. */
async function seed(store: ConsoleStore, old: number): Promise<void> {
  for (let i = 0; i < old; i++) await store.appendAudit(record(T0 - 400 * DAY_MS + i, `old${i}`));
  for (let i = 0; i < 3; i++) await store.appendAudit(record(T0 - DAY_MS + i, `new${i}`));
}

/** Rows of the audit's host index, read from the file itself. */
function hostRows(dataDir: string): number {
  const db = new Database(join(dataDir, "console.db"), { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM audit_hosts").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("console audit retention", () => {
  it("pruneAudit removes what is older than the days, with its host index, a batch at a time", async (t) => {
    const dir = await tempDir(t);
    const store = openSqliteStore({ dataDir: dir });
    t.after(() => store.close());
    const old = AUDIT_PRUNE_BATCH_RECORDS * 2 + 7; // three batches, the last one short
    await seed(store, old);
    assert.equal(hostRows(dir), (old + 3) * 2);
    assert.equal(await pruneAudit(store, 365, T0), old);
    const left = await store.queryAudit({ limit: 100 });
    assert.deepEqual(
      left.map((r) => r.hosts[0]),
      ["new2", "new1", "new0"],
    );
    assert.equal(hostRows(dir), 3 * 2);
    assert.deepEqual(await store.queryAudit({ host: "old0", limit: 10 }), []);
    assert.equal((await store.queryAudit({ host: "shared.lab", limit: 10 })).length, 3);
    // Nothing more to do: a second pruning removes nothing.
    assert.equal(await pruneAudit(store, 365, T0), 0);
  });

  it("the console started with --audit-days 30 prunes at start, on its clock", async (t) => {
    const dir = await tempDir(t);
    const dataDir = join(dir, "data");
    const seeded = openSqliteStore({ dataDir });
    await seed(seeded, 50);
    // A record 29 days old stays with --audit-days 30.
    await seeded.appendAudit(record(T0 - 29 * DAY_MS, "month"));
    await seeded.close();
    const running = await startConsole({
      config: resolveConsoleConfig({
        flags: { insecureLoopback: true, listen: "127.0.0.1:0", dataDir, auditDays: "30" },
        env: {},
        file: {},
      }),
      logger: pino({ level: "silent" }),
      background: { now: () => T0, timers: false },
    });
    t.after(() => running.close());
    const hostsLeft = async () =>
      (await running.store.queryAudit({ limit: 1000 })).map((r) => r.hosts[0]);
    let left = await hostsLeft();
    while (left.length > 4) {
      await delay(20); // the pruning runs in the background from start-up
      left = await hostsLeft();
    }
    assert.deepEqual(left, ["month", "new2", "new1", "new0"]);
  });
});

describe("console audit: anonymous refusals", () => {
  it("a flood of requests without credentials adds a few records and, once its window ends, one summary", async (t) => {
    let now = T0 + 1000;
    const console = await startTestConsole(t, {}, { server: { now: () => now } });
    const flood = 300;
    for (let i = 0; i < flood; i++) {
      const response = await console.fetch(i % 3 === 0 ? "/api/v1/sessions" : "/api/v1/hosts");
      assert.equal(response.status, 401);
    }
    const denied = await console.store.queryAudit({ action: "denied", limit: 1000 });
    assert.equal(denied.length, MAX_REFUSAL_RECORDS_PER_ADDRESS);
    assert.ok(denied.every((r) => r.actor === "-" && r.outcome === "unauthenticated"));
    assert.deepEqual(await console.store.queryAudit({ action: "refusals", limit: 10 }), []);

    now += REFUSAL_WINDOW_MS;
    assert.equal((await console.fetch("/api/v1/hosts")).status, 401);
    const [summary, ...more] = await console.store.queryAudit({ action: "refusals", limit: 10 });
    assert.deepEqual(more, []);
    assert.equal(summary?.outcome, "coalesced");
    assert.equal(summary?.address, "127.0.0.1");
    const coalesced = flood - MAX_REFUSAL_RECORDS_PER_ADDRESS;
    assert.equal(summary?.detail["count"], coalesced);
    assert.deepEqual(summary?.detail["outcomes"], { "denied unauthenticated": coalesced });
    const paths = summary?.detail["paths"] as Record<string, number>;
    assert.equal(
      (paths["GET /api/v1/hosts"] ?? 0) + (paths["GET /api/v1/sessions"] ?? 0),
      coalesced,
    );
    // The new window's first refusal is a whole record again.
    assert.equal(
      (await console.store.queryAudit({ action: "denied", limit: 1000 })).length,
      MAX_REFUSAL_RECORDS_PER_ADDRESS + 1,
    );
    // A signed-in account's refusal is never coalesced: it names who tried.
    await console.addUser("rita", "reader");
    const { token } = await console.addToken("rita");
    for (let i = 0; i < 10; i++) {
      const response = await console.fetch("/api/v1/users", {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 403);
    }
    assert.equal((await console.store.queryAudit({ actor: "rita", limit: 100 })).length, 10);
  });

  it("logins refused by the rate limit are bounded alike; the summary is written when the console stops", async (t) => {
    const now = T0;
    const console = await startTestConsole(
      t,
      {},
      { server: { now: () => now, loginGuard: createLoginGuard({ now: () => now }) } },
    );
    const login = (password: string) =>
      console.fetch("/api/v1/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "mallory", password }),
      });
    for (let i = 0; i < 5; i++) assert.equal((await login(`guess ${i}`)).status, 401);
    for (let i = 0; i < 100; i++) assert.equal((await login(`guess ${i}`)).status, 429);
    const refused = await console.store.queryAudit({ action: "login", limit: 1000 });
    // Five wrong passwords, whole (the login limits bound them), then five refusals whole.
    assert.deepEqual(
      refused.map((r) => r.outcome),
      [
        ...Array<string>(MAX_REFUSAL_RECORDS_PER_ADDRESS).fill("too_many_attempts"),
        ...Array<string>(5).fill("invalid_credentials"),
      ],
    );
    const store = console.store;
    await console.app.close(); // stopping writes the current window's summary
    const [summary] = await store.queryAudit({ action: "refusals", limit: 10 });
    assert.equal(summary?.detail["count"], 100 - MAX_REFUSAL_RECORDS_PER_ADDRESS);
    assert.deepEqual(summary?.detail["outcomes"], {
      "login too_many_attempts": 100 - MAX_REFUSAL_RECORDS_PER_ADDRESS,
    });
  });
});
