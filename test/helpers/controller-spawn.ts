/**
 * Spawned processes for end-to-end tests: `wms-agent` (bin/wms-agent.js) on 127.0.0.1 with an
 * ephemeral port read back from its first log line, and `wmsctl` (bin/wmsctl.js) with arguments,
 * standard input and environment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AGENT_BIN, WMSCTL_BIN } from "./commands.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A running `wms-agent` process. */
export interface SpawnedAgent {
  readonly fqdn: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** `--resolve` flag that dials this agent. */
  readonly resolve: string;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts `wms-agent --insecure-loopback --listen 127.0.0.1:0 --host-fqdn FQDN [extra]`. */
export function spawnAgent(fqdn: string, extra: readonly string[] = []): Promise<SpawnedAgent> {
  return spawnAgentWith(fqdn, ["--insecure-loopback", ...extra]);
}

/**
 * Starts `wms-agent --listen LISTEN --host-fqdn FQDN ARGS` (e.g. the `--tls-*` flags); `listen`
 * is `127.0.0.1:0` unless given (an agent restarted on the port of the one before).
 */
export async function spawnAgentWith(
  fqdn: string,
  args: readonly string[],
  listen = "127.0.0.1:0",
): Promise<SpawnedAgent> {
  const child = spawn(
    process.execPath,
    [AGENT_BIN, "--listen", listen, "--host-fqdn", fqdn, ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let port: number | undefined;
  for await (const line of lines) {
    const record = JSON.parse(line) as { msg?: string; ports?: number[] };
    if (record.msg === "agent listening") {
      port = record.ports?.[0];
      break;
    }
  }
  if (port === undefined) {
    child.kill("SIGKILL");
    throw new Error(`wms-agent did not start: ${stderr}`);
  }
  // Keep draining its log so the pipe never fills.
  child.stdout?.resume();
  return {
    fqdn,
    port,
    process: child,
    resolve: `--resolve=${fqdn}=127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** What a `wmsctl` process did. */
export interface WmsctlExit {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `bin/wmsctl.js ARGS` to completion (in the checkout, or in `cwd`). */
export async function spawnWmsctl(
  args: readonly string[],
  options: { stdin?: string; env?: Readonly<Record<string, string>>; cwd?: string } = {},
): Promise<WmsctlExit> {
  const child = spawn(process.execPath, [WMSCTL_BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.stdin ?? "");
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout, stderr };
}
