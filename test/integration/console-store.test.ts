/**
 * The SQLite store in a real file: migrations at start-up (and a newer schema refused), accounts,
 * tokens and web sessions (removing an account removes its tokens and sessions), the audit trail
 * with its host index, and no password or token in clear anywhere in the file.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { hashPassword, verifyPassword } from "../../console/security/passwords.js";
import { newApiToken, newSecret, secretDigest } from "../../console/security/secrets.js";
import { MIGRATIONS } from "../../console/store/migrations.js";
import {
  DATABASE_FILE,
  StoreOpenError,
  openSqliteStore,
} from "../../console/store/sqlite-store.js";
import { MAX_AUDIT_DETAIL_CHARS, StoreConflictError } from "../../console/store/store.js";

async function dataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-console-store-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, "data");
}

it("a new store is made with the latest schema, private to its owner; reopening keeps the data", async (t) => {
  const dir = await dataDir(t);
  const store = openSqliteStore({ dataDir: dir });
  await store.addAccount("alice", "admin", await hashPassword("a long password 1"));
  await store.close();
  const db = new Database(join(dir, DATABASE_FILE));
  assert.equal(db.pragma("user_version", { simple: true }), MIGRATIONS.at(-1)?.version);
  db.close();
  if (process.platform !== "win32") {
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, DATABASE_FILE))).mode & 0o777, 0o600);
  }
  const again = openSqliteStore({ dataDir: dir });
  t.after(() => again.close());
  assert.deepEqual(
    (await again.listAccounts()).map((a) => [a.name, a.role]),
    [["alice", "admin"]],
  );
});

it("a store written by a newer console is refused, not guessed at", async (t) => {
  const dir = await dataDir(t);
  await openSqliteStore({ dataDir: dir }).close();
  const db = new Database(join(dir, DATABASE_FILE));
  db.pragma("user_version = 99");
  db.close();
  assert.throws(
    () => openSqliteStore({ dataDir: dir }),
    (error: unknown) => {
      return (
        error instanceof StoreOpenError &&
        /version 99, newer than this console's/.test(error.message)
      );
    },
  );
});

it("accounts: unique names, password change ends sessions, removal takes tokens and sessions with it", async (t) => {
  const dir = await dataDir(t);
  const store = openSqliteStore({ dataDir: dir });
  t.after(() => store.close());
  const alice = await store.addAccount("alice", "operator", await hashPassword("first password!"));
  await assert.rejects(store.addAccount("alice", "reader", "x"), StoreConflictError);
  const { id, token } = newApiToken();
  await store.addToken({ id, userName: "alice", label: "cron", secretHash: secretDigest(token) });
  await assert.rejects(
    store.addToken({ id: "other", userName: "nobody", label: "", secretHash: "h" }),
    /no account named nobody/,
  );
  const session = newSecret();
  const now = new Date();
  await store.addWebSession({
    idHash: secretDigest(session),
    userId: alice.id,
    csrfToken: "c",
    createdAt: now,
    lastSeenAt: now,
  });
  assert.equal((await store.findWebSession(secretDigest(session)))?.account.name, "alice");
  assert.equal((await store.findToken(secretDigest(token)))?.account.role, "operator");

  assert.equal(await store.setPassword("alice", await hashPassword("second password!")), true);
  assert.equal(await store.findWebSession(secretDigest(session)), undefined);
  const found = await store.findAccount("alice");
  assert.equal(await verifyPassword("second password!", found?.passwordHash ?? ""), true);
  assert.equal(await verifyPassword("first password!", found?.passwordHash ?? ""), false);

  await store.addWebSession({
    idHash: secretDigest(session),
    userId: alice.id,
    csrfToken: "c",
    createdAt: now,
    lastSeenAt: now,
  });
  assert.equal(await store.removeAccount("alice"), true);
  assert.equal(await store.removeAccount("alice"), false);
  assert.equal(await store.findToken(secretDigest(token)), undefined);
  assert.equal(await store.findWebSession(secretDigest(session)), undefined);
  assert.deepEqual(await store.listTokens(), []);
});

it("stale web sessions are removed by idle time and by age", async (t) => {
  const store = openSqliteStore({ dataDir: await dataDir(t) });
  t.after(() => store.close());
  const account = await store.addAccount("a", "reader", "scrypt$x");
  const at = (ms: number) => new Date(1_000_000 + ms);
  await store.addWebSession({
    idHash: "idle",
    userId: account.id,
    csrfToken: "c",
    createdAt: at(0),
    lastSeenAt: at(0),
  });
  await store.addWebSession({
    idHash: "old",
    userId: account.id,
    csrfToken: "c",
    createdAt: at(0),
    lastSeenAt: at(500),
  });
  await store.addWebSession({
    idHash: "fresh",
    userId: account.id,
    csrfToken: "c",
    createdAt: at(400),
    lastSeenAt: at(500),
  });
  assert.equal(await store.removeStaleWebSessions(at(100), at(300)), 2);
  assert.notEqual(await store.findWebSession("fresh"), undefined);
});

it("login locks: set, moved, read, lifted, ended ones removed, kept across a reopening", async (t) => {
  const dir = await dataDir(t);
  const store = openSqliteStore({ dataDir: dir });
  const at = (ms: number) => new Date(2_000_000 + ms);
  await store.setLoginLock({ name: "érin", until: at(100) });
  await store.setLoginLock({ name: "dave", until: at(50) });
  await store.setLoginLock({ name: "dave", until: at(900) });
  await store.setLoginLock({ name: "gone", until: at(200) });
  // Lifting a lock answers when it ended; one read by the key sees a lock, ended or not.
  assert.deepEqual(await store.loginLock("gone"), { name: "gone", until: at(200) });
  assert.deepEqual(await store.removeLoginLock("gone"), at(200));
  assert.equal(await store.loginLock("gone"), undefined);
  assert.equal(await store.removeLoginLock("gone"), undefined);
  assert.equal(await store.removeLoginLock("nobody"), undefined);
  assert.deepEqual(await store.loginLocks(at(0)), [
    { name: "dave", until: at(900) },
    { name: "érin", until: at(100) },
  ]);
  await store.close();
  const again = openSqliteStore({ dataDir: dir });
  t.after(() => again.close());
  // A lock that ended is no lock, and is removed.
  assert.deepEqual(await again.loginLocks(at(100)), [{ name: "dave", until: at(900) }]);
  assert.deepEqual(await again.loginLocks(at(0)), [{ name: "dave", until: at(900) }]);
});

it("the file holds no password and no token in clear", async (t) => {
  const dir = await dataDir(t);
  const store = openSqliteStore({ dataDir: dir });
  const password = "a very particular password";
  await store.addAccount("alice", "admin", await hashPassword(password));
  const { id, token } = newApiToken();
  await store.addToken({ id, userName: "alice", label: "l", secretHash: secretDigest(token) });
  const session = newSecret();
  const account = await store.findAccount("alice");
  await store.addWebSession({
    idHash: secretDigest(session),
    userId: account?.id ?? 0,
    csrfToken: "c",
    createdAt: new Date(),
    lastSeenAt: new Date(),
  });
  await store.close();
  for (const file of await readdir(dir)) {
    const content = (await readFile(join(dir, file))).toString("latin1");
    assert.equal(content.includes(password), false, file);
    assert.equal(content.includes(token), false, file);
    assert.equal(content.includes(token.slice(-43)), false, file);
    assert.equal(content.includes(session), false, file);
  }
});

it("the audit trail keeps at most MAX_AUDIT_DETAIL_CHARS of a record's detail, whoever wrote it", async (t) => {
  const store = openSqliteStore({ dataDir: await dataDir(t) });
  t.after(() => store.close());
  const record = (detail: Record<string, unknown>) => ({
    actor: "alice",
    auth: "token" as const,
    address: "127.0.0.1",
    action: "action.result",
    outcome: "ok",
    hosts: ["lab-01.school.example"],
    detail,
  });
  const fits = { method: "POST", path: "/api/v1/actions", note: "x".repeat(16_000) };
  const huge = {
    method: "POST",
    path: `/${"p".repeat(400)}`,
    body: "y".repeat(MAX_AUDIT_DETAIL_CHARS),
  };
  const hugeWithoutRequest = { policy: "evening", results: ["z".repeat(MAX_AUDIT_DETAIL_CHARS)] };
  // An intent of 1,000 listed hosts: its list is left out, its action and filter kept.
  const hosts = Array.from({ length: 1000 }, (_, i) => `pc-${i}.lab-01.school.example`);
  const intent = {
    method: "POST",
    path: "/api/v1/actions",
    action: "disconnect",
    whatIf: false,
    hosts,
    filter: { states: ["DISCONNECTED"] },
    message: "m".repeat(3_000),
  };
  // Only small fields, too many of them: the summary.
  const manySmall = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`field${i}`, i]));
  await store.appendAudit(record(fits));
  await store.appendAudits([
    record(huge),
    record(hugeWithoutRequest),
    record(intent),
    record(manySmall),
  ]);
  const [fifth, fourth, third, second, first] = await store.queryAudit({ limit: 5 });
  assert.deepEqual(first?.detail, fits);
  const size = (value: unknown) => JSON.stringify(value).length;
  assert.deepEqual(second?.detail, {
    method: "POST",
    path: `/${"p".repeat(400)}`,
    omitted: { body: size(huge.body) },
  });
  assert.deepEqual(third?.detail, {
    policy: "evening",
    omitted: { results: size(hugeWithoutRequest.results) },
  });
  assert.deepEqual(fourth?.detail, {
    ...Object.fromEntries(Object.entries(intent).filter(([key]) => key !== "hosts")),
    omitted: { hosts: size(hosts) },
  });
  assert.deepEqual(fifth?.detail, {
    truncated: `${size(manySmall)} characters of detail, cut to this summary`,
  });
  for (const r of [second, third, fourth, fifth]) {
    assert.ok(size(r?.detail) <= MAX_AUDIT_DETAIL_CHARS, `${r?.id}: ${size(r?.detail)}`);
  }
  // The record itself (who, what, which hosts) is whole.
  assert.deepEqual(third?.hosts, ["lab-01.school.example"]);
  assert.equal(third?.actor, "alice");
});
