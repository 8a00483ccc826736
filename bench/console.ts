/**
 * The console's figures (issue 13), against a bench fleet of real agents over mutual TLS, each
 * agent with its own certificate naming only itself, as deployed:
 * - start-up: `wms-console` spawned (the bundle, as users run it) until every host of its
 *   inventory is `online`, with the console's CPU time meanwhile; its RSS per watched host
 *   (against a console watching one host, both after a GC-free settle: the RSS the kernel
 *   reports);
 * - the event loop's delay (p99 and max, `wmsconsole_nodejs_eventloop_lag_*`, which reset at
 *   each scrape) over a quiet window and over one where the fleet changes `churnPerSecond`
 *   sessions a second, an SSE client listening;
 * - a `disconnect` of every session of every host through `POST /api/v1/actions`, what-if and
 *   real, wall time from the request to the last ndjson line, each run alternated with the same
 *   call by the controller library in this process, warm (its channels up, one credentials
 *   object for all, as the console's), and for the what-if with the warm floor (a bare grpc-js
 *   client, `bare-fanout.ts`, in its own process) on the same agents: what the API adds to the
 *   library's fan-out and to the least a grpc-js client does, in the same run, run by run, with
 *   each one's CPU time;
 * - a session change on an agent (a real `Disconnect` by this process's own warm controller)
 *   until its `sessions` event reaches SSE clients: median and p99 with 1 client and with 20.
 *
 * Used by `bench/run.ts` (`npm run bench`; `--skip console` leaves it out); `npm run
 * bench:console` runs it alone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { createController, credentials } from "../controller/index.js";
import type { ApiEvent, HostList } from "../console/api/types.js";
import { startBareFloor, type FloorRun } from "./bare-floor.js";
import { clientTlsFiles } from "./client-tls.js";
import type { BenchFleet } from "./fleet.js";
import { round, summarize, type Summary } from "./stats.js";

const CONSOLE_BIN = fileURLToPath(new URL("../bin/wms-console.js", import.meta.url));
/** The fewest alternated what-if runs of the API, the library and the floor. */
const MIN_WHAT_IF_RUNS = 21;

/** What the console bench measured. */
export interface ConsoleBenchResult {
  readonly hosts: number;
  /** Spawn until every host is online, ms. */
  readonly startToWatchedMs: Summary;
  /** The console's CPU time (user + system) from spawn until every host is online, ms. */
  readonly startCpuMs: Summary;
  /** Event loop delay, ms: quiet, and while the fleet changes `churnPerSecond` sessions a second. */
  readonly eventLoopDelayMs: {
    readonly quiet: { readonly p99: number; readonly max: number };
    readonly churn: { readonly p99: number; readonly max: number };
    readonly churnPerSecond: number;
    readonly windowMs: number;
  };
  /** (RSS watching N − RSS watching 1) / (N − 1), bytes. */
  readonly rssPerWatchedHostBytes: number;
  readonly rssBytes: { readonly one: number; readonly all: number };
  /** `POST /api/v1/actions` what-if disconnect to every host, request to last line, ms. */
  readonly actionWallMs: Summary;
  /** The same action by the warm controller library in this process, alternated, ms. */
  readonly libraryWallMs: Summary;
  /** The same `DisconnectAll` by the warm bare grpc-js client to the same agents, alternated, ms. */
  readonly floorWallMs: Summary;
  /** Each run's API wall over the library's run next to it. */
  readonly apiOverLibrary: Summary;
  /** Each run's API wall over the floor's run next to it: the target (≤ 1.2×). */
  readonly apiOverFloor: Summary;
  /** Each run's library wall over the floor's run next to it. */
  readonly libraryOverFloor: Summary;
  /** CPU time of one what-if run, ms: the console process, the library, the floor's client. */
  readonly whatIfCpuMs: {
    readonly console: Summary;
    readonly library: Summary;
    readonly floor: Summary;
  };
  /** A real disconnect of every session of every host: the API and the library, ms. */
  readonly real: {
    readonly apiWallMs: Summary;
    readonly libraryWallMs: Summary;
    /** Session results in one real run's answer, all hosts. */
    readonly sessionsPerRun: number;
  };
  /** Change on an agent to the SSE event, ms, each client's samples. */
  readonly sseLatencyMs: Readonly<Record<number, { median: number; p99: number; samples: number }>>;
}

/** One running console. */
interface BenchConsole {
  readonly child: ChildProcess;
  readonly url: string;
  readonly headers: Record<string, string>;
  stop(): Promise<void>;
}

function run(args: readonly string[], input = ""): string {
  const result = spawnSync(process.execPath, [CONSOLE_BIN, ...args], { input, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`wms-console ${args[0]}: ${result.stderr}`);
  return result.stdout;
}

/** Spawns a console over `inventory`; resolves once it serves. */
async function startConsole(
  dir: string,
  inventory: string,
  tls: { ca: string; cert: string; key: string },
  token: string,
): Promise<BenchConsole> {
  const child = spawn(
    process.execPath,
    [
      CONSOLE_BIN,
      "--insecure-loopback",
      "--listen",
      "127.0.0.1:0",
      "--data-dir",
      dir,
      "--inventory",
      inventory,
      "--ca",
      tls.ca,
      "--cert",
      tls.cert,
      "--key",
      tls.key,
      "--log-level",
      "info",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      const match = /"url":"(http:\/\/[^"]+)","dataDir"[^\n]*"msg":"console serving"/.exec(buffer);
      if (match?.[1] !== undefined) resolve(match[1]);
      if (buffer.length > 1_000_000) buffer = buffer.slice(-10_000);
    });
    child.once("exit", (code) => reject(new Error(`wms-console exited with ${code}`)));
  });
  child.stdout?.resume();
  return {
    child,
    url,
    headers: { authorization: `Bearer ${token}` },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function allOnline(c: BenchConsole, n: number): Promise<void> {
  for (;;) {
    const { hosts } = (await (
      await fetch(`${c.url}/api/v1/hosts`, { headers: c.headers })
    ).json()) as HostList;
    if (hosts.length === n && hosts.every((h) => h.status === "online")) return;
    // Each poll lists every host: often enough for the figure, seldom enough to cost little.
    await delay(100);
  }
}

/** The metrics without labels, by name. */
async function metricsOf(c: BenchConsole): Promise<Map<string, number>> {
  const text = await (await fetch(`${c.url}/metrics`, { headers: c.headers })).text();
  const values = new Map<string, number>();
  for (const match of text.matchAll(/^(wmsconsole_[a-z0-9_]+) ([0-9.e+-]+)$/gm)) {
    values.set(match[1] ?? "", Number(match[2]));
  }
  return values;
}

async function rssOf(c: BenchConsole): Promise<number> {
  return (await metricsOf(c)).get("wmsconsole_process_resident_memory_bytes") ?? NaN;
}

/** A process's CPU time, user + system, ms (Linux: /proc/PID/stat, in clock ticks of 10 ms). */
function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** The event loop's delay since the last scrape (prom-client resets it at each), ms. */
async function loopDelayOf(c: BenchConsole): Promise<{ p99: number; max: number }> {
  const metrics = await metricsOf(c);
  const ms = (name: string) => round((metrics.get(name) ?? NaN) * 1000, 1);
  return {
    p99: ms("wmsconsole_nodejs_eventloop_lag_p99_seconds"),
    max: ms("wmsconsole_nodejs_eventloop_lag_max_seconds"),
  };
}

/** The bench's HTTP connection to the console for actions, kept open between runs. */
const actionAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });

/**
 * One `POST /api/v1/actions` to every host; its wall time, checking that every host is ok.
 * `sessions` hears how many session results the answer held. Sent by `node:http`, the answer's
 * chunks kept as they come: `fetch` cost this process 15–20 ms more CPU a run (web streams),
 * on the cores the console and the agents share; the lines are parsed after the clock stops.
 */
async function apiAction(
  c: BenchConsole,
  n: number,
  whatIf: boolean,
  sessions: (count: number) => void = () => {},
): Promise<number> {
  const body = JSON.stringify({ action: "disconnect", whatIf, hosts: "all" });
  const url = new URL(`${c.url}/api/v1/actions`);
  const started = performance.now();
  const text = await new Promise<string>((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: "POST",
        agent: actionAgent,
        headers: {
          ...c.headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("error", reject);
        response.once("end", () => {
          const answer = Buffer.concat(chunks).toString("utf8");
          if (response.statusCode === 200) resolve(answer);
          else reject(new Error(`the action answered ${response.statusCode}: ${answer}`));
        });
      },
    );
    request.once("error", reject);
    request.end(body);
  });
  const wall = performance.now() - started;
  const parsed = text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as { status: string; results: unknown[] });
  const ok = parsed.filter((l) => l.status === "ok").length;
  if (ok !== n) throw new Error(`the action answered ${ok} of ${n} hosts ok`);
  sessions(parsed.reduce((total, l) => total + l.results.length, 0));
  return wall;
}

/** An SSE client that hears every `sessions` event and notes when it came. */
function sseClient(c: BenchConsole) {
  const abort = new AbortController();
  const waiting = new Map<string, (time: number) => void>();
  const ready = (async () => {
    const response = await fetch(`${c.url}/api/v1/events`, {
      headers: c.headers,
      signal: abort.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let buffer = "";
    let first = true;
    let resolveFirst: () => void = () => {};
    const firstSeen = new Promise<void>((resolve) => (resolveFirst = resolve));
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const time = performance.timeOrigin + performance.now();
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").find((l) => l.startsWith("data: "));
            if (data === undefined) continue;
            if (first) {
              first = false;
              resolveFirst();
            }
            const event = JSON.parse(data.slice(6)) as ApiEvent;
            if (event.type !== "sessions") continue;
            for (const change of event.changes) {
              if (change.kind !== "changed") continue;
              const key = `${event.host}/${change.session.sessionId}`;
              waiting.get(key)?.(time);
              waiting.delete(key);
            }
          }
        }
      } catch {
        // closed
      }
    })();
    await firstSeen;
  })();
  return {
    ready,
    expect(host: string, sessionId: number): Promise<number> {
      return new Promise((resolve) => waiting.set(`${host}/${sessionId}`, resolve));
    },
    close: () => abort.abort(),
  };
}

function p99(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? NaN;
}

/** Measures the console against `fleet` (every agent of it). */
export async function benchConsole(
  fleet: BenchFleet,
  options: {
    runs: number;
    changes: number;
    log: (text: string) => void;
    /** Session changes a second over the fleet while the event loop is watched. @default 200 */
    churnPerSecond?: number;
    /** How long each event-loop window lasts, ms. @default 10000 */
    loopWindowMs?: number;
  },
): Promise<ConsoleBenchResult> {
  const files = fleet.files;
  if (files === undefined) throw new Error("the console bench needs the TLS fleet");
  const tls = { ca: files.ca, cert: files.clientCert, key: files.clientKey };
  const n = fleet.names.length;
  const churnPerSecond = options.churnPerSecond ?? 200;
  const loopWindowMs = options.loopWindowMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-bench-console-"));
  try {
    const data = join(dir, "data");
    run(
      ["user", "add", "bench", "--role", "operator", "--password-stdin", "--data-dir", data],
      "bench password 0123456789\n",
    );
    const token = run(["token", "create", "--user", "bench", "--data-dir", data]).trim();
    const one = join(dir, "one.txt");
    await writeFile(one, `${fleet.names[0]} 127.0.0.1:${fleet.hosts[0]?.ready.ports[0]}\n`);

    options.log("console: watching one host (the RSS baseline)");
    const small = await startConsole(data, one, tls, token);
    await allOnline(small, 1);
    await delay(1000);
    const rssOne = await rssOf(small);
    await small.stop();

    const starts: number[] = [];
    const startCpu: number[] = [];
    let big: BenchConsole | undefined;
    for (let i = 0; i < Math.max(1, Math.min(options.runs, 3)); i++) {
      // One console at a time: the last one's connections would share the agents' CPU.
      if (big !== undefined) await big.stop();
      options.log(`console: start-up watching ${n} hosts (${i + 1})`);
      const started = performance.now();
      const c = await startConsole(data, fleet.inventory, tls, token);
      await allOnline(c, n);
      starts.push(performance.now() - started);
      startCpu.push(cpuMsOf(c.child.pid));
      big = c;
    }
    if (big === undefined) throw new Error("no console");
    await delay(1000);
    const rssAll = await rssOf(big);

    options.log(`console: event loop delay, quiet then ${churnPerSecond} changes/s`);
    const listener = sseClient(big);
    await listener.ready;
    await loopDelayOf(big); // starts the window
    await delay(loopWindowMs);
    const quiet = await loopDelayOf(big);
    await fleet.churn(churnPerSecond);
    await delay(loopWindowMs);
    const churn = await loopDelayOf(big);
    await fleet.churn(0);
    listener.close();
    await fleet.reset();
    await delay(2000);

    const controller = createController({
      credentials: credentials.createSsl(
        Buffer.from(fleet.pki?.caPem ?? ""),
        Buffer.from(fleet.pki?.clientKeyPem ?? ""),
        Buffer.from(fleet.pki?.clientCertPem ?? ""),
      ),
    });
    const libraryCpuMs: number[] = [];
    const libraryAction = async (whatIf: boolean) => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      let ok = 0;
      for await (const result of controller.disconnectAll(fleet.targets, { whatIf })) {
        if (result.status === "ok") ok += 1;
      }
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      if (ok !== n) throw new Error(`the library's action answered ${ok} of ${n} hosts ok`);
      if (whatIf) libraryCpuMs.push((used.user + used.system) / 1000);
      return wall;
    };
    const floor = await startBareFloor({
      names: fleet.names,
      ports: fleet.targets.map((target) => target.address.port),
      tls: clientTlsFiles(fleet.files),
      throttle: controller.options.throttle,
      runs: 0,
    });
    const sse: Record<number, { median: number; p99: number; samples: number }> = {};
    const walls: number[] = [];
    const libraryWalls: number[] = [];
    const floorWalls: number[] = [];
    const consoleCpuMs: number[] = [];
    const floorCpuMs: number[] = [];
    const realApi: number[] = [];
    const realLibrary: number[] = [];
    let sessionsPerRun = 0;
    try {
      options.log(
        `console: what-if disconnect to ${n} hosts, POST /api/v1/actions, the warm library and the warm floor`,
      );
      // The first of each warms the HTTP connection, the JIT and the channels. More runs than the
      // other figures: one run's wall time moves by ±20 % on a shared machine.
      const whatIfRuns = Math.max(options.runs, MIN_WHAT_IF_RUNS);
      for (let i = 0; i < whatIfRuns + 1; i++) {
        let api = NaN;
        let apiCpu = NaN;
        let library = NaN;
        let bare: FloorRun | undefined;
        const measure = [
          async () => {
            const consoleCpu = cpuMsOf(big.child.pid);
            api = await apiAction(big, n, true);
            apiCpu = cpuMsOf(big.child.pid) - consoleCpu;
          },
          async () => (library = await libraryAction(true)),
          async () => (bare = await floor.run()),
        ];
        // Each run in turn goes first: no one of them always follows the same other.
        for (let k = 0; k < measure.length; k++) await measure[(i + k) % measure.length]?.();
        if (i === 0 || bare === undefined) {
          libraryCpuMs.length = 0;
          continue;
        }
        walls.push(api);
        libraryWalls.push(library);
        floorWalls.push(bare.wallMs);
        consoleCpuMs.push(apiCpu);
        floorCpuMs.push((bare.cpuUsPerHost * n) / 1000);
      }
      await floor.close();

      options.log(`console: real disconnect of every session of ${n} hosts, API and library`);
      const settle = async () => {
        await fleet.reset();
        // The reset's session changes reach the console as events: let them pass first.
        await delay(3000);
      };
      for (let i = 0; i < Math.max(1, Math.min(options.runs, 3)); i++) {
        await settle();
        realApi.push(await apiAction(big, n, false, (count) => (sessionsPerRun = count)));
        await settle();
        realLibrary.push(await libraryAction(false));
      }
      await settle();

      let next = 0;
      for (const clients of [1, 20]) {
        options.log(`console: session change to SSE event, ${clients} client(s)`);
        const streams = Array.from({ length: clients }, () => sseClient(big));
        await Promise.all(streams.map((s) => s.ready));
        const samples: number[] = [];
        for (let i = 0; i < options.changes; i++, next++) {
          // A different host each time, then the next of its sessions 2..13 (all ACTIVE).
          const target = fleet.targets[next % n];
          const sessionId = 2 + (Math.floor(next / n) % 12);
          if (target === undefined) break;
          const heard = streams.map((s) => s.expect(target.fqdn, sessionId));
          const sent = performance.timeOrigin + performance.now();
          for await (const result of controller.disconnect([target], [sessionId])) {
            if (result.status !== "ok") throw new Error(`${target.fqdn}: ${result.status}`);
          }
          for (const time of await Promise.all(heard)) samples.push(time - sent);
        }
        for (const s of streams) s.close();
        sse[clients] = {
          median: round(summarize(samples).median, 1),
          p99: round(p99(samples), 1),
          samples: samples.length,
        };
      }
    } finally {
      await floor.close();
      controller.close();
      actionAgent.destroy();
      await big.stop();
    }
    return {
      hosts: n,
      startToWatchedMs: summarize(starts),
      startCpuMs: summarize(startCpu),
      eventLoopDelayMs: { quiet, churn, churnPerSecond, windowMs: loopWindowMs },
      rssPerWatchedHostBytes: Math.round((rssAll - rssOne) / Math.max(1, n - 1)),
      rssBytes: { one: rssOne, all: rssAll },
      actionWallMs: summarize(walls),
      libraryWallMs: summarize(libraryWalls),
      floorWallMs: summarize(floorWalls),
      apiOverLibrary: summarize(walls.map((wall, i) => wall / (libraryWalls[i] ?? NaN))),
      apiOverFloor: summarize(walls.map((wall, i) => wall / (floorWalls[i] ?? NaN))),
      libraryOverFloor: summarize(libraryWalls.map((wall, i) => wall / (floorWalls[i] ?? NaN))),
      whatIfCpuMs: {
        console: summarize(consoleCpuMs),
        library: summarize(libraryCpuMs),
        floor: summarize(floorCpuMs),
      },
      real: {
        apiWallMs: summarize(realApi),
        libraryWallMs: summarize(realLibrary),
        sessionsPerRun,
      },
      sseLatencyMs: sse,
    };
  } finally {
    await fleet.reset();
    await rm(dir, { recursive: true, force: true });
  }
}
