/**
 * The console's HTTP API over real HTTP and a real SQLite file: health, login and logout, the
 * session cookie's attributes, CSRF, bearer tokens (a revoked one stops at once), the login
 * limits and lockout, the shape and status of every error, and the audit trail of each of these
 * (refusals included), paged and filtered.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createLoginGuard } from "../../console/security/login-guard.js";
import type { ApiErrorBody, AuditPage, WhoAmI } from "../../console/api/types.js";
import { TEST_PASSWORD, startTestConsole } from "../helpers/console-harness.js";
import { createTestCa, pemFolder } from "../helpers/test-pki.js";

const JSON_HEADERS = { "content-type": "application/json" };

async function errorOf(response: Response): Promise<ApiErrorBody["error"]> {
  const body = (await response.json()) as ApiErrorBody;
  assert.equal(typeof body.error.message, "string");
  return body.error;
}

function login(
  console: { fetch: (p: string, i?: RequestInit) => Promise<Response> },
  body: unknown,
) {
  return console.fetch("/api/v1/login", {
    method: "POST",
    headers: JSON_HEADERS,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("console API: health, login, logout", () => {
  it("GET /healthz answers without authentication and without detail", async (t) => {
    const console = await startTestConsole(t);
    const response = await console.fetch("/healthz", {
      headers: { authorization: "Bearer not-a-token" },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  it("a login sets an HttpOnly SameSite=Strict cookie (not Secure over insecure loopback) and answers the CSRF token", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("alice", "operator");
    const response = await login(console, { user: "alice", password: TEST_PASSWORD });
    assert.equal(response.status, 200);
    const cookie = response.headers.getSetCookie()[0] ?? "";
    assert.match(
      cookie,
      /^wmsconsole_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    const body = (await response.json()) as WhoAmI;
    assert.equal(body.user, "alice");
    assert.equal(body.role, "operator");
    assert.equal(body.idleTimeoutSeconds, 1800);
    assert.match(body.csrfToken ?? "", /^[A-Za-z0-9_-]{43}$/);
    const me = await console.fetch("/api/v1/me", {
      headers: { cookie: cookie.split(";")[0] ?? "" },
    });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as WhoAmI).csrfToken, body.csrfToken);
  });

  it("over HTTPS the cookie is Secure and __Host- prefixed, and answers say Strict-Transport-Security", async (t) => {
    const ca = await createTestCa();
    const server = await ca.issueServer(["console.lab.example.com"], ["127.0.0.1"]);
    const client = await ca.issueClient("console.lab.example.com");
    const pem = await pemFolder(t);
    const console = await startTestConsole(t, {
      tlsCert: await pem.write("https.pem", server.cert),
      tlsKey: await pem.write("https.key", server.key),
      ca: await pem.write("ca.pem", ca.cert),
      cert: await pem.write("client.pem", client.cert),
      key: await pem.write("client.key", client.key),
    });
    assert.match(console.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    await console.addUser("alice", "reader");
    const answer = await new Promise<{
      status: number;
      headers: IncomingHttpHeaders;
    }>((resolve, reject) => {
      const call = request(
        `${console.url}/api/v1/login`,
        { method: "POST", ca: ca.cert, headers: JSON_HEADERS, agent: false },
        (response) => {
          response.resume();
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers }),
          );
        },
      );
      call.on("error", reject);
      call.end(JSON.stringify({ user: "alice", password: TEST_PASSWORD }));
    });
    assert.equal(answer.status, 200);
    assert.match(
      answer.headers["set-cookie"]?.[0] ?? "",
      /^__Host-wmsconsole=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/,
    );
    assert.equal(answer.headers["strict-transport-security"], "max-age=31536000");
  });

  it("a wrong user name and a wrong password get the same answer", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("alice", "reader");
    const wrongUser = await login(console, { user: "mallory", password: TEST_PASSWORD });
    const wrongPassword = await login(console, { user: "alice", password: "not the password" });
    assert.equal(wrongUser.status, 401);
    assert.equal(wrongPassword.status, 401);
    assert.deepEqual(await wrongUser.json(), await wrongPassword.json());
    assert.deepEqual(wrongUser.headers.getSetCookie(), []);
  });

  it("logout ends the session: the cookie no longer authenticates", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("alice", "reader");
    const session = await console.login("alice");
    const out = await console.fetch("/api/v1/logout", { method: "POST", headers: session.headers });
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0] ?? "", /Max-Age=0/);
    const after = await console.fetch("/api/v1/me", { headers: { cookie: session.cookie } });
    assert.equal(after.status, 401);
    assert.equal((await errorOf(after)).code, "unauthenticated");
  });

  it("a session idle for longer than the idle timeout has ended", async (t) => {
    let now = Date.now();
    const console = await startTestConsole(
      t,
      {},
      { server: { now: () => now, sessionIdleMs: 60_000 } },
    );
    await console.addUser("alice", "reader");
    const session = await console.login("alice");
    now += 59_000;
    assert.equal(
      (await console.fetch("/api/v1/me", { headers: { cookie: session.cookie } })).status,
      200,
    );
    now += 61_000;
    const response = await console.fetch("/api/v1/me", { headers: { cookie: session.cookie } });
    assert.equal(response.status, 401);
  });
});

describe("console API: CSRF and tokens", () => {
  it("a change made with the cookie but without the CSRF token (or a wrong one) is refused and changes nothing", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("alice", "reader");
    const session = await console.login("alice");
    for (const headers of [
      { cookie: session.cookie },
      { cookie: session.cookie, "x-csrf-token": "A".repeat(43) },
      { cookie: session.cookie, "x-csrf-token": "" },
    ]) {
      const response = await console.fetch("/api/v1/logout", { method: "POST", headers });
      assert.equal(response.status, 403);
      assert.equal((await errorOf(response)).code, "csrf_failed");
    }
    // Still signed in: the refused logouts changed nothing.
    assert.equal(
      (await console.fetch("/api/v1/me", { headers: { cookie: session.cookie } })).status,
      200,
    );
    const denied = (await (
      await console.fetch("/api/v1/audit?action=denied", { headers: { cookie: session.cookie } })
    ).json()) as AuditPage;
    assert.equal(denied.records.length, 3);
    assert.ok(denied.records.every((r) => r.actor === "alice" && r.outcome === "csrf_failed"));
  });

  it("a bearer token authenticates as its account without a CSRF token; revoked, it stops at once", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("robot", "reader");
    const { id, token } = await console.addToken("robot");
    const headers = { authorization: `Bearer ${token}` };
    const me = await console.fetch("/api/v1/me", { headers });
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), { user: "robot", role: "reader", auth: "token" });
    assert.equal(await console.store.revokeToken(id), true);
    const after = await console.fetch("/api/v1/me", { headers });
    assert.equal(after.status, 401);
    assert.deepEqual(await errorOf(after), {
      code: "unauthenticated",
      message: "the token is not valid (unknown or revoked)",
    });
  });

  it("a malformed Authorization header, or a token of a removed account, is unauthenticated", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("robot", "reader");
    const { token } = await console.addToken("robot");
    for (const value of [
      "Basic abc",
      "Bearer",
      `Bearer ${"wmsc_".padEnd(200, "x")}`,
      "Bearer wmsc_x",
    ]) {
      const response = await console.fetch("/api/v1/me", { headers: { authorization: value } });
      assert.equal(response.status, 401, value);
    }
    await console.store.removeAccount("robot");
    const response = await console.fetch("/api/v1/me", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 401);
  });
});

describe("console API: login limits", () => {
  it("five failures in a row lock the account name (existing or not) for every address, even with the right password", async (t) => {
    let now = 1_000_000;
    const console = await startTestConsole(
      t,
      {},
      {
        server: { loginGuard: createLoginGuard({ now: () => now }) },
      },
    );
    await console.addUser("alice", "reader");
    for (const user of ["alice", "nobody"]) {
      for (let i = 0; i < 5; i += 1) {
        assert.equal((await login(console, { user, password: "wrong password!" })).status, 401);
      }
      const locked = await login(console, { user, password: TEST_PASSWORD });
      assert.equal(locked.status, 429);
      assert.equal(locked.headers.get("retry-after"), "900");
      assert.equal((await errorOf(locked)).code, "too_many_attempts");
    }
    now += 900_000;
    assert.equal((await login(console, { user: "alice", password: TEST_PASSWORD })).status, 200);
    const audit = (await (
      await console.fetch("/api/v1/audit?action=login&actor=nobody", {
        headers: { authorization: `Bearer ${(await console.addToken("alice")).token}` },
      })
    ).json()) as AuditPage;
    assert.deepEqual(
      audit.records.map((r) => r.outcome),
      ["too_many_attempts", ...Array<string>(5).fill("invalid_credentials")],
    );
  });

  it("an address with too many failures is refused for any account until its window ends", async (t) => {
    let now = 1_000_000;
    const console = await startTestConsole(
      t,
      {},
      {
        server: {
          loginGuard: createLoginGuard({
            now: () => now,
            maxFailuresPerAddress: 3,
            addressWindowMs: 60_000,
          }),
        },
      },
    );
    await console.addUser("alice", "reader");
    for (const user of ["a", "b", "c"]) {
      assert.equal((await login(console, { user, password: "wrong password!" })).status, 401);
    }
    const blocked = await login(console, { user: "alice", password: TEST_PASSWORD });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.headers.get("retry-after"), "60");
    now += 60_000;
    assert.equal((await login(console, { user: "alice", password: TEST_PASSWORD })).status, 200);
  });
});

describe("console API: login locks across restarts", () => {
  it("a locked name stays locked when the console restarts, until an admin unlocks it", async (t) => {
    // Three consoles in turn on one data folder; each subtest's console is closed as it ends.
    const dataDir = await mkdtemp(join(tmpdir(), "wms-console-locks-"));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    await t.test("the first console locks alice", async (t1) => {
      const console = await startTestConsole(t1, { dataDir });
      await console.addUser("alice", "reader");
      await console.addUser("root", "admin");
      for (let i = 0; i < 5; i += 1) {
        assert.equal(
          (await login(console, { user: "alice", password: "wrong password!" })).status,
          401,
        );
      }
      assert.equal((await login(console, { user: "alice", password: TEST_PASSWORD })).status, 429);
    });
    await t.test("restarted, it still refuses alice; root unlocks her", async (t2) => {
      const console = await startTestConsole(t2, { dataDir });
      const locked = await login(console, { user: "ALICE", password: TEST_PASSWORD });
      assert.equal(locked.status, 429);
      assert.equal((await errorOf(locked)).code, "too_many_attempts");
      const retryAfter = Number(locked.headers.get("retry-after"));
      assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
      const root = await console.login("root");
      const users = (await (
        await console.fetch("/api/v1/users", { headers: { cookie: root.cookie } })
      ).json()) as { users: { name: string; lockedUntil: string | null }[] };
      assert.notEqual(users.users.find((u) => u.name === "alice")?.lockedUntil ?? null, null);
      const unlock = await console.fetch("/api/v1/users/alice/unlock", {
        method: "POST",
        headers: root.headers,
      });
      assert.equal(unlock.status, 204);
    });
    await t.test("restarted again, the unlock held", async (t3) => {
      const console = await startTestConsole(t3, { dataDir });
      assert.equal((await login(console, { user: "alice", password: TEST_PASSWORD })).status, 200);
    });
  });
});

describe("console API: a login lock the store could not keep", () => {
  it("holds in memory until it ends: the store, which never had it, is not asked", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("alice", "reader");
    const store = console.store;
    // The write of each lock fails, as it would after the store's busy timeout.
    store.setLoginLock = () => Promise.reject(new Error("SQLITE_BUSY: database is locked"));
    for (let i = 0; i < 5; i += 1) {
      assert.equal(
        (await login(console, { user: "alice", password: "wrong password!" })).status,
        401,
      );
    }
    assert.equal((await login(console, { user: "alice", password: TEST_PASSWORD })).status, 429);
    assert.equal(await store.loginLock("alice"), undefined);
  });
});

describe("console API: errors", () => {
  it("every error is { error: { code, message } } with its status", async (t) => {
    const console = await startTestConsole(t);
    const cases: [RequestInit & { path?: string }, number, string, RegExp][] = [
      [{ body: "{", headers: JSON_HEADERS }, 400, "bad_request", /not valid JSON/],
      [{ body: "[]", headers: JSON_HEADERS }, 400, "bad_request", /must be a JSON object/],
      [
        {
          body: JSON.stringify({ user: "a", password: "b", role: "admin" }),
          headers: JSON_HEADERS,
        },
        400,
        "bad_request",
        /unknown field "role"/,
      ],
      [
        { body: JSON.stringify({ user: "a" }), headers: JSON_HEADERS },
        400,
        "bad_request",
        /"password" is required/,
      ],
      [
        { body: JSON.stringify({ user: 1, password: "b" }), headers: JSON_HEADERS },
        400,
        "bad_request",
        /"user" must be a string/,
      ],
      [
        { body: JSON.stringify({ user: "a".repeat(65), password: "b" }), headers: JSON_HEADERS },
        400,
        "bad_request",
        /"user" has at most 64/,
      ],
      [
        { body: "user=a", headers: { "content-type": "application/x-www-form-urlencoded" } },
        415,
        "unsupported_media_type",
        /application\/json/,
      ],
      [
        {
          body: JSON.stringify({ user: "a", password: "x".repeat(10_000) }),
          headers: JSON_HEADERS,
        },
        413,
        "payload_too_large",
        /too large/,
      ],
      [
        { body: '{"__proto__": {"x": 1}, "user": "a", "password": "b"}', headers: JSON_HEADERS },
        400,
        "bad_request",
        /./,
      ],
    ];
    for (const [init, status, code, message] of cases) {
      const response = await console.fetch("/api/v1/login", { method: "POST", ...init });
      assert.equal(response.status, status, JSON.stringify(init.body ?? "").slice(0, 60));
      const error = await errorOf(response);
      assert.equal(error.code, code);
      assert.match(error.message, message);
    }
    const missing = await console.fetch("/api/v1/nothing");
    assert.equal(missing.status, 404);
    assert.equal((await errorOf(missing)).code, "not_found");
    const anonymous = await console.fetch("/api/v1/audit");
    assert.equal(anonymous.status, 401);
    assert.equal((await errorOf(anonymous)).code, "unauthenticated");
  });
});

describe("console API: the audit trail", () => {
  it("is newest first, paged with next, filtered by actor, action and host, and refuses bad parameters", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("alice", "reader");
    const { token } = await console.addToken("alice");
    const headers = { authorization: `Bearer ${token}` };
    for (let i = 0; i < 5; i += 1) {
      await console.store.appendAudit({
        actor: i % 2 === 0 ? "bob" : "carol",
        auth: "cookie",
        address: "127.0.0.1",
        action: "action.result",
        outcome: "ok",
        hosts: [`h${i}.lab.example.com`, "all.lab.example.com"],
        detail: { n: i },
      });
    }
    const first = (await (
      await console.fetch("/api/v1/audit?limit=2&action=action.result", { headers })
    ).json()) as AuditPage;
    assert.deepEqual(
      first.records.map((r) => r.detail["n"]),
      [4, 3],
    );
    assert.equal(typeof first.next, "number");
    const second = (await (
      await console.fetch(`/api/v1/audit?limit=2&action=action.result&before=${first.next}`, {
        headers,
      })
    ).json()) as AuditPage;
    assert.deepEqual(
      second.records.map((r) => r.detail["n"]),
      [2, 1],
    );
    const bob = (await (
      await console.fetch("/api/v1/audit?actor=bob", { headers })
    ).json()) as AuditPage;
    assert.deepEqual(
      bob.records.map((r) => r.detail["n"]),
      [4, 2, 0],
    );
    assert.equal(bob.next, undefined);
    const host = (await (
      await console.fetch("/api/v1/audit?host=H3.lab.example.com", { headers })
    ).json()) as AuditPage;
    assert.deepEqual(
      host.records.map((r) => r.detail["n"]),
      [3],
    );
    assert.match(host.records[0]?.time ?? "", /^\d{4}-\d\d-\d\dT/);
    for (const query of [
      "limit=0",
      "limit=1001",
      "limit=x",
      "before=-1",
      "color=red",
      "actor=",
      "actor=a&actor=b",
    ]) {
      const response = await console.fetch(`/api/v1/audit?${query}`, { headers });
      assert.equal(response.status, 400, query);
      assert.equal((await errorOf(response)).code, "bad_request");
    }
  });
});

describe("console: the web UI's files", () => {
  it("serves the built UI under its CSP, index.html for the UI's own paths; the API's 404s stay JSON", async (t) => {
    const ui = await pemFolder(t);
    await ui.write("index.html", "<!doctype html><title>ui</title>");
    await ui.write("app.js", "console.log(1);");
    const console = await startTestConsole(t, {}, { uiDir: ui.dir });
    const index = await console.fetch("/");
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(
      index.headers.get("content-security-policy") ?? "",
      /default-src 'none'; script-src 'self'/,
    );
    assert.equal(await index.text(), "<!doctype html><title>ui</title>");
    const script = await console.fetch("/app.js");
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await script.text(), "console.log(1);");
    assert.equal(
      await (await console.fetch("/hosts/ws1")).text(),
      "<!doctype html><title>ui</title>",
    );
    const missing = await console.fetch("/nothing.js");
    assert.equal(missing.status, 404);
    const api = await console.fetch("/api/v1/nothing");
    assert.equal(api.status, 404);
    assert.equal((await errorOf(api)).code, "not_found");
  });

  it("without a built UI, / says how to build it", async (t) => {
    const empty = await pemFolder(t);
    const console = await startTestConsole(t, {}, { uiDir: empty.dir });
    const page = await console.fetch("/");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /The web UI is not built yet: run <code>npm run build<\/code>/);
  });
});

describe("console API: accounts and tokens (admin)", () => {
  it("an admin lists, adds and removes accounts and makes and revokes tokens; each change is audited", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("ada", "admin");
    const admin = await console.login("ada");
    const json = (response: Response) => response.json() as Promise<Record<string, unknown>>;
    const added = await console.fetch("/api/v1/users", {
      method: "POST",
      headers: admin.headers,
      body: JSON.stringify({ name: "bob", role: "operator", password: TEST_PASSWORD }),
    });
    assert.equal(added.status, 201);
    const users = (await json(await console.fetch("/api/v1/users", { headers: admin.headers })))[
      "users"
    ] as { name: string; role: string }[];
    assert.deepEqual(
      users.map((u) => [u.name, u.role]),
      [
        ["ada", "admin"],
        ["bob", "operator"],
      ],
    );
    const made = await console.fetch("/api/v1/tokens", {
      method: "POST",
      headers: admin.headers,
      body: JSON.stringify({ user: "bob", label: "report" }),
    });
    assert.equal(made.status, 201);
    const token = (await json(made)) as { id: string; token: string; user: string; label: string };
    assert.equal(token.user, "bob");
    assert.match(token.token, /^wmsc_[0-9a-f]{16}_/);
    const bearer = { authorization: `Bearer ${token.token}` };
    assert.equal((await console.fetch("/api/v1/me", { headers: bearer })).status, 200);
    const listed = (
      await json(await console.fetch("/api/v1/tokens?user=bob", { headers: admin.headers }))
    )["tokens"] as { id: string }[];
    assert.deepEqual(
      listed.map((x) => x.id),
      [token.id],
    );
    assert.equal(JSON.stringify(listed).includes(token.token), false);
    // Not an admin: refused, nothing changed.
    const forbidden = await console.fetch("/api/v1/users", { headers: bearer });
    assert.equal(forbidden.status, 403);
    assert.equal((await errorOf(forbidden)).code, "forbidden");
    const revoked = await console.fetch(`/api/v1/tokens/${token.id}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    assert.equal(revoked.status, 204);
    assert.equal((await console.fetch("/api/v1/me", { headers: bearer })).status, 401);
    assert.equal(
      (await console.fetch("/api/v1/users/bob", { method: "DELETE", headers: admin.headers }))
        .status,
      204,
    );
    assert.equal(
      (await console.fetch("/api/v1/users/bob", { method: "DELETE", headers: admin.headers }))
        .status,
      404,
    );
    const self = await console.fetch("/api/v1/users/ada", {
      method: "DELETE",
      headers: admin.headers,
    });
    assert.equal(self.status, 400);
    const trail = (
      await json(await console.fetch("/api/v1/audit?actor=ada", { headers: admin.headers }))
    )["records"] as { action: string }[];
    assert.deepEqual(
      trail.map((r) => r.action).filter((a) => a !== "login"),
      ["user.remove", "token.revoke", "token.create", "user.add"],
    );
  });

  it("an admin changes a role, sets a password, sees a lockout and lifts it; never their own role", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("ada", "admin");
    await console.addUser("bob", "reader");
    const admin = await console.login("ada");
    const bob = await console.login("bob");
    const put = (path: string, body: unknown) =>
      console.fetch(path, { method: "PUT", headers: admin.headers, body: JSON.stringify(body) });
    type User = { name: string; role: string; lockedUntil: string | null };
    const users = async () =>
      (
        (await (await console.fetch("/api/v1/users", { headers: admin.headers })).json()) as {
          users: User[];
        }
      ).users;

    const promoted = await put("/api/v1/users/bob/role", { role: "operator" });
    assert.equal(promoted.status, 200);
    assert.deepEqual(await promoted.json(), { name: "bob", role: "operator" });
    // The session bob has already acts with the new role at its next request.
    const me = (await (await console.fetch("/api/v1/me", { headers: bob.headers })).json()) as {
      role: string;
    };
    assert.equal(me.role, "operator");
    const own = await put("/api/v1/users/ada/role", { role: "reader" });
    assert.equal(own.status, 400);
    assert.match((await errorOf(own)).message, /cannot change their own role/);
    const bad = await put("/api/v1/users/bob/role", { role: "boss" });
    assert.equal(bad.status, 400);
    assert.match((await errorOf(bad)).message, /"role" must be one of reader, operator, admin/);
    assert.equal((await put("/api/v1/users/nobody/role", { role: "reader" })).status, 404);

    // Five wrong passwords lock bob's name; the list says until when.
    for (let i = 0; i < 5; i += 1) {
      const wrong = await console.fetch("/api/v1/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "bob", password: "not the password at all" }),
      });
      assert.equal(wrong.status, 401);
    }
    const locked = (await users()).find((u) => u.name === "bob");
    assert.ok(locked?.lockedUntil !== null && locked?.lockedUntil !== undefined);
    assert.ok(Date.parse(locked.lockedUntil) > Date.now());
    await assert.rejects(console.login("bob"), /429/);
    const unlocked = await console.fetch("/api/v1/users/bob/unlock", {
      method: "POST",
      headers: admin.headers,
    });
    assert.equal(unlocked.status, 204);
    assert.equal((await users()).find((u) => u.name === "bob")?.lockedUntil, null);

    const weak = await put("/api/v1/users/bob/password", { password: "short" });
    assert.equal(weak.status, 400);
    assert.match((await errorOf(weak)).message, /"password": .*at least 12 characters/);
    const reset = await put("/api/v1/users/bob/password", { password: "a new password, long" });
    assert.equal(reset.status, 204);
    assert.equal((await console.fetch("/api/v1/me", { headers: bob.headers })).status, 401);
    await assert.rejects(console.login("bob"), /401/);
    await console.login("bob", "a new password, long");

    const trail = (
      (await (
        await console.fetch("/api/v1/audit?actor=ada", { headers: admin.headers })
      ).json()) as {
        records: { action: string; detail: Record<string, unknown> }[];
      }
    ).records;
    assert.deepEqual(
      trail.filter((r) => r.action.startsWith("user.")).map((r) => [r.action, r.detail["user"]]),
      [
        ["user.passwd", "bob"],
        ["user.unlock", "bob"],
        ["user.role", "bob"],
      ],
    );
  });

  it("refuses bad accounts and tokens precisely", async (t) => {
    const console = await startTestConsole(t);
    await console.addUser("ada", "admin");
    const admin = await console.login("ada");
    const cases: [string, unknown, number, RegExp][] = [
      [
        "/api/v1/users",
        { name: "b b", role: "reader", password: TEST_PASSWORD },
        400,
        /"name": "b b" is not a user name/,
      ],
      ["/api/v1/users", { name: "zoë", role: "reader", password: TEST_PASSWORD }, 400, /ASCII/],
      [
        "/api/v1/users",
        { name: "bob", role: "boss", password: TEST_PASSWORD },
        400,
        /"role" must be one of reader, operator, admin/,
      ],
      [
        "/api/v1/users",
        { name: "bob", role: "reader", password: "short" },
        400,
        /at least 12 characters/,
      ],
      [
        "/api/v1/users",
        { name: "ada", role: "reader", password: TEST_PASSWORD },
        400,
        /there is an account named ada already/,
      ],
      ["/api/v1/users", { name: "bob", role: "reader" }, 400, /"password" is required/],
      ["/api/v1/tokens", { user: "nobody" }, 404, /there is no account named nobody/],
      ["/api/v1/tokens", { user: "ada", label: "x".repeat(129) }, 400, /"label" has at most 128/],
    ];
    for (const [path, body, status, message] of cases) {
      const response = await console.fetch(path, {
        method: "POST",
        headers: admin.headers,
        body: JSON.stringify(body),
      });
      assert.equal(response.status, status, JSON.stringify(body));
      assert.match((await errorOf(response)).message, message);
    }
    assert.equal(
      (await console.fetch("/api/v1/tokens/0123", { method: "DELETE", headers: admin.headers }))
        .status,
      404,
    );
  });
});
