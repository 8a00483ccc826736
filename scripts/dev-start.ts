/**
 * `npm start`: the whole picture with no set-up.
 *
 * 1. The development agent on `localhost:50061`, exactly as before (scripts/dev-agent.ts: the
 *    development PKI in `.wmsctl/`, mutual TLS, `npx wmsctl get` works from the checkout), now
 *    also allowing the console's identity; extra arguments still go to it and win.
 * 2. A simulated fleet of classroom hosts (`mps01.classroom.test` … `mps12.classroom.test`), 12
 *    agents in this process on ephemeral loopback ports, each with the simulated activity model
 *    (people log on and off, go idle, lock, come back), over mutual TLS with one certificate
 *    that names them all.
 * 3. The console on `http://127.0.0.1:8080` (`--insecure-loopback`: plain HTTP, loopback only),
 *    watching the fleet (and the agent of 1 when it listens where it always does), with its store
 *    in `.wmsctl/console/` and a development admin, `admin`, whose password is written to
 *    `.wmsctl/console/admin-password` (mode 0600; `.wmsctl/` is git-ignored).
 *
 * It prints the URL and where the password is, and stops everything it started on Ctrl-C or
 * SIGTERM (or when its parent goes away), exiting with the development agent's status.
 *
 * Variables: `WMSFLEET_DEV_DIR` (the `.wmsctl/` to use), `WMSFLEET_DEV_CONSOLE_LISTEN` (default
 * `127.0.0.1:8080`; port 0 picks a free one), `WMSFLEET_DEV_FLEET_SIZE` (default 12; 0: no fleet).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { main as agentMain } from "../agent/main.js";
import { DEFAULT_AGENT_PORT } from "../common/agent-port.js";
import { outliveClosedPipe } from "../common/closed-pipe.js";
import { hashPassword } from "../console/security/passwords.js";
import { openSqliteStore } from "../console/store/sqlite-store.js";
import {
  PkiError,
  caFiles,
  ensureDevelopmentPki,
  issueAgentCertificate,
  issueClientCertificate,
  loadCertificateAuthority,
  pemFiles,
  writeIssued,
} from "../controller/pki/index.js";

outliveClosedPipe(process.stdout);
outliveClosedPipe(process.stderr);

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const say = (text: string) => process.stderr.write(`dev: ${text}\n`);
/** A path as short as it reads well: from the checkout when inside it, else whole. */
const shown = (path: string) => (path.startsWith(ROOT) ? relative(ROOT, path) : path);
const devDir = process.env["WMSFLEET_DEV_DIR"];
const configDir = devDir !== undefined && devDir !== "" ? devDir : join(ROOT, ".wmsctl");
const consoleDir = join(configDir, "console");
const fleetSize = Number(process.env["WMSFLEET_DEV_FLEET_SIZE"] ?? "12");
const consoleListen = process.env["WMSFLEET_DEV_CONSOLE_LISTEN"] ?? "127.0.0.1:8080";
/** The console's identity towards the agents. */
const CONSOLE_IDENTITY = "dev-console";
const ADMIN = "admin";
const extraArgs = process.argv.slice(2);

if (!Number.isSafeInteger(fleetSize) || fleetSize < 0 || fleetSize > 99) {
  say(`WMSFLEET_DEV_FLEET_SIZE must be 0..99, not ${process.env["WMSFLEET_DEV_FLEET_SIZE"]}`);
  process.exit(2);
}
const listenMatch = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(consoleListen);
if (listenMatch === null) {
  say(`WMSFLEET_DEV_CONSOLE_LISTEN must be a loopback HOST:PORT, not ${consoleListen}`);
  process.exit(2);
}

/** The development PKI, plus the fleet's certificate and the console's identity. */
async function credentials() {
  const pki = await ensureDevelopmentPki({ configDir, hostNames: [hostname()] });
  if (pki.written.length > 0) {
    say(
      `development PKI in ${configDir}: wrote ${pki.written.map((p) => relative(configDir, p)).join(", ")}`,
    );
  }
  const ca = await loadCertificateAuthority(caFiles(pki.pkiDir));
  const names = Array.from(
    { length: Math.max(fleetSize, 1) },
    (_, i) => `mps${String(i + 1).padStart(2, "0")}.classroom.test`,
  );
  const fleet = pemFiles(pki.pkiDir, "dev-fleet");
  const [first = "", ...rest] = names;
  await writeIssued(fleet, await issueAgentCertificate(ca, first, { altNames: rest }), true);
  const console = pemFiles(pki.pkiDir, CONSOLE_IDENTITY);
  await writeIssued(console, await issueClientCertificate(ca, CONSOLE_IDENTITY), true);
  return { pki, names, fleet, console };
}

/** The admin account and its password file: made once, the password reset if the file is gone. */
async function developmentAdmin(dataDir: string): Promise<string> {
  const passwordFile = join(consoleDir, "admin-password");
  await mkdir(consoleDir, { recursive: true, mode: 0o700 });
  const store = openSqliteStore({ dataDir });
  try {
    let password: string | undefined;
    try {
      password = (await readFile(passwordFile, "utf8")).trim();
    } catch {
      password = undefined;
    }
    const account = await store.findAccount(ADMIN);
    if (account !== undefined && password !== undefined && password !== "") return passwordFile;
    password = randomBytes(18).toString("base64url");
    const hash = await hashPassword(password);
    if (account === undefined) await store.addAccount(ADMIN, "admin", hash);
    else await store.setPassword(ADMIN, hash);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    return passwordFile;
  } finally {
    await store.close();
  }
}

/** A free loopback port (bound, read back, closed). */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host.replace(/^\[|\]$/g, ""));
  await once(server, "listening");
  const address = server.address();
  server.close();
  return typeof address === "object" && address !== null ? address.port : 0;
}

/** A log stream for one in-process fleet agent: reads its port, passes on warnings and errors. */
function fleetLog(name: string, onPort: (port: number) => void): Writable {
  let buffer = "";
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      buffer += chunk.toString();
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        try {
          const record = JSON.parse(line) as { msg?: string; ports?: number[]; level?: number };
          if (record.msg === "agent listening" && record.ports?.[0] !== undefined) {
            onPort(record.ports[0]);
          }
          if ((record.level ?? 0) >= 40) process.stderr.write(`${name}: ${line}\n`);
        } catch {
          process.stderr.write(`${name}: ${line}\n`);
        }
      }
      done();
    },
  });
}

let creds;
try {
  creds = await credentials();
} catch (error) {
  say(
    `cannot make the development PKI in ${configDir}: ${error instanceof PkiError ? error.message : String(error)}`,
  );
  process.exit(2);
}

// Every child gets its own process group (off Windows), so that a Ctrl-C on the terminal reaches
// it once, through us, not also straight from the terminal.
const detached = process.platform !== "win32";
const children: ChildProcess[] = [];
const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

// 1. The development agent, as before.
const agent = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    join(ROOT, "scripts", "dev-agent.ts"),
    "--allow",
    `${CONSOLE_IDENTITY}=operator`,
    ...extraArgs,
  ],
  { stdio: "inherit", detached, cwd: ROOT, env: { ...process.env, WMSFLEET_DEV_DIR: configDir } },
);
children.push(agent);

// 2. The classroom fleet, in this process.
process.setMaxListeners(0);
const fleetPorts = new Map<string, number>();
const fleetRuns: Promise<number>[] = [];
const allPorts = new Promise<void>((resolve) => {
  if (fleetSize === 0) resolve();
  for (const name of creds.names.slice(0, fleetSize)) {
    const stdout = fleetLog(name, (port) => {
      fleetPorts.set(name, port);
      if (fleetPorts.size === fleetSize) resolve();
    });
    const run = agentMain({
      argv: [
        "--listen",
        "127.0.0.1:0",
        "--host-fqdn",
        name,
        "--backend",
        "simulated",
        "--sim-activity",
        "--tls-cert",
        creds.fleet.certPath,
        "--tls-key",
        creds.fleet.keyPath,
        "--tls-ca",
        creds.pki.ca.certPath,
        "--allow",
        `${CONSOLE_IDENTITY}=operator`,
        "--allow",
        `${creds.pki.clientName}=operator`,
        "--shutdown-grace",
        "2",
      ],
      env: {},
      stdout: Object.assign(stdout, { isTTY: false }),
      stderr: process.stderr,
    });
    fleetRuns.push(run);
    void run.then((code) => {
      if (fleetPorts.has(name)) return;
      say(`${name} could not start (exit status ${code}); stopping`);
      process.kill(process.pid, "SIGTERM");
    });
  }
});
await allPorts;

// 3. The console.
const dataDir = join(consoleDir, "data");
const passwordFile = await developmentAdmin(dataDir);
const inventory = join(consoleDir, "fleet.txt");
// The agent of 1 is listed where it listens unless the arguments moved it.
const mainAgentListed = !extraArgs.some((arg) => arg === "--listen" || arg.startsWith("--listen="));
const hosts = [
  ...(mainAgentListed ? [`localhost 127.0.0.1:${DEFAULT_AGENT_PORT}`] : []),
  ...[...fleetPorts].map(([name, port]) => `${name} 127.0.0.1:${port}`),
];
await writeFile(
  inventory,
  `# Written by npm start (scripts/dev-start.ts) at each start.\n${hosts.map((h) => `${h}\n`).join("")}`,
);
const host = listenMatch[1] ?? "127.0.0.1";
const port = listenMatch[2] === "0" ? await freePort(host) : Number(listenMatch[2]);
const url = `http://${host}:${port}`;
const consoleProcess = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    join(ROOT, "console", "entry.ts"),
    "--insecure-loopback",
    "--listen",
    `${host}:${port}`,
    "--data-dir",
    dataDir,
    ...(hosts.length > 0 ? ["--inventory", inventory] : []),
    "--ca",
    creds.pki.ca.certPath,
    "--cert",
    creds.console.certPath,
    "--key",
    creds.console.keyPath,
  ],
  { stdio: "inherit", detached, cwd: ROOT },
);
children.push(consoleProcess);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (running(child)) child.kill(signal);
};
const FORWARDED: readonly NodeJS.Signals[] =
  process.platform === "win32" ? ["SIGTERM"] : ["SIGINT", "SIGTERM"];
for (const signal of FORWARDED) process.on(signal, () => stop(signal));
// The parent's going away is a stop as well (see scripts/dev-agent.ts).
const parent = process.ppid;
const parentWatch = setInterval(() => {
  if (process.ppid === parent) return;
  say("the parent process went away; stopping everything");
  process.kill(process.pid, "SIGTERM");
}, 500);
parentWatch.unref();
process.on("exit", () => {
  for (const child of children) if (running(child)) child.kill("SIGTERM");
});
for (const child of children) {
  child.on("exit", () => {
    // One part stopping by itself stops the whole picture.
    if (!stopping) process.kill(process.pid, "SIGTERM");
  });
}

// Ready when the console answers.
for (let attempt = 0; attempt < 600 && !stopping; attempt++) {
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {
    // Not yet listening.
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
if (!stopping) {
  say(
    `${fleetSize} classroom hosts with simulated people (${shown(inventory)})` +
      (mainAgentListed ? `, and the agent on localhost:${DEFAULT_AGENT_PORT}` : "") +
      `\ndev: console: ${url}  (sign in as ${ADMIN}; the password is in ${shown(passwordFile)})\n` +
      "dev: Ctrl-C stops everything",
  );
}

const [agentExit] = await Promise.all([
  new Promise<number>((resolve) => {
    if (!running(agent)) resolve(agent.exitCode ?? 1);
    agent.on("exit", (code) => resolve(code ?? 1));
  }),
  new Promise<void>((resolve) => {
    if (!running(consoleProcess)) resolve();
    consoleProcess.on("exit", () => resolve());
  }),
  ...fleetRuns,
]);
clearInterval(parentWatch);
process.exit(agentExit);
