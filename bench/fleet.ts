/**
 * A bench fleet: N agents spread over a few agent-host processes (`agent-host.ts`), reached by
 * FQDN through `--resolve`-style address overrides (`agent-0001.bench.test` → 127.0.0.1:PORT),
 * under mutual TLS with one CA, one agent certificate naming every FQDN and one operator client
 * certificate.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { resolveTargets, type Target } from "../controller/index.js";
import type { AgentHostConfig, AgentHostReady } from "./agent-host.js";
import { makeBenchPki, writeBenchPki, type BenchPki, type BenchPkiFiles } from "./pki.js";

const AGENT_HOST = fileURLToPath(new URL("./agent-host.ts", import.meta.url));

/** The FQDN of bench agent `index` (0-based): `agent-0001.bench.test`. */
export function benchName(index: number): string {
  return `agent-${String(index + 1).padStart(4, "0")}.bench.test`;
}

/** One agent-host process. */
export interface AgentHostProcess {
  readonly child: ChildProcess;
  readonly ready: AgentHostReady;
  /** Sends a command line and resolves with its JSON answer. */
  command(line: string): Promise<Record<string, unknown>>;
}

/** Options of {@link startBenchFleet}. */
export interface BenchFleetOptions {
  readonly agents: number;
  /** @default 4 */
  readonly processes?: number;
  /** Mutual TLS (the default) or plain loopback. @default true */
  readonly tls?: boolean;
  /**
   * Each agent its own certificate naming only itself (as in production) instead of one
   * certificate naming every agent. @default false
   */
  readonly certPerAgent?: boolean;
  /** Extra Node flags for the agent hosts (e.g. `--cpu-prof`). @default [] */
  readonly nodeArgs?: readonly string[];
  /** Sessions of each agent (see `AgentHostConfig`). @default the classroom fixture's */
  readonly sessionsPerAgent?: number;
}

/** A running bench fleet. */
export interface BenchFleet {
  readonly names: readonly string[];
  /** One target per agent, in name order, dialled at its override. */
  readonly targets: readonly Target[];
  readonly hosts: readonly AgentHostProcess[];
  readonly pki: BenchPki | undefined;
  readonly files: BenchPkiFiles | undefined;
  /** A file of `FQDN 127.0.0.1:PORT` lines, for `wmsctl --inventory`. */
  readonly inventory: string;
  /** Writes an inventory of the first `n` agents and returns its path. */
  inventoryOf(n: number): Promise<string>;
  readonly dir: string;
  /** Sends `reset` to every host. */
  reset(): Promise<void>;
  /** Makes `perSecond` session changes a second over the whole fleet (0 stops). */
  churn(perSecond: number): Promise<void>;
  stop(): Promise<void>;
}

/** Spawns one agent-host process and waits until its agents serve. */
export function startAgentHost(
  config: AgentHostConfig,
  nodeArgs: readonly string[] = [],
): Promise<AgentHostProcess> {
  const args = [...nodeArgs, "--import", "tsx", AGENT_HOST, JSON.stringify(config)];
  const child = spawn(process.execPath, args, {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: Interface = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((value: Record<string, unknown>) => void)[] = [];
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`agent host exited with ${code} before it was ready`));
    child.once("exit", onExit);
    child.once("error", reject);
    lines.on("line", (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      if (message["ready"] === true) {
        child.off("exit", onExit);
        resolve({
          child,
          ready: message as unknown as AgentHostReady,
          command(command) {
            return new Promise((answer) => {
              waiting.push(answer);
              child.stdin?.write(`${command}\n`);
            });
          },
        });
      } else {
        waiting.shift()?.(message);
      }
    });
  });
}

/** Starts the fleet; stops what started when anything fails. */
export async function startBenchFleet(options: BenchFleetOptions): Promise<BenchFleet> {
  const processes = Math.max(1, Math.min(options.processes ?? 4, options.agents));
  const names = Array.from({ length: options.agents }, (_, index) => benchName(index));
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-bench-"));
  const tls = options.tls ?? true;
  const pki = tls ? await makeBenchPki(names, undefined, options.certPerAgent === true) : undefined;
  const files = pki === undefined ? undefined : await writeBenchPki(pki, join(dir, "pki"));
  const per = Math.ceil(options.agents / processes);
  const chunks = Array.from({ length: processes }, (_, p) => names.slice(p * per, (p + 1) * per));
  const settled = await Promise.allSettled(
    chunks
      .filter((chunk) => chunk.length > 0)
      .map((chunk) =>
        startAgentHost(
          {
            names: chunk,
            tls:
              files === undefined
                ? null
                : {
                    ca: files.ca,
                    cert: files.agentCert,
                    key: files.agentKey,
                    ...(files.perAgentDir === undefined ? {} : { perAgentDir: files.perAgentDir }),
                  },
            ...(pki === undefined ? {} : { operator: pki.clientIdentity }),
            ...(options.sessionsPerAgent === undefined
              ? {}
              : { sessionsPerAgent: options.sessionsPerAgent }),
          },
          options.nodeArgs,
        ),
      ),
  );
  const hosts = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stopHosts = async () => {
    await Promise.all(
      hosts.map(
        (host) =>
          new Promise<void>((resolve) => {
            if (host.child.exitCode !== null || host.child.signalCode !== null) return resolve();
            host.child.once("exit", () => resolve());
            host.child.kill("SIGTERM");
          }),
      ),
    );
  };
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await stopHosts();
    await rm(dir, { recursive: true, force: true });
    throw failed.reason;
  }
  const ports = hosts.flatMap((host) => host.ready.ports);
  const lines = names.map((name, index) => `${name} 127.0.0.1:${ports[index]}`);
  const inventoryOf = async (n: number) => {
    const path = join(dir, `inventory-${n}.txt`);
    await writeFile(path, `${lines.slice(0, n).join("\n")}\n`);
    return path;
  };
  const inventory = await inventoryOf(names.length);
  const targets = resolveTargets({
    servers: [...names],
    resolve: names.map((name, index) => `${name}=127.0.0.1:${ports[index]}`),
  });
  return {
    names,
    targets,
    hosts,
    pki,
    files,
    inventory,
    inventoryOf,
    dir,
    async reset() {
      await Promise.all(hosts.map((host) => host.command("reset")));
    },
    async churn(perSecond) {
      await Promise.all(hosts.map((host) => host.command(`churn ${perSecond / hosts.length}`)));
    },
    async stop() {
      await stopHosts();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
