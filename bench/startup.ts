/**
 * Agent start-up: `wms-agent` spawned as a real process, timed from spawn until its health
 * service answers `SERVING`; then its idle resident set size. Mutual TLS when the agent build has
 * it, `--insecure-loopback` otherwise (the result says which).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  loadPackageDefinition,
  type ChannelCredentials,
  type Client,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { clientCredentials, clientTlsFiles } from "./client-tls.js";
import type { BenchPkiFiles } from "./pki.js";

const AGENT_BIN = fileURLToPath(new URL("../bin/wms-agent.js", import.meta.url));

/** One start-up measurement. */
export interface StartupSample {
  readonly toListeningMs: number;
  readonly toServingMs: number;
  readonly idleRssBytes: number;
}

/** How the agent was run. */
export type StartupTransport = "mutual TLS" | "insecure loopback";

type HealthClient = Client & {
  check(
    request: { service: string },
    options: { deadline: Date },
    callback: (error: ServiceError | null, response?: { status: string }) => void,
  ): void;
};

type HealthConstructor = new (
  address: string,
  credentials: ChannelCredentials,
  options?: object,
) => HealthClient;

let healthConstructor: HealthConstructor | undefined;
function healthClient(address: string, credentials: ChannelCredentials, fqdn: string) {
  healthConstructor ??= (
    loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: HealthConstructor } } };
    }
  ).grpc.health.v1.Health;
  return new healthConstructor(address, credentials, {
    "grpc.ssl_target_name_override": fqdn,
    "grpc.default_authority": fqdn,
  });
}

/** Resolves the health status of `""`, or `undefined` when the call fails. */
export function checkHealth(client: HealthClient): Promise<string | undefined> {
  return new Promise((resolve) => {
    client.check({ service: "" }, { deadline: new Date(Date.now() + 2000) }, (error, response) =>
      resolve(error === null ? response?.status : undefined),
    );
  });
}

/** The resident set size of a process, from `/proc/<pid>/status`. */
export async function processRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) * 1024;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Options of {@link measureStartup}. */
export interface StartupOptions {
  readonly fqdn: string;
  /** Mutual TLS material; `undefined` runs `--insecure-loopback`. */
  readonly files: BenchPkiFiles | undefined;
  readonly operator: string;
  /** Milliseconds to stay idle before reading RSS. @default 1000 */
  readonly idleMs?: number;
}

/** Spawns one agent and measures it; `undefined` when this build refuses the TLS flags. */
export async function measureStartup(options: StartupOptions): Promise<StartupSample | undefined> {
  const transport =
    options.files === undefined
      ? ["--insecure-loopback"]
      : [
          "--tls-cert",
          options.files.agentCert,
          "--tls-key",
          options.files.agentKey,
          "--tls-ca",
          options.files.ca,
          "--allow",
          `${options.operator}=operator`,
        ];
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [AGENT_BIN, ...transport, "--listen", "127.0.0.1:0", "--host-fqdn", options.fqdn],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WMSFLEET_LOG_LEVEL: "info" } },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const port = await new Promise<number | undefined>((resolve) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (text) => {
      try {
        const line = JSON.parse(text) as { msg?: string; ports?: number[] };
        if (line.msg === "agent listening") resolve(line.ports?.[0]);
      } catch {
        // not a log line
      }
    });
    child.once("exit", () => resolve(undefined));
  });
  const toListeningMs = performance.now() - started;
  if (port === undefined) {
    await stop(child);
    if (options.files !== undefined) return undefined;
    throw new Error(`wms-agent did not start: ${stderr}`);
  }
  const credentials = clientCredentials(clientTlsFiles(options.files));
  const client = healthClient(`127.0.0.1:${port}`, credentials, options.fqdn);
  try {
    for (let attempt = 0; attempt < 500; attempt++) {
      if ((await checkHealth(client)) === "SERVING") break;
      await sleep(5);
    }
    const toServingMs = performance.now() - started;
    await sleep(options.idleMs ?? 1000);
    return { toListeningMs, toServingMs, idleRssBytes: await processRss(child.pid ?? 0) };
  } finally {
    client.close();
    await stop(child);
  }
}
