/**
 * `npm run bench`: the real agent and the real controller over mutual TLS on this machine.
 *
 * 1. agent start-up to SERVING and idle RSS (`wms-agent` spawned);
 * 2. one agent's throughput for ListSessions and Disconnect (what-if) against a bare grpc-js
 *    server answering the same messages, measured alternately in the same run;
 * 3. fan-out DisconnectAll (what-if and real) to N agents spread over a few agent-host
 *    processes: warm (the controller library, channels up, in its own process: wall, CPU per
 *    host, RSS per open channel) and cold (a new `wmsctl disconnect --all` process each run);
 * 4. the floor: the same fan-out by a bare grpc-js client to bare grpc-js servers laid out as
 *    the fleet, warm and cold: what the stack itself costs on this machine;
 * 5. protection rule 3 on its own: µs per lookup of a loopback caller's process and session;
 * 6. the console (`console.ts`): start until every host is watched, RSS per watched host, a
 *    what-if action to every host through its API, and a change's way to SSE clients.
 *
 * Prints a table, writes `bench/results.json` and `bench/fanout.svg`; `--reference` also copies
 * both to `bench/reference/`. Flags: `--agents 1000 --processes 4 --ns 10,100,1000 --runs 7
 * --cold-runs 5 --load-seconds 3 --quick --insecure --reference --skip startup,throughput,fanout,per-agent,floor,rule3,console`.
 */
import { spawn, fork } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createController, resolveTargets } from "../controller/index.js";
import {
  DisconnectAllResponse,
  DisconnectResponse,
  ListSessionsResponse,
} from "../proto/gen/wms/v1/wms_session.js";
import type { BareFanoutConfig } from "./bare-fanout.js";
import type { BareServerConfig } from "./bare-server.js";
import { clientCredentials, clientTlsFiles } from "./client-tls.js";
import { fanoutChartOf } from "./chart.js";
import { benchName, startAgentHost, startBenchFleet, type BenchFleet } from "./fleet.js";
import { callOnce, loadClient, loadRequest, runLoad, type LoadRpc } from "./load.js";
import { makeBenchPki, writeBenchPki, type BenchPkiFiles } from "./pki.js";
import { round, summarize, type Summary } from "./stats.js";
import { measureStartup, type StartupSample } from "./startup.js";
import type { WarmRunResult } from "./warm-controller.js";
import { printReport, type BenchResults, type FanoutRow } from "./report.js";
import { measureRule3 } from "./rule3.js";
import { benchConsole } from "./console.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const WMSCTL = here("../bin/wmsctl.js");

const { values: flags } = parseArgs({
  options: {
    agents: { type: "string", default: "1000" },
    processes: { type: "string", default: "4" },
    ns: { type: "string", default: "10,100,1000" },
    runs: { type: "string", default: "7" },
    "cold-runs": { type: "string", default: "5" },
    "startup-runs": { type: "string", default: "5" },
    "load-seconds": { type: "string", default: "3" },
    "load-rounds": { type: "string", default: "3" },
    quick: { type: "boolean", default: false },
    insecure: { type: "boolean", default: false },
    reference: { type: "boolean", default: false },
    out: { type: "string", default: here("./results.json") },
    skip: { type: "string", default: "" },
  },
});

const quick = flags.quick === true;
const agents = quick ? Math.min(100, Number(flags.agents)) : Number(flags.agents);
const ns = flags.ns
  .split(",")
  .map(Number)
  .filter((n) => n > 0 && n <= agents);
const runs = quick ? 3 : Number(flags.runs);
const coldRuns = quick ? 2 : Number(flags["cold-runs"]);
const startupRuns = quick ? 2 : Number(flags["startup-runs"]);
const loadMs = (quick ? 1 : Number(flags["load-seconds"])) * 1000;
const loadRounds = quick ? 1 : Number(flags["load-rounds"]);
const skip = new Set(flags.skip.split(",").filter((s) => s !== ""));
const log = (text: string) => process.stderr.write(`bench: ${text}\n`);

/** 1. Agent start-up. */
async function benchStartup(files: BenchPkiFiles | undefined, operator: string) {
  const samples: StartupSample[] = [];
  let transport = files === undefined ? "insecure loopback" : "mutual TLS";
  let useFiles = files;
  for (let run = 0; run < startupRuns; run++) {
    const sample = await measureStartup({ fqdn: benchName(0), files: useFiles, operator });
    if (sample === undefined) {
      log("this wms-agent build refuses --tls-*: start-up measured with --insecure-loopback");
      transport = "insecure loopback (agent build without mutual TLS)";
      useFiles = undefined;
      run--;
      continue;
    }
    samples.push(sample);
  }
  return {
    transport,
    toListeningMs: summarize(samples.map((s) => s.toListeningMs)),
    toServingMs: summarize(samples.map((s) => s.toServingMs)),
    idleRssBytes: summarize(samples.map((s) => s.idleRssBytes)),
  };
}

/** 2. One agent against a bare grpc-js server answering the same messages. */
async function benchThroughput(files: BenchPkiFiles | undefined, operator: string) {
  const fqdn = benchName(0);
  const tls =
    files === undefined ? null : { ca: files.ca, cert: files.agentCert, key: files.agentKey };
  const host = await startAgentHost({ names: [fqdn], tls, operator });
  const credentials = clientCredentials(clientTlsFiles(files));
  const agentAddress = `127.0.0.1:${host.ready.ports[0]}`;
  const probe = loadClient({ address: agentAddress, fqdn, credentials });
  const list = (await callOnce(probe, "listSessions", loadRequest("listSessions", fqdn))) as
    ListSessionsResponse | undefined;
  const disconnect = (await callOnce(probe, "disconnect", loadRequest("disconnect", fqdn))) as
    DisconnectResponse | undefined;
  probe.close();
  if (list === undefined || disconnect === undefined) throw new Error("no answer to capture");
  const bare = spawnBareServer({
    tls,
    listSessions: Buffer.from(ListSessionsResponse.encode(list).finish()).toString("base64"),
    disconnect: Buffer.from(DisconnectResponse.encode(disconnect).finish()).toString("base64"),
  });
  const bareAddress = `127.0.0.1:${(await bare.ready).port ?? 0}`;
  const cpuUs = async (server: "agent" | "bare") => {
    const stats = server === "agent" ? await host.command("stats") : await bare.command("stats");
    return server === "agent"
      ? Number(stats["cpuUserUs"]) + Number(stats["cpuSystemUs"])
      : Number(stats["cpuUs"]);
  };
  const result: NonNullable<BenchResults["throughput"]> = {};
  try {
    for (const rpc of ["listSessions", "disconnect"] as LoadRpc[]) {
      const rates = { agent: [] as number[], bare: [] as number[] };
      const cpuPerCall = { agent: [] as number[], bare: [] as number[] };
      let errors = 0;
      for (let round = 0; round < loadRounds; round++) {
        // Alternate, so that drift of the machine's load hits both sides alike.
        for (const [server, address] of [
          ["agent", agentAddress],
          ["bare", bareAddress],
        ] as const) {
          const before = await cpuUs(server);
          const measured = await runLoad({ address, fqdn, credentials, rpc, durationMs: loadMs });
          cpuPerCall[server].push(((await cpuUs(server)) - before) / measured.answered);
          errors += measured.errors;
          if (measured.errors > 0) log(`${rpc} at ${address}: ${measured.firstError}`);
          rates[server].push(measured.callsPerSecond);
        }
      }
      const ratio = (a: number[], b: number[]) => summarize(a.map((v, i) => v / (b[i] ?? NaN)));
      result[rpc === "listSessions" ? "ListSessions" : "Disconnect (what-if)"] = {
        agent: summarize(rates.agent),
        bare: summarize(rates.bare),
        ratio: ratio(rates.agent, rates.bare),
        agentCpuUsPerCall: summarize(cpuPerCall.agent),
        bareCpuUsPerCall: summarize(cpuPerCall.bare),
        cpuRatio: ratio(cpuPerCall.bare, cpuPerCall.agent),
        errors,
      };
      log(
        `${rpc}: agent ${Math.round(summarize(rates.agent).median)}/s (${Math.round(summarize(cpuPerCall.agent).median)} µs CPU a call), ` +
          `bare ${Math.round(summarize(rates.bare).median)}/s (${Math.round(summarize(cpuPerCall.bare).median)} µs)`,
      );
    }
  } finally {
    bare.stop();
    host.child.kill("SIGTERM");
  }
  return result;
}

/** A `bare-server.ts` process: its first line, then commands on standard input. */
function spawnBareServer(config: BareServerConfig) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", here("./bare-server.ts"), JSON.stringify(config)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const waiting: ((value: Record<string, unknown>) => void)[] = [];
  const ready = new Promise<{ port?: number; ports?: number[] }>((resolve, reject) => {
    waiting.push(resolve);
    child.once("exit", (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  createInterface({ input: child.stdout }).on("line", (line) =>
    waiting.shift()?.(JSON.parse(line) as Record<string, unknown>),
  );
  return {
    ready,
    command: (line: string) =>
      new Promise<Record<string, unknown>>((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${line}\n`);
      }),
    stop: () => child.kill("SIGTERM"),
  };
}

/** Runs `wmsctl disconnect --all` once and checks that every host answered `ok`. */
async function coldRun(
  fleet: BenchFleet,
  inventory: string,
  n: number,
  whatIf: boolean,
): Promise<number> {
  const args = [
    WMSCTL,
    "disconnect",
    "--all",
    ...(whatIf ? ["--what-if"] : []),
    "--inventory",
    inventory,
    "-o",
    "json",
    "--no-progress",
    ...(fleet.files === undefined
      ? ["--insecure-loopback"]
      : ["--ca", fleet.files.ca, "--cert", fleet.files.clientCert, "--key", fleet.files.clientKey]),
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  const wallMs = performance.now() - started;
  const hosts = JSON.parse(stdout || "[]") as { status: string }[];
  const ok = hosts.filter((h) => h.status === "ok").length;
  if (code !== 0 || ok !== n) {
    throw new Error(`wmsctl exited ${code} with ${ok}/${n} hosts ok: ${stderr.slice(0, 500)}`);
  }
  return wallMs;
}

/** What a fan-out phase measures. */
interface FanoutPlan {
  readonly ns: readonly number[];
  readonly whatIfs: readonly boolean[];
  readonly certificates: FanoutRow["certificates"];
}

/** 3. Fan-out, warm then cold. */
async function benchFanout(fleet: BenchFleet, plan: FanoutPlan) {
  const { ns, certificates } = plan;
  const rows: FanoutRow[] = [];
  const warm = fork(
    here("./warm-controller.ts"),
    [
      JSON.stringify({
        names: fleet.names,
        ports: fleet.hosts.flatMap((h) => h.ready.ports),
        tls: clientTlsFiles(fleet.files),
      }),
    ],
    {
      execArgv: ["--import", "tsx", "--expose-gc"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const replies: ((value: unknown) => void)[] = [];
  const ready = new Promise((resolve) => replies.push(resolve));
  warm.on("message", (message) => replies.shift()?.(message));
  const ask = <T>(request: object) =>
    new Promise<T>((resolve) => {
      replies.push(resolve as (value: unknown) => void);
      warm.send(request);
    });
  await ready;
  const baseline = await ask<{ rssBytes: number }>({ kind: "baseline" });
  let memory: { rssBytes: number; channels: number } | undefined;
  // RSS after each N's runs, over the baseline: the slope between the two largest N is what one
  // more open channel costs, without the process's own growth (JIT code, a young generation
  // grown by the runs) that the figure against the baseline spreads over the channels.
  const rssByChannels: Record<number, number> = {};
  const cpuPerHostUs: Record<number, Summary> = {};
  for (const n of ns) {
    for (const whatIf of plan.whatIfs) {
      const walls: number[] = [];
      const cpu: number[] = [];
      // The first run opens the channels that are not up yet: not counted.
      for (let run = -1; run < runs; run++) {
        if (!whatIf) await fleet.reset();
        const result = await ask<WarmRunResult & { error?: string }>({ kind: "run", n, whatIf });
        if (result.error !== undefined || result.ok !== n) {
          throw new Error(`warm run to ${n}: ${result.error ?? JSON.stringify(result.statuses)}`);
        }
        if (run >= 0) {
          walls.push(result.wallMs);
          cpu.push(result.cpuUs / n);
        }
      }
      rows.push({ mode: "warm", whatIf, n, certificates, wallMs: summarize(walls) });
      if (whatIf) cpuPerHostUs[n] = summarize(cpu);
      log(
        `${certificates}: warm ${whatIf ? "what-if" : "real"} N=${n}: median ${round(summarize(walls).median)} ms`,
      );
    }
    const after = await ask<{ rssBytes: number }>({ kind: "memory" });
    rssByChannels[n] = after.rssBytes - baseline.rssBytes;
    if (n === Math.max(...ns))
      memory = { rssBytes: after.rssBytes - baseline.rssBytes, channels: n };
  }
  warm.send({ kind: "close" });
  await new Promise((resolve) => warm.once("exit", resolve));

  for (const n of ns) {
    const inventory = await fleet.inventoryOf(n);
    await bundleCommands();
    for (const whatIf of plan.whatIfs) {
      const walls: number[] = [];
      for (let run = 0; run < coldRuns; run++) {
        if (!whatIf) await fleet.reset();
        walls.push(await coldRun(fleet, inventory, n, whatIf));
      }
      rows.push({ mode: "cold", whatIf, n, certificates, wallMs: summarize(walls) });
      log(
        `${certificates}: cold ${whatIf ? "what-if" : "real"} N=${n}: median ${round(summarize(walls).median)} ms`,
      );
    }
  }
  return {
    rows,
    cpuPerHostUs,
    rssPerChannelBytes: memory === undefined ? NaN : memory.rssBytes / memory.channels,
    rssMarginalPerChannelBytes: marginal(rssByChannels),
    channels: memory?.channels ?? 0,
  };
}

/** A real agent's answer to a what-if `DisconnectAll`, protobuf, base64: what bare servers send. */
async function captureDisconnectAll(files: BenchPkiFiles | undefined, operator: string) {
  const fqdn = benchName(0);
  const tls =
    files === undefined ? null : { ca: files.ca, cert: files.agentCert, key: files.agentKey };
  const host = await startAgentHost({ names: [fqdn], tls, operator });
  const controller = createController({ credentials: clientCredentials(clientTlsFiles(files)) });
  try {
    const targets = resolveTargets({
      servers: [fqdn],
      resolve: [`${fqdn}=127.0.0.1:${host.ready.ports[0]}`],
    });
    for await (const result of controller.disconnectAll(targets, { whatIf: true })) {
      if (result.status !== "ok") throw new Error(`capture: ${result.status} ${result.message}`);
      return Buffer.from(DisconnectAllResponse.encode(result.response).finish()).toString("base64");
    }
    throw new Error("capture: no answer");
  } finally {
    controller.close();
    host.child.kill("SIGTERM");
  }
}

/** `bench/bare-fanout.ts` bundled as wmsctl is, so that a cold run starts the same way. */
async function bundleBareFanout(): Promise<string> {
  const outfile = here("../dist/bench-bare-fanout.mjs");
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [here("./bare-fanout.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    banner: {
      js: 'import { createRequire as __benchCreateRequire } from "node:module"; const require = __benchCreateRequire(import.meta.url);',
    },
    target: "node20",
    logLevel: "warning",
  });
  return outfile;
}

/**
 * 4. The floor of the stack: a bare grpc-js client (`bare-fanout.ts`) calling `DisconnectAll`
 * on bare grpc-js servers (`bare-server.ts`, a real agent's captured answer), with the fleet's
 * layout: as many servers, processes and certificates, the same throttle; warm and cold.
 */
async function benchFloor(
  plan: Omit<FanoutPlan, "whatIfs">,
  response: string,
  bundle: string,
): Promise<NonNullable<BenchResults["floor"]>[number]> {
  const { ns, certificates } = plan;
  const names = Array.from({ length: agents }, (_, i) => benchName(i));
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-bench-floor-"));
  const pki =
    certificates === "none"
      ? undefined
      : await makeBenchPki(names, undefined, certificates === "per-agent");
  const files = pki === undefined ? undefined : await writeBenchPki(pki, dir);
  const processes = Math.max(1, Math.min(Number(flags.processes), agents));
  const per = Math.ceil(agents / processes);
  const servers = Array.from({ length: processes }, (_, p) =>
    spawnBareServer({
      tls:
        files === undefined ? null : { ca: files.ca, cert: files.agentCert, key: files.agentKey },
      listSessions: "",
      disconnect: "",
      disconnectAll: response,
      names: names.slice(p * per, (p + 1) * per),
      ...(files?.perAgentDir === undefined ? {} : { perAgentDir: files.perAgentDir }),
    }),
  );
  const rows: FanoutRow[] = [];
  const cpuPerHostUs: Record<number, Summary> = {};
  let rssPerChannelBytes = NaN;
  try {
    const ports = (await Promise.all(servers.map((s) => s.ready))).flatMap((r) => r.ports ?? []);
    const client = async (mode: "cold" | "warm", n: number) => {
      const config: BareFanoutConfig = {
        mode,
        names: names.slice(0, n),
        ports: ports.slice(0, n),
        tls: clientTlsFiles(files),
        throttle: 32,
        runs,
      };
      const started = performance.now();
      const child = spawn(process.execPath, ["--expose-gc", bundle, JSON.stringify(config)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      if (code !== 0)
        throw new Error(`bare fan-out to ${n} exited ${code}: ${stderr.slice(0, 500)}`);
      return { wallMs: performance.now() - started, stdout };
    };
    for (const n of ns) {
      const warm = JSON.parse((await client("warm", n)).stdout) as {
        wallMs: number[];
        cpuUsPerHost: number[];
        rssPerChannelBytes: number;
      };
      rows.push({ mode: "warm", whatIf: true, n, certificates, wallMs: summarize(warm.wallMs) });
      cpuPerHostUs[n] = summarize(warm.cpuUsPerHost);
      if (n === Math.max(...ns)) rssPerChannelBytes = warm.rssPerChannelBytes;
      const cold: number[] = [];
      for (let run = 0; run < coldRuns; run++) cold.push((await client("cold", n)).wallMs);
      rows.push({ mode: "cold", whatIf: true, n, certificates, wallMs: summarize(cold) });
      log(
        `floor (${certificates}) N=${n}: warm median ${round(summarize(warm.wallMs).median)} ms, cold ${round(summarize(cold).median)} ms`,
      );
    }
  } finally {
    for (const server of servers) server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { certificates, rows, cpuPerHostUs, rssPerChannelBytes, channels: Math.max(...ns) };
}

/** The slope of RSS against open channels between the two largest N; NaN with fewer than two. */
function marginal(rssByChannels: Record<number, number>): number {
  const [last, previous] = Object.keys(rssByChannels)
    .map(Number)
    .sort((a, b) => b - a);
  if (last === undefined || previous === undefined) return NaN;
  return ((rssByChannels[last] ?? NaN) - (rssByChannels[previous] ?? NaN)) / (last - previous);
}

/**
 * Rebuilds dist/ (as `npm ci` does) so that the cold runs measure the start-up of the sources as
 * they are now: bin/wmsctl.js runs whatever bundle dist/ holds.
 */
async function bundleCommands(): Promise<void> {
  const child = spawn(process.execPath, [here("../scripts/bundle.js")], { stdio: "ignore" });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0)
    throw new Error("scripts/bundle.js failed: the cold runs would measure an old bundle");
}

async function gitCommit(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn("git", ["rev-parse", "--short", "HEAD"], { cwd: here("..") });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.once("close", () => resolve(out.trim()));
    child.once("error", () => resolve(""));
  });
}

async function main(): Promise<void> {
  const tls = flags.insecure !== true;
  const startedAt = new Date().toISOString();
  const load = loadavg();
  const names = Array.from({ length: agents }, (_, i) => benchName(i));
  // One PKI for the parts measured outside the fleet (the fleet makes its own, for all names).
  const pki = tls ? await makeBenchPki(names.slice(0, 1)) : undefined;
  const pkiDir = await mkdtemp(join(tmpdir(), "wmsfleet-bench-pki-"));
  const files = pki === undefined ? undefined : await writeBenchPki(pki, pkiDir);
  const operator = pki?.clientIdentity ?? "bench-operator";

  const results: BenchResults = {
    meta: {
      startedAt,
      finishedAt: "",
      commit: await gitCommit(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "",
      loadAverageAtStart: load.map((v) => round(v, 2)),
      loadAverageAtEnd: [],
      transport: tls ? "mutual TLS (P-256, one CA)" : "insecure loopback",
      agents,
      processes: Number(flags.processes),
      runs,
      coldRuns,
      quick,
    },
    startup: undefined,
    throughput: undefined,
    fanout: undefined,
    fanoutPerAgentCertificates: undefined,
    floor: undefined,
    rule3: undefined,
  };

  if (!skip.has("startup")) {
    log("agent start-up");
    results.startup = await benchStartup(files, operator);
  }
  if (!skip.has("throughput")) {
    log("agent throughput against bare grpc-js");
    results.throughput = await benchThroughput(files, operator);
  }
  if (!skip.has("fanout")) {
    log(`starting ${agents} agents in ${flags.processes} processes`);
    const fleet = await startBenchFleet({ agents, processes: Number(flags.processes), tls });
    log(`agents up (${fleet.hosts.map((h) => `${h.ready.startMs} ms`).join(", ")})`);
    try {
      results.fanout = {
        ...(await benchFanout(fleet, {
          ns,
          whatIfs: [true, false],
          certificates: tls ? "shared" : "none",
        })),
        agentHostStartMs: fleet.hosts.map((h) => h.ready.startMs),
      };
    } finally {
      await fleet.stop();
    }
  }
  if (!skip.has("per-agent") && tls) {
    // As deployed: each agent its own certificate naming only itself. The shared certificate
    // above names all 1,000 agents; every handshake sends, parses and keeps all of its SANs.
    log(`starting ${agents} agents with a certificate each`);
    const fleet = await startBenchFleet({
      agents,
      processes: Number(flags.processes),
      tls,
      certPerAgent: true,
    });
    try {
      results.fanoutPerAgentCertificates = await benchFanout(fleet, {
        ns: ns.filter((n) => n >= 100),
        whatIfs: [true],
        certificates: "per-agent",
      });
    } finally {
      await fleet.stop();
    }
  }
  if (!skip.has("floor")) {
    log("the floor: a bare grpc-js client against bare grpc-js servers");
    const response = await captureDisconnectAll(files, operator);
    const bundle = await bundleBareFanout();
    const layouts: FanoutRow["certificates"][] = !tls
      ? ["none"]
      : [
          ...(skip.has("fanout") ? [] : (["shared"] as const)),
          ...(skip.has("per-agent") && !skip.has("fanout") ? [] : (["per-agent"] as const)),
        ];
    results.floor = [];
    for (const certificates of layouts) {
      const floorNs = certificates === "per-agent" ? ns.filter((n) => n >= 100) : ns;
      results.floor.push(await benchFloor({ ns: floorNs, certificates }, response, bundle));
    }
  }
  if (!skip.has("console") && tls) {
    log(`the console: starting ${agents} agents in ${flags.processes} processes`);
    // As deployed, and as the per-agent floor: each agent its own certificate.
    const fleet = await startBenchFleet({
      agents,
      processes: Number(flags.processes),
      tls,
      certPerAgent: true,
    });
    try {
      results.console = await benchConsole(fleet, {
        runs,
        changes: quick ? 20 : 100,
        log,
      });
    } finally {
      await fleet.stop();
    }
  }
  if (!skip.has("rule3")) {
    log("protection rule 3 on its own");
    results.rule3 = await measureRule3(runs, 100);
    if (results.rule3 === undefined) log("rule 3 is measured on Linux only");
    else log(`rule 3: ${round(results.rule3.loopbackLookup.wallUs.median)} µs per loopback lookup`);
  }
  await rm(pkiDir, { recursive: true, force: true });
  results.meta.finishedAt = new Date().toISOString();
  results.meta.loadAverageAtEnd = loadavg().map((v) => round(v, 2));

  printReport(results, process.stdout);
  await writeFile(flags.out, `${JSON.stringify(results, null, 2)}\n`);
  const svgPath = flags.out.replace(/results\.json$/, "fanout.svg").replace(/\.json$/, ".svg");
  if (results.fanout !== undefined) {
    await writeFile(
      svgPath,
      fanoutChartOf(
        [...results.fanout.rows, ...(results.fanoutPerAgentCertificates?.rows ?? [])],
        results.meta.transport,
        (results.floor ?? []).flatMap((floor) => floor.rows),
      ),
    );
  }
  log(`wrote ${flags.out}${results.fanout === undefined ? "" : ` and ${svgPath}`}`);
  if (flags.reference === true) {
    const dir = here("./reference/");
    await mkdir(dir, { recursive: true });
    await copyFile(flags.out, `${dir}results.json`);
    if (results.fanout !== undefined) await copyFile(svgPath, `${dir}fanout.svg`);
    log(`copied to ${dir}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
