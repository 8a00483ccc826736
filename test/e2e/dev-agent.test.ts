/**
 * `npm start` as a newcomer meets it: scripts/dev-agent.ts makes the development PKI on first
 * start and runs wms-agent over mutual TLS; `wmsctl` run from the project folder finds the
 * credentials in `.wmsctl/` with no flags. The PKI goes to a temporary project
 * (`WMSFLEET_DEV_DIR`) and the agent to an ephemeral port, so the checkout is left alone.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { spawnWmsctl } from "../helpers/controller-spawn.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A running dev-agent: its process, the agent's port and pid, what it said on stderr. */
interface DevAgent {
  readonly process: ChildProcess;
  readonly port: number;
  readonly agentPid: number;
  stderr(): string;
  /** Sends `signal` and resolves to the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const DEV_AGENT_ARGS = ["--listen", "127.0.0.1:0", "--shutdown-grace", "5"];
/** The script itself, as `npm start` runs it. */
const SCRIPT = [process.execPath, "--import", "tsx", "scripts/dev-agent.ts", ...DEV_AGENT_ARGS];
/** `npm start` itself: npm, then a shell, then the script. */
const NPM_START = ["npm", "start", "--silent", "--", ...DEV_AGENT_ARGS];

async function startDevAgent(
  project: string,
  command: readonly string[] = SCRIPT,
): Promise<DevAgent> {
  const [file = "", ...args] = command;
  const child = spawn(file, args, {
    cwd: ROOT,
    // npm start's fleet and console (scripts/dev-start.ts) are test/e2e/dev-start.test.ts's
    // business: here, no fleet, and the console on a free port.
    env: {
      ...process.env,
      WMSFLEET_DEV_DIR: join(project, ".wmsctl"),
      WMSFLEET_DEV_FLEET_SIZE: "0",
      WMSFLEET_DEV_CONSOLE_LISTEN: "127.0.0.1:0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let listening: { ports?: number[]; pid?: number } | undefined;
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    if (!line.startsWith("{")) continue; // npm's own lines
    const record = JSON.parse(line) as { msg?: string; ports?: number[]; pid?: number };
    if (record.msg === "agent listening") {
      listening = record;
      break;
    }
  }
  const port = listening?.ports?.[0];
  if (port === undefined || listening?.pid === undefined) {
    child.kill("SIGKILL");
    throw new Error(`dev-agent did not start: ${stderr}`);
  }
  child.stdout?.resume();
  return {
    process: child,
    port,
    agentPid: listening.pid,
    stderr: () => stderr,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until process `pid` (not a child of this one: nothing to wait on) has exited; polled,
 * bounded far above what a drain takes, so that only an agent left running fails.
 */
async function exitOf(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await delay(50)) {
    if (!isRunning(pid)) return true;
  }
  return false;
}

void describe("npm start's agent (scripts/dev-agent.ts) and wmsctl with no set-up", () => {
  let project: string;
  before(async () => {
    project = await mkdtemp(join(tmpdir(), "wmsfleet-newcomer-"));
  });
  after(() => rm(project, { recursive: true, force: true }));

  void it("first start makes the PKI; wmsctl in the project talks mutual TLS as dev-operator", async () => {
    const agent = await startDevAgent(project);
    try {
      assert.match(
        agent.stderr(),
        /development PKI in .*\.wmsctl: wrote pki\/ca\.pem, pki\/ca\.key/,
      );
      if (process.platform !== "win32") {
        assert.equal((await stat(join(project, ".wmsctl", "client.key"))).mode & 0o777, 0o600);
      }
      const resolve = `--resolve=localhost=127.0.0.1:${agent.port}`;
      const get = await spawnWmsctl(["get", resolve, "-o", "json"], { cwd: project });
      assert.equal(get.status, 0, get.stderr);
      const [host] = JSON.parse(get.stdout) as {
        host: string;
        status: string;
        sessions: unknown[];
      }[];
      assert.equal(host?.host, "localhost");
      assert.equal(host.status, "ok");
      assert.ok(host.sessions.length > 0);

      const disconnect = await spawnWmsctl(["disconnect", "7", resolve, "-o", "json"], {
        cwd: project,
      });
      assert.equal(disconnect.status, 0, `dev-operator is an operator: ${disconnect.stderr}`);

      const elsewhere = await spawnWmsctl(["get", resolve, "-o", "json"], {
        cwd: tmpdir(),
        env: { HOME: join(project, "no-home"), XDG_CONFIG_HOME: join(project, "no-home") },
      });
      assert.equal(elsewhere.status, 2, "outside the project there are no credentials");
      assert.match(elsewhere.stderr, /no credentials for mutual TLS/);
    } finally {
      assert.equal(await agent.stop("SIGTERM"), 0, agent.stderr());
    }
    assert.equal(isRunning(agent.agentPid), false, "the agent went with the script");
  });

  void it("later starts reuse the PKI; one SIGINT drains the agent and the script exits 0", async () => {
    const agent = await startDevAgent(project);
    try {
      assert.doesNotMatch(agent.stderr(), /wrote/);
      const health = await spawnWmsctl(["health", `--resolve=localhost=127.0.0.1:${agent.port}`], {
        cwd: join(project, ".wmsctl"),
      });
      assert.equal(health.status, 0, health.stderr);
    } finally {
      assert.equal(await agent.stop("SIGINT"), 0, agent.stderr());
    }
    assert.equal(isRunning(agent.agentPid), false);
  });

  void it("npm start stopped by SIGTERM to npm stops the agent too (npm's shell does not pass it on)", async () => {
    const agent = await startDevAgent(project, NPM_START);
    try {
      const health = await spawnWmsctl(["health", `--resolve=localhost=127.0.0.1:${agent.port}`], {
        cwd: project,
      });
      assert.equal(health.status, 0, health.stderr);
    } finally {
      await agent.stop("SIGTERM");
    }
    const stopped = await exitOf(agent.agentPid);
    // Left running, it would hold this process's pipes open: the test could never end.
    if (!stopped) process.kill(agent.agentPid, "SIGKILL");
    assert.equal(stopped, true, `the agent still runs: ${agent.stderr()}`);
  });
});
