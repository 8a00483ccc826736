/**
 * The console's figures (issue 13), against a bench fleet of real agents over mutual TLS:
 * - start-up: `wms-console` spawned (the bundle, as users run it) until every host of its
 *   inventory is `online`, and the console's RSS per watched host (against a console watching
 *   one host, both after a GC-free settle: the RSS the kernel reports);
 * - a what-if `disconnect` of every session of every host through `POST /api/v1/actions`, wall
 *   time from the request to the last ndjson line, against the warm grpc-js floor of the same run
 *   when it ran;
 * - a session change on an agent (a real `Disconnect` by this process's own warm controller)
 *   until its `sessions` event reaches SSE clients: median and p99 with 1 client and with 20.
 *
 * Used by `bench/run.ts` (`npm run bench`; `--skip console` leaves it out); `npm run
 * bench:console` runs it alone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { createController, credentials } from "../controller/index.js";
import type { ApiEvent, HostList } from "../console/api/types.js";
import type { BenchFleet } from "./fleet.js";
import { round, summarize, type Summary } from "./stats.js";

const CONSOLE_BIN = fileURLToPath(new URL("../bin/wms-console.js", import.meta.url));

/** What the console bench measured. */
export interface ConsoleBenchResult {
  readonly hosts: number;
  /** Spawn until every host is online, ms. */
  readonly startToWatchedMs: Summary;
  /** (RSS watching N − RSS watching 1) / (N − 1), bytes. */
  readonly rssPerWatchedHostBytes: number;
  readonly rssBytes: { readonly one: number; readonly all: number };
  /** `POST /api/v1/actions` what-if disconnect to every host, request to last line, ms. */
  readonly actionWallMs: Summary;
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
    await delay(20);
  }
}

async function rssOf(c: BenchConsole): Promise<number> {
  const text = await (await fetch(`${c.url}/metrics`, { headers: c.headers })).text();
  return Number(/^wmsconsole_process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
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
  options: { runs: number; changes: number; log: (text: string) => void },
): Promise<ConsoleBenchResult> {
  const files = fleet.files;
  if (files === undefined) throw new Error("the console bench needs the TLS fleet");
  const tls = { ca: files.ca, cert: files.clientCert, key: files.clientKey };
  const n = fleet.names.length;
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
    let big: BenchConsole | undefined;
    for (let i = 0; i < Math.max(1, Math.min(options.runs, 3)); i++) {
      options.log(`console: start-up watching ${n} hosts (${i + 1})`);
      const started = performance.now();
      const c = await startConsole(data, fleet.inventory, tls, token);
      await allOnline(c, n);
      starts.push(performance.now() - started);
      if (big !== undefined) await big.stop();
      big = c;
    }
    if (big === undefined) throw new Error("no console");
    await delay(1000);
    const rssAll = await rssOf(big);

    options.log(`console: what-if disconnect to ${n} hosts through POST /api/v1/actions`);
    const walls: number[] = [];
    for (let i = 0; i < options.runs + 1; i++) {
      const started = performance.now();
      const response = await fetch(`${big.url}/api/v1/actions`, {
        method: "POST",
        headers: { ...big.headers, "content-type": "application/json" },
        body: JSON.stringify({ action: "disconnect", whatIf: true, hosts: "all" }),
      });
      const lines = (await response.text()).split("\n").filter((l) => l !== "");
      const wall = performance.now() - started;
      const ok = lines.filter((l) => (JSON.parse(l) as { status: string }).status === "ok").length;
      if (ok !== n) throw new Error(`the action answered ${ok} of ${n} hosts ok`);
      if (i > 0) walls.push(wall); // the first run warms the HTTP connection and the JIT
    }

    const controller = createController({
      credentials: credentials.createSsl(
        Buffer.from(fleet.pki?.caPem ?? ""),
        Buffer.from(fleet.pki?.clientKeyPem ?? ""),
        Buffer.from(fleet.pki?.clientCertPem ?? ""),
      ),
    });
    const sse: Record<number, { median: number; p99: number; samples: number }> = {};
    try {
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
      controller.close();
      await big.stop();
    }
    return {
      hosts: n,
      startToWatchedMs: summarize(starts),
      rssPerWatchedHostBytes: Math.round((rssAll - rssOne) / Math.max(1, n - 1)),
      rssBytes: { one: rssOne, all: rssAll },
      actionWallMs: summarize(walls),
      sseLatencyMs: sse,
    };
  } finally {
    await fleet.reset();
    await rm(dir, { recursive: true, force: true });
  }
}
