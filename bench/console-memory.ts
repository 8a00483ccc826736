/**
 * Where the console's memory per watched host goes: the console service in this process
 * (`startConsole`, as `wms-console` runs it) over a bench fleet of real agents under mutual TLS,
 * its inventory grown from 1 to 100, 500 and 1,000 hosts (reloaded as SIGHUP does); at each step,
 * once every host is online, after a full GC: RSS, V8 heap used, external and ArrayBuffer memory
 * (`process.memoryUsage()`), and what is left (native: OpenSSL, nghttp2, libuv), each per host
 * between steps.
 *
 * `node --expose-gc --import tsx bench/console-memory.ts [--agents 1000] [--steps 100,500,1000]
 * [--channel-options JSON] [--shared-certificate] [--heap-snapshot FILE]`: prints a table and one JSON line.
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { writeHeapSnapshot } from "node:v8";
import { pino } from "pino";
import type { ChannelOptions } from "@grpc/grpc-js";
import { resolveConsoleConfig } from "../console/config/options.js";
import { startConsole } from "../console/service.js";
import { startBenchFleet, type BenchFleet } from "./fleet.js";

const { values: flags } = parseArgs({
  options: {
    agents: { type: "string", default: "1000" },
    steps: { type: "string", default: "100,500,1000" },
    processes: { type: "string", default: "4" },
    "channel-options": { type: "string", default: "{}" },
    // As deployed: each agent its own certificate naming itself (`--shared-certificate`: one
    // certificate naming every agent, whose 1,000 names each connection parses and keeps).
    "shared-certificate": { type: "boolean", default: false },
    // A V8 heap snapshot once the last step's hosts are online (Chrome DevTools reads it).
    "heap-snapshot": { type: "string" },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const agents = Number(flags.agents);
// The console refuses an inventory that names no host: the first step is one host.
const steps = [1, ...flags.steps.split(",").map(Number)].filter((n) => n <= agents);
const log = (text: string) => process.stderr.write(`console-memory: ${text}\n`);

interface Sample {
  readonly hosts: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** rss − heapTotal − external: native memory outside V8's accounting. */
  readonly native: number;
}

async function settle(): Promise<Sample & { hosts: 0 }> {
  await delay(500);
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return {
    hosts: 0,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    native: m.rss - m.heapTotal - m.external,
  };
}

async function main() {
  log(`starting ${agents} agents`);
  const fleet = await startBenchFleet({
    agents,
    processes: Number(flags.processes),
    certPerAgent: flags["shared-certificate"] !== true,
  });
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-console-memory-"));
  try {
    await measure(fleet, dir);
  } finally {
    await fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(fleet: BenchFleet, dir: string) {
  const files = fleet.files;
  if (files === undefined) throw new Error("no TLS");
  const inventory = join(dir, "inventory.txt");
  await copyFile(await fleet.inventoryOf(1), inventory);
  const config = resolveConsoleConfig({
    flags: {
      insecureLoopback: true,
      listen: "127.0.0.1:0",
      dataDir: join(dir, "data"),
      inventory: [inventory],
      ca: files.ca,
      cert: files.clientCert,
      key: files.clientKey,
    },
    env: {},
    file: {},
  });
  const running = await startConsole({
    config,
    logger: pino({ level: "warn" }),
    controller: { channelOptions: JSON.parse(flags["channel-options"]) as ChannelOptions },
  });
  const samples: Sample[] = [];
  try {
    for (const n of steps) {
      await copyFile(await fleet.inventoryOf(n), inventory);
      await running.reload("bench");
      const started = performance.now();
      while (running.fleet.statusCounts().online < n) await delay(50);
      log(`${n} hosts online in ${Math.round(performance.now() - started)} ms`);
      samples.push({ ...(await settle()), hosts: n });
    }
    if (flags["heap-snapshot"] !== undefined) {
      log(`heap snapshot: ${writeHeapSnapshot(flags["heap-snapshot"])}`);
    }
  } finally {
    await running.close();
  }
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log("hosts  rss/host  heapUsed/host  external/host  arrayBuffers/host  native/host");
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (a === undefined || b === undefined) continue;
    const per = (key: keyof Sample) => kb((b[key] - a[key]) / (b.hosts - a.hosts));
    console.log(
      `${a.hosts}→${b.hosts}  ${per("rss")}  ${per("heapUsed")}  ${per("external")}  ${per("arrayBuffers")}  ${per("native")}`,
    );
  }
  const first = samples[0];
  const last = samples.at(-1);
  if (first !== undefined && last !== undefined && last.hosts > 0) {
    console.log(`0→${last.hosts} rss per host: ${kb((last.rss - first.rss) / last.hosts)}`);
  }
  console.log(JSON.stringify({ channelOptions: flags["channel-options"], samples }));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
