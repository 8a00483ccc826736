/**
 * `npm run bench:watch`: `WatchSessions` of one real agent (its own process, mutual TLS) to many
 * watchers (each on its own connection, in this process), as a console and a room of
 * `wmsctl watch` would watch it.
 *
 * 1. the agent's RSS idle, then with every watcher connected;
 * 2. delay from a change to its arrival at a watcher, at a steady rate (median, p99 over every
 *    watcher and change; the change carries the moment it was made, in milliseconds);
 * 3. changes per second the agent delivers to every watcher when changes come as fast as it takes
 *    them (from the first change until the last watcher has the last revision), with the number
 *    of watchers resynchronised on the way.
 *
 * Flags: `--watchers 100 --latency-changes 500 --rate 100 --burst-changes 20000 --batch 1
 * --insecure` (`--batch N`: the burst makes N changes at once, which the agent sends as one
 * message; 1, the default, is the worst case: one message per change).
 */
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ClientReadableStream } from "@grpc/grpc-js";
import {
  SnapshotReason,
  WatchSessionsRequest,
  WmsSessionServiceClient,
  type WatchSessionsResponse,
} from "../proto/gen/wms/v1/wms_session.js";
import { clientCredentials, clientTlsFiles } from "./client-tls.js";
import { makeBenchPki, writeBenchPki } from "./pki.js";
import { round } from "./stats.js";
import type { WatchAgentConfig, WatchAgentRequest } from "./watch-agent.js";

const { values: flags } = parseArgs({
  options: {
    watchers: { type: "string", default: "100" },
    "latency-changes": { type: "string", default: "500" },
    rate: { type: "string", default: "100" },
    "burst-changes": { type: "string", default: "20000" },
    batch: { type: "string", default: "1" },
    insecure: { type: "boolean", default: false },
  },
});
const watcherCount = Number(flags.watchers);
const latencyChanges = Number(flags["latency-changes"]);
const rate = Number(flags.rate);
const burstChanges = Number(flags["burst-changes"]);
const batch = Number(flags.batch);
const log = (text: string) => process.stderr.write(`bench:watch: ${text}\n`);
const FQDN = "agent-0001.bench.test";

/** One watcher: its stream and what it has seen. */
interface Watcher {
  readonly client: WmsSessionServiceClient;
  readonly stream: ClientReadableStream<WatchSessionsResponse>;
  revision: number;
  changes: number;
  resyncs: number;
  /** Delays of the changes received while `recording`, in milliseconds. */
  readonly delays: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-bench-watch-"));
  const pki = flags.insecure === true ? undefined : await makeBenchPki([FQDN]);
  const files = pki === undefined ? undefined : await writeBenchPki(pki, dir);
  const config: WatchAgentConfig = {
    hostFqdn: FQDN,
    tls: files === undefined ? null : { ca: files.ca, cert: files.agentCert, key: files.agentKey },
    operator: "bench-operator",
    maxWatchers: Math.max(256, watcherCount),
  };
  const child = fork(
    fileURLToPath(new URL("./watch-agent.ts", import.meta.url)),
    [JSON.stringify(config)],
    {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const replies: ((message: Record<string, unknown>) => void)[] = [];
  child.on("message", (message: Record<string, unknown>) => replies.shift()?.(message));
  const next = () => new Promise<Record<string, unknown>>((resolve) => replies.push(resolve));
  const ask = (request: WatchAgentRequest) => {
    const answer = next();
    child.send(request);
    return answer;
  };
  const ready = await next();
  const address = `127.0.0.1:${String(ready["port"])}`;
  const idle = await ask({ kind: "stats" });
  log(`agent ready on ${address}, RSS ${round(Number(idle["rssBytes"]) / 2 ** 20)} MiB`);

  let recording = false;
  const credentials = clientCredentials(clientTlsFiles(files));
  const watchers: Watcher[] = [];
  const snapshots: Promise<void>[] = [];
  for (let index = 0; index < watcherCount; index++) {
    const client = new WmsSessionServiceClient(address, credentials, {
      "grpc.ssl_target_name_override": FQDN,
      "grpc.default_authority": FQDN,
      // A connection of its own, as separate consoles and wmsctl processes have.
      "grpc.use_local_subchannel_pool": 1,
    });
    const stream = client.watchSessions(WatchSessionsRequest.fromPartial({ expectedHost: FQDN }));
    const watcher: Watcher = { client, stream, revision: 0, changes: 0, resyncs: 0, delays: [] };
    snapshots.push(
      new Promise((resolve, reject) => {
        stream.once("data", () => resolve());
        stream.once("error", reject);
      }),
    );
    stream.on("error", () => undefined);
    stream.on("data", (message: WatchSessionsResponse) => {
      const now = Date.now();
      watcher.revision = message.revision;
      const event = message.event;
      if (event?.$case === "snapshot" && event.value.reason === SnapshotReason.RESYNC) {
        watcher.resyncs++;
      } else if (event?.$case === "changes") {
        watcher.changes += event.value.changes.length;
        if (recording) {
          for (const change of event.value.changes) {
            const made = change.session?.lastInputTime?.getTime();
            if (made !== undefined) watcher.delays.push(now - made);
          }
        }
      }
    });
    watchers.push(watcher);
  }
  await Promise.all(snapshots);
  const withWatchers = await ask({ kind: "stats" });
  log(`${watcherCount} watchers connected`);

  // 2. Delay at a steady rate.
  recording = true;
  const start = Number((withWatchers["watch"] as { revision: number }).revision);
  await ask({ kind: "changes", count: latencyChanges, perSecond: rate });
  const afterLatency = Number(
    ((await ask({ kind: "stats" }))["watch"] as { revision: number }).revision,
  );
  await until(() => watchers.every((w) => w.revision >= afterLatency));
  recording = false;
  const delays = watchers.flatMap((w) => w.delays).sort((a, b) => a - b);
  log(`delay measured over ${delays.length} arrivals (${afterLatency - start} changes)`);

  // 3. Throughput when changes come as fast as the agent takes them.
  for (const watcher of watchers) watcher.resyncs = 0;
  const cpuBefore = Number((await ask({ kind: "stats" }))["cpuUs"]);
  const burstStarted = performance.now();
  const burst = await ask({ kind: "changes", count: burstChanges, perSecond: 0, batch });
  const afterBurst = (await ask({ kind: "stats" }))["watch"] as {
    revision: number;
    resyncs: number;
  };
  await until(() => watchers.every((w) => w.revision >= afterBurst.revision));
  const burstMs = performance.now() - burstStarted;
  const revisions = afterBurst.revision - afterLatency;
  const afterAll = await ask({ kind: "stats" });
  const agentCpuMs = (Number(afterAll["cpuUs"]) - cpuBefore) / 1000;

  const mib = (bytes: unknown) => round(Number(bytes) / 2 ** 20);
  const results = {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
    loadAverage: loadavg().map((l) => round(l, 2)),
    transport: files === undefined ? "insecure loopback" : "mutual TLS",
    watchers: watcherCount,
    rssIdleMiB: mib(idle["rssBytes"]),
    rssWithWatchersMiB: mib(withWatchers["rssBytes"]),
    rssAfterBurstMiB: mib(afterAll["rssBytes"]),
    delay: {
      rate,
      changes: afterLatency - start,
      medianMs: percentile(delays, 50),
      p99Ms: percentile(delays, 99),
      maxMs: delays.at(-1),
    },
    burst: {
      changesMade: burstChanges,
      changesPerTurn: batch,
      makeMs: round(Number(burst["elapsedMs"])),
      revisions,
      deliveredMs: round(burstMs),
      changesPerSecondToEveryWatcher: round((revisions * 1000) / burstMs),
      messagesOfChangesPerSecond: round(
        (watchers.reduce((sum, w) => sum + w.changes, 0) * 1000) / burstMs,
      ),
      watchersResynced: watchers.filter((w) => w.resyncs > 0).length,
      agentCpuMsPerChange: round(agentCpuMs / Math.max(1, revisions), 3),
      agentCpuShare: round(agentCpuMs / burstMs, 2),
    },
  };
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  console.table({
    "agent RSS, idle (MiB)": results.rssIdleMiB,
    [`agent RSS, ${watcherCount} watchers (MiB)`]: results.rssWithWatchersMiB,
    [`delay change → watcher at ${rate}/s, median (ms)`]: results.delay.medianMs,
    [`delay change → watcher at ${rate}/s, p99 (ms)`]: results.delay.p99Ms,
    [`changes/s delivered to each of ${watcherCount} watchers`]:
      results.burst.changesPerSecondToEveryWatcher,
    "watchers resynchronised in the burst": results.burst.watchersResynced,
    "agent CPU per change to every watcher (ms)": results.burst.agentCpuMsPerChange,
    "load average (1, 5, 15 min)": results.loadAverage.join(", "),
  });

  for (const watcher of watchers) {
    watcher.stream.cancel();
    watcher.client.close();
  }
  child.disconnect();
  await new Promise((resolve) => child.once("exit", resolve));
  await rm(dir, { recursive: true, force: true });
}

/** Resolves once `condition` holds, checking every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

await main();
