/**
 * `wms-console` as users run it (bin/wms-console.js, the bundle): the `user` and `token`
 * commands on a real store, bad configuration refused with exit 2 before anything is bound, and
 * the service serving until SIGTERM, with a token made and revoked by the command line while it
 * runs (revoked, it stops at once), and SIGHUP reading the inventory again.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { AuditPage, HostList } from "../../console/api/types.js";
import { openSqliteStore } from "../../console/store/sqlite-store.js";
import { CONSOLE_BIN } from "../helpers/commands.js";

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `wms-console ...args` to its end, with `input` on standard input. */
function run(args: readonly string[], input = "", env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONSOLE_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wms-console-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const PASSWORD = "correct horse battery staple\n";

/** A `wms-console` service run by a test: the child, its URL and how it ends. */
interface ServingConsole {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly url: string;
  readonly exited: Promise<number | null>;
}

/**
 * Starts `wms-console --insecure-loopback --listen 127.0.0.1:0 ...args` and waits until it logs
 * that it serves; each log line (JSON) also goes to `onLine`. Killed at the test's end if alive.
 */
async function serveConsole(
  t: TestContext,
  args: readonly string[],
  onLine: (line: Record<string, unknown>) => void = () => {},
): Promise<ServingConsole> {
  const child = spawn(
    process.execPath,
    [CONSOLE_BIN, "--insecure-loopback", "--listen", "127.0.0.1:0", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed["msg"] === "console serving" && typeof parsed["url"] === "string") {
        resolve(parsed["url"]);
      }
      onLine(parsed);
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}`)));
  });
  return { child, url, exited };
}

describe("wms-console user and token", () => {
  it("user add, list, passwd, remove; each change in the audit trail as cli:USER", async (t) => {
    const data = ["--data-dir", join(await tempDir(t), "data")];
    const added = await run(
      ["user", "add", "alice", "--role", "operator", "--password-stdin", ...data],
      PASSWORD,
    );
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stdout, "added alice (operator)\n");
    const listed = await run(["user", "list", "-o", "json", ...data]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { name: string; role: string }[]).map((a) => [a.name, a.role]),
      [["alice", "operator"]],
    );
    const table = await run(["user", "list", ...data]);
    assert.match(
      table.stdout,
      /^NAME +ROLE +CREATED +PASSWORD CHANGED +LOCKED UNTIL\nalice +operator +\d{4}-\S+ +\d{4}-\S+ +-\n/,
    );
    // A lock a console kept in the store (its key is the name in lower case) is shown.
    const store = openSqliteStore({ dataDir: data[1] ?? "" });
    await store.setLoginLock({ name: "alice", until: new Date("2099-01-02T03:04:05.000Z") });
    await store.close();
    assert.match((await run(["user", "list", ...data])).stdout, / 2099-01-02T03:04:05.000Z\n$/);
    assert.equal(
      (
        JSON.parse((await run(["user", "list", "-o", "json", ...data])).stdout) as {
          lockedUntil: string | null;
        }[]
      )[0]?.lockedUntil,
      "2099-01-02T03:04:05.000Z",
    );
    const passwd = await run(
      ["user", "passwd", "alice", "--password-stdin", ...data],
      "another long password\n",
    );
    assert.equal(passwd.status, 0, passwd.stderr);
    const removed = await run(["user", "remove", "alice", ...data]);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal((await run(["user", "list", "-o", "json", ...data])).stdout, "[]\n");
  });

  it("refuses bad input with exit 2 and changes nothing", async (t) => {
    const data = ["--data-dir", join(await tempDir(t), "data")];
    assert.equal(
      (
        await run(
          ["user", "add", "alice", "--role", "reader", "--password-stdin", ...data],
          PASSWORD,
        )
      ).status,
      0,
    );
    const cases: [string[], string, RegExp][] = [
      [
        ["user", "add", "bob", "--role", "boss", "--password-stdin", ...data],
        PASSWORD,
        /"boss" is not a role/,
      ],
      [
        ["user", "add", "alice", "--role", "reader", "--password-stdin", ...data],
        PASSWORD,
        /there is an account named alice already/,
      ],
      [
        ["user", "add", "bob", "--role", "reader", "--password-stdin", ...data],
        "short\n",
        /at least 12 characters; nothing changed/,
      ],
      [
        ["user", "add", "bob", "--role", "reader", ...data],
        "",
        /no terminal to ask for the password on: pipe it in with --password-stdin/,
      ],
      [
        ["user", "add", "b b", "--role", "reader", "--password-stdin", ...data],
        PASSWORD,
        /is not a user name/,
      ],
      [
        ["user", "add", "bob", "--role", "reader", "--password-stdin"],
        PASSWORD,
        /no store: give --data-dir/,
      ],
      [["user", "remove", "nobody", ...data], "", /there is no account named nobody/],
      [["user", "unlock", "nobody", ...data], "", /there is no account named nobody/],
      [["user", "unlock", "alice", "--force", ...data], "", /unknown option '--force'/],
      [["user", "unlock", ...data], "", /missing required argument 'name'/],
      [
        ["user", "passwd", "nobody", "--password-stdin", ...data],
        PASSWORD,
        /there is no account named nobody/,
      ],
      [["token", "create", "--user", "nobody", ...data], "", /there is no account named nobody/],
      [["token", "revoke", "0123456789abcdef", ...data], "", /there is no token 0123456789abcdef/],
      [["user", "frobnicate", ...data], "", /unknown command 'frobnicate'/],
    ];
    for (const [args, input, message] of cases) {
      const result = await run(args, input);
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const listed = JSON.parse(
      (await run(["user", "list", "-o", "json", ...data])).stdout,
    ) as unknown[];
    assert.equal(listed.length, 1);
  });

  it("token create prints the token once; token list shows its id and label, never the secret", async (t) => {
    const data = ["--data-dir", join(await tempDir(t), "data")];
    await run(["user", "add", "robot", "--role", "reader", "--password-stdin", ...data], PASSWORD);
    const created = await run([
      "token",
      "create",
      "--user",
      "robot",
      "--label",
      "nightly",
      ...data,
    ]);
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^wmsc_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /shown this once/);
    const listed = await run(["token", "list", "-o", "json", ...data]);
    const tokens = JSON.parse(listed.stdout) as { id: string; user: string; label: string }[];
    assert.deepEqual(
      tokens.map((x) => [x.user, x.label]),
      [["robot", "nightly"]],
    );
    assert.equal(token.includes(tokens[0]?.id ?? "none"), true);
    assert.equal(listed.stdout.includes(token), false);
    const revoked = await run(["token", "revoke", tokens[0]?.id ?? "", ...data]);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.equal((await run(["token", "list", "-o", "json", ...data])).stdout, "[]\n");
  });
});

describe("wms-console service", () => {
  it("refuses bad configuration with exit 2 before binding", async (t) => {
    const dir = await tempDir(t);
    const data = ["--data-dir", join(dir, "data")];
    const notPem = join(dir, "not.pem");
    await writeFile(notPem, "hello\n");
    const badInventory = join(dir, "bad.txt");
    await writeFile(badInventory, "not a host name!\n");
    const remote = join(dir, "remote.txt");
    await writeFile(remote, "ws1.lab.example.com 127.0.0.1:50061\nws2.lab.example.com\n");
    const badConfig = join(dir, "bad.json");
    await writeFile(badConfig, "{ nope");
    const unknownSetting = join(dir, "unknown.json");
    await writeFile(unknownSetting, JSON.stringify({ port: 1 }));
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [[...data], {}, /no HTTPS configured/],
      [["--insecure-loopback"], {}, /no store: give --data-dir/],
      [
        ["--insecure-loopback", "--listen", "nowhere", ...data],
        {},
        /--listen: "nowhere" is not HOST:PORT/,
      ],
      [
        ["--insecure-loopback", "--listen", "0.0.0.0:0", ...data],
        {},
        /loopback addresses only, but "0.0.0.0"/,
      ],
      [
        ["--insecure-loopback", ...data],
        { WMSCONSOLE_LISTEN: "192.0.2.1:1" },
        /loopback addresses only/,
      ],
      [
        [
          "--tls-cert",
          notPem,
          "--tls-key",
          notPem,
          "--ca",
          notPem,
          "--cert",
          notPem,
          "--key",
          notPem,
          ...data,
        ],
        {},
        /--tls-cert .*not\.pem: not a PEM certificate/,
      ],
      [
        [
          "--tls-cert",
          join(dir, "missing.pem"),
          "--tls-key",
          notPem,
          "--ca",
          notPem,
          "--cert",
          notPem,
          "--key",
          notPem,
          ...data,
        ],
        {},
        /--tls-cert .*missing\.pem: cannot read it/,
      ],
      [
        ["--insecure-loopback", "--listen", "127.0.0.1:0", "--inventory", badInventory, ...data],
        {},
        /--inventory .*bad\.txt:1/,
      ],
      [
        [
          "--insecure-loopback",
          "--listen",
          "127.0.0.1:0",
          "--inventory",
          join(dir, "none.txt"),
          ...data,
        ],
        {},
        /none\.txt: cannot read the inventory/,
      ],
      [
        ["--insecure-loopback", "--listen", "127.0.0.1:0", "--inventory", remote, ...data],
        {},
        /--inventory ws2\.lab\.example\.com: without --ca, --cert and --key the console dials agents without TLS, on loopback addresses only/,
      ],
      [["--config", badConfig], {}, /bad\.json: not valid JSON/],
      [["--config", unknownSetting], {}, /unknown setting "port"/],
      [["--log-level", "loud"], {}, /invalid/],
      [
        ["--insecure-loopback", ...data],
        { WMSCONSOLE_LOG_LEVEL: "loud" },
        /WMSCONSOLE_LOG_LEVEL: "loud" is not a level/,
      ],
      [
        ["--insecure-loopback", "--history-days", "0", ...data],
        {},
        /--history-days: "0" is not a number of days 1\.\.3660/,
      ],
      [
        ["--insecure-loopback", ...data],
        { WMSCONSOLE_AUDIT_DAYS: "a year" },
        /WMSCONSOLE_AUDIT_DAYS: "a year" is not a number of days 1\.\.3660 \(whole days of audit trail to keep\)/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await run(args, "", env);
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
    }
  });

  it("serves until SIGTERM; a token made by the command line works at once, and stops at once when revoked", async (t) => {
    const data = ["--data-dir", join(await tempDir(t), "data")];
    await run(["user", "add", "robot", "--role", "reader", "--password-stdin", ...data], PASSWORD);
    const { child, url, exited } = await serveConsole(t, data);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: "ok" });
    const token = (await run(["token", "create", "--user", "robot", ...data])).stdout.trim();
    const headers = { authorization: `Bearer ${token}` };
    assert.equal((await fetch(`${url}/api/v1/me`, { headers })).status, 200);
    const [listed] = JSON.parse((await run(["token", "list", "-o", "json", ...data])).stdout) as {
      id: string;
    }[];
    assert.equal((await run(["token", "revoke", listed?.id ?? "", ...data])).status, 0);
    assert.equal((await fetch(`${url}/api/v1/me`, { headers })).status, 401);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  });

  it("user unlock lifts a lock the running console holds: the right password logs in at once, and the failures start again", async (t) => {
    const data = ["--data-dir", join(await tempDir(t), "data")];
    for (const [name, role] of [
      ["alice", "reader"],
      ["root", "admin"],
    ] as const) {
      const added = await run(
        ["user", "add", name, "--role", role, "--password-stdin", ...data],
        PASSWORD,
      );
      assert.equal(added.status, 0, added.stderr);
    }
    const { child, url, exited } = await serveConsole(t, data);
    const login = async (password: string) =>
      (
        await fetch(`${url}/api/v1/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user: "alice", password }),
        })
      ).status;
    const fail = async (times: number) => {
      for (let i = 0; i < times; i += 1) assert.equal(await login("wrong password!"), 401);
    };
    const right = PASSWORD.trim();
    const unlock = () => run(["user", "unlock", "alice", ...data]);

    await fail(5);
    assert.equal(await login(right), 429, "five failures in a row lock alice");
    const unlocked = await unlock();
    assert.equal(unlocked.status, 0, unlocked.stderr);
    assert.match(
      unlocked.stdout,
      /^unlocked alice \(it was locked until \d{4}-\d\d-\d\dT\S+Z\)\n$/,
    );
    assert.equal(await login(right), 200, "the console obeys the unlock at once");
    const again = await unlock();
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, "alice was not locked; nothing changed\n");

    // Locked again and unlocked: the failures before the unlock do not count. Four failures
    // leave alice unlocked (one failure would lock her again if they did), the fifth locks her.
    await fail(5);
    assert.equal(await login(right), 429);
    assert.equal((await unlock()).status, 0);
    await fail(4);
    assert.deepEqual(
      (
        JSON.parse((await run(["user", "list", "-o", "json", ...data])).stdout) as {
          name: string;
          lockedUntil: string | null;
        }[]
      ).map((a) => [a.name, a.lockedUntil]),
      [
        ["alice", null],
        ["root", null],
      ],
    );
    await fail(1);
    assert.equal(await login(right), 429);

    // Each lift is in the console's audit trail, as done by the command line.
    const token = (await run(["token", "create", "--user", "root", ...data])).stdout.trim();
    const audit = (await (
      await fetch(`${url}/api/v1/audit?action=user.unlock`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as AuditPage;
    assert.deepEqual(
      audit.records.map((r) => [r.auth, r.actor.startsWith("cli:"), r.detail["user"]]),
      [
        ["cli", true, "alice"],
        ["cli", true, "alice"],
      ],
    );
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  });

  it(
    "SIGHUP reads the inventory again: a change the file watch cannot see reaches the host list",
    { skip: process.platform === "win32" ? "no SIGHUP on Windows" : false, timeout: 120_000 },
    async (t) => {
      const dir = await tempDir(t);
      const data = ["--data-dir", join(dir, "data")];
      await run(
        ["user", "add", "robot", "--role", "reader", "--password-stdin", ...data],
        PASSWORD,
      );
      const token = (await run(["token", "create", "--user", "robot", ...data])).stdout.trim();
      // The console watches the folder of the path it is given (inotify on Linux); the file
      // itself is behind a symlink in another folder, so writing it is no event the watch hears:
      // only SIGHUP can bring the change in, as on a file system without change events.
      await mkdir(join(dir, "real"));
      await mkdir(join(dir, "conf"));
      const real = join(dir, "real", "hosts.txt");
      await writeFile(real, "one.lab.test 127.0.0.1:9\ntwo.lab.test 127.0.0.1:9\n");
      await symlink(real, join(dir, "conf", "hosts.txt"));
      const reloads: Record<string, unknown>[] = [];
      const { child, url, exited } = await serveConsole(
        t,
        ["--inventory", join(dir, "conf", "hosts.txt"), ...data],
        (line) => {
          if (line["msg"] === "inventory reloaded") reloads.push(line);
        },
      );
      const hostNames = async () => {
        const response = await fetch(`${url}/api/v1/hosts`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(response.status, 200);
        return ((await response.json()) as HostList).hosts.map((h) => h.host);
      };
      assert.deepEqual(await hostNames(), ["one.lab.test", "two.lab.test"]);

      await writeFile(real, "two.lab.test 127.0.0.1:9\nthree.lab.test 127.0.0.1:9\n");
      child.kill("SIGHUP");
      let names = await hostNames();
      while (names.includes("one.lab.test")) {
        await delay(20); // polling the API: the reload has no other sign outside the process
        names = await hostNames();
      }
      assert.deepEqual(names, ["two.lab.test", "three.lab.test"]);
      assert.deepEqual(reloads, [
        {
          ...reloads[0],
          reason: "SIGHUP",
          added: ["three.lab.test"],
          removed: ["one.lab.test"],
        },
      ]);
      // Still serving after the reload; SIGTERM still stops it cleanly.
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    },
  );
});
