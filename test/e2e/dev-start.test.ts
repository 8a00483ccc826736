/**
 * `npm start` (scripts/dev-start.ts) as a newcomer meets it: the agent, a simulated classroom
 * fleet, and the console on a loopback URL with a development admin whose password is in a file;
 * the admin signs in and sees every host online; one SIGINT stops everything it started. The
 * PKI and the console's store go to a temporary project (`WMSFLEET_DEV_DIR`), the agent and the
 * console to free ports, and the fleet is 3 hosts, so the checkout and its ports are left alone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import type { HostList } from "../../console/api/types.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it("starts the agent, a classroom fleet and the console with a development admin; SIGINT stops them all", async (t) => {
  const project = await mkdtemp(join(tmpdir(), "wmsfleet-dev-start-"));
  t.after(() => rm(project, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/dev-start.ts", "--listen", "127.0.0.1:0", "--shutdown-grace", "5"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        WMSFLEET_DEV_DIR: join(project, ".wmsctl"),
        WMSFLEET_DEV_FLEET_SIZE: "3",
        WMSFLEET_DEV_CONSOLE_LISTEN: "127.0.0.1:0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const pids: number[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const record = JSON.parse(line) as { msg?: string; pid?: number };
    if (record.msg === "agent listening" || record.msg === "console serving") {
      if (record.pid !== undefined) pids.push(record.pid);
    }
  });
  let stderr = "";
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr }).on("line", (line) => {
      stderr += `${line}\n`;
      const url =
        /^dev: console: (http:\/\/127\.0\.0\.1:\d+) {2}\(sign in as admin; the password is in (.+)\)$/.exec(
          line,
        );
      if (url?.[1] !== undefined) resolve(url[1]);
    });
    void exited.then(([code]) => reject(new Error(`dev-start exited with ${code}: ${stderr}`)));
  });
  const url = await ready;
  assert.match(stderr, /dev: 3 classroom hosts with simulated people \(.*console\/fleet\.txt\)/);
  assert.match(stderr, /dev: Ctrl-C stops everything/);
  const passwordFile = join(project, ".wmsctl", "console", "admin-password");
  if (process.platform !== "win32") assert.equal((await stat(passwordFile)).mode & 0o777, 0o600);
  const password = (await readFile(passwordFile, "utf8")).trim();
  const login = await fetch(`${url}/api/v1/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: "admin", password }),
  });
  assert.equal(login.status, 200);
  const cookie = (login.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  // The fleet comes up on its own time: ask until every host is online (bounded far above it).
  let hosts: HostList["hosts"] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await delay(100)) {
    hosts = (
      (await (await fetch(`${url}/api/v1/hosts`, { headers: { cookie } })).json()) as HostList
    ).hosts;
    if (hosts.length === 3 && hosts.every((h) => h.status === "online")) break;
  }
  assert.deepEqual(
    hosts.map((h) => [h.host, h.status, h.backend]).sort(),
    [1, 2, 3].map((n) => [`mps0${n}.classroom.test`, "online", "simulated"]),
  );
  assert.equal(pids.length, 2, "the agent and the console said where they serve");
  child.kill("SIGINT");
  const [code] = await exited;
  assert.equal(code, 0, stderr);
  for (const pid of pids) assert.equal(isRunning(pid), false, `process ${pid} still runs`);
  assert.equal((await fetch(`${url}/healthz`).catch(() => undefined)) === undefined, true);
});
