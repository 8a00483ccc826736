/**
 * `npm run soak -- --minutes N`: mixed calls from many clients against real agents (an
 * agent-host process, mutual TLS) for N minutes, checking that no call fails and that neither
 * the clients nor the agents grow: resident memory and open handles
 * (`process.getActiveResourcesInfo()`), sampled every second, compared between the end of the
 * warm-up and the end of the run. Prints a summary; exits 1 when a check fails.
 *
 * The mix, per client: ListSessions, DisconnectAll (what-if), Disconnect (what-if), GetAgentInfo
 * over the whole fleet through the controller library, a real DisconnectAll now and then (the
 * sessions are put back after), and a short-lived client (new connection, one call, closed), so
 * that connections come and go as they do in production.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createController, type Controller, type HostResult } from "../controller/index.js";
import { clientCredentials, clientTlsFiles } from "./client-tls.js";
import { startBenchFleet } from "./fleet.js";
import { callOnce, loadClient, loadRequest } from "./load.js";

/** Options of {@link runSoak}. */
export interface SoakOptions {
  readonly minutes: number;
  /** @default 8 */
  readonly agents?: number;
  /** @default 12 */
  readonly clients?: number;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
}

/** One side's growth over the run. */
export interface Growth {
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
  readonly handlesStart: number;
  readonly handlesEnd: number;
}

/** What a soak run found. */
export interface SoakSummary {
  readonly seconds: number;
  readonly calls: number;
  readonly hostResults: number;
  readonly errors: number;
  readonly firstErrors: string[];
  readonly clients: Growth;
  readonly agents: Growth;
  /** The checks that failed; empty when the run passed. */
  readonly failures: string[];
}

/** RSS may grow by this much (plus 25%) between warm-up and end: allocator noise, JIT, caches. */
const RSS_SLACK_BYTES = 48 * 1024 * 1024;
/** Open handles may differ by this many (timers and sockets in flight at the sampling instant). */
const HANDLE_SLACK = 12;

interface Sample {
  readonly rss: number;
  readonly handles: number;
  readonly agentRss: number;
  readonly agentHandles: number;
}

/** Runs the soak and returns its summary (it never throws for a failed check). */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const log = options.log ?? (() => undefined);
  const fleet = await startBenchFleet({ agents: options.agents ?? 8, processes: 1 });
  const host = fleet.hosts[0];
  if (host === undefined) throw new Error("no agent host");
  const controllers: Controller[] = [];
  let calls = 0;
  let hostResults = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  const fail = (what: string) => {
    errors++;
    if (firstErrors.length < 5) firstErrors.push(what);
  };
  const check = (result: HostResult<unknown>, rpc: string) => {
    hostResults++;
    if (result.status !== "ok") fail(`${rpc} ${result.host}: ${result.status} ${result.message}`);
  };
  const samples: Sample[] = [];
  const sample = async () => {
    const stats = await host.command("stats");
    samples.push({
      rss: process.memoryUsage().rss,
      handles: process.getActiveResourcesInfo().length,
      agentRss: stats["rssBytes"] as number,
      agentHandles: stats["handles"] as number,
    });
  };
  try {
    const runMs = options.minutes * 60_000;
    const started = performance.now();
    const end = started + runMs;
    const warmupEnd = started + Math.min(10_000, runMs / 4);
    let warmupSample: number | undefined;
    const targets = fleet.targets;
    let resetting = Promise.resolve();

    const client = async (index: number) => {
      const controller = createController({
        credentials: clientCredentials(clientTlsFiles(fleet.files)),
        throttle: 8,
        timeoutMs: 10_000,
      });
      controllers.push(controller);
      for (let round = 0; performance.now() < end; round++) {
        const op = (round + index) % 6;
        calls++;
        try {
          if (op === 0) {
            for await (const r of controller.listSessions(targets)) check(r, "ListSessions");
          } else if (op === 1) {
            for await (const r of controller.disconnectAll(targets, { whatIf: true }))
              check(r, "DisconnectAll what-if");
          } else if (op === 2) {
            for await (const r of controller.disconnect(targets, [2, 3, 99], { whatIf: true }))
              check(r, "Disconnect what-if");
          } else if (op === 3) {
            for await (const r of controller.getAgentInfo(targets)) check(r, "GetAgentInfo");
          } else if (op === 4 && index === 0) {
            await resetting;
            for await (const r of controller.disconnectAll(targets.slice(0, 2)))
              check(r, "DisconnectAll");
            resetting = fleet.reset();
            await resetting;
          } else {
            // A short-lived client: its own connection, one call, closed.
            const target = targets[round % targets.length];
            if (target === undefined) continue;
            const once = loadClient({
              address: `127.0.0.1:${target.address.port}`,
              fqdn: target.fqdn,
              credentials: clientCredentials(clientTlsFiles(fleet.files)),
            });
            try {
              hostResults++;
              await callOnce(once, "listSessions", loadRequest("listSessions", target.fqdn));
            } catch (error) {
              fail(`short-lived ListSessions ${target.fqdn}: ${(error as Error).message}`);
            } finally {
              once.close();
            }
          }
        } catch (error) {
          fail(`client ${index}: ${(error as Error).message}`);
        }
      }
    };

    const sampler = (async () => {
      while (performance.now() < end) {
        await sleep(1000);
        await sample();
        if (warmupSample === undefined && performance.now() >= warmupEnd) {
          warmupSample = samples.length - 1;
          log(`warm-up done (${samples.length} samples)`);
        }
        if (samples.length % 30 === 0) {
          const last = samples[samples.length - 1];
          log(
            `${Math.round((performance.now() - started) / 1000)} s: ${calls} calls, ${errors} errors, RSS ${Math.round((last?.rss ?? 0) / 1048576)} MiB (agents ${Math.round((last?.agentRss ?? 0) / 1048576)} MiB)`,
          );
        }
      }
    })();
    await Promise.all([
      sampler,
      ...Array.from({ length: options.clients ?? 12 }, (_, i) => client(i)),
    ]);
    // Let connections that just closed finish closing before the last sample.
    await sleep(500);
    await sample();

    const seconds = (performance.now() - started) / 1000;
    const base = samples[warmupSample ?? 0];
    const last = samples[samples.length - 1];
    if (base === undefined || last === undefined) throw new Error("no samples");
    // The end value is the lowest of the last samples: a GC may simply not have run yet.
    const tail = samples.slice(-Math.max(1, Math.floor(samples.length / 4)));
    const endRss = Math.min(...tail.map((s) => s.rss));
    const endAgentRss = Math.min(...tail.map((s) => s.agentRss));
    const summary = {
      seconds,
      calls,
      hostResults,
      errors,
      firstErrors,
      clients: {
        rssStartBytes: base.rss,
        rssEndBytes: endRss,
        handlesStart: base.handles,
        handlesEnd: last.handles,
      },
      agents: {
        rssStartBytes: base.agentRss,
        rssEndBytes: endAgentRss,
        handlesStart: base.agentHandles,
        handlesEnd: last.agentHandles,
      },
    };
    const failures: string[] = [];
    if (errors > 0) failures.push(`${errors} calls failed: ${firstErrors.join("; ")}`);
    for (const [side, growth] of [
      ["clients", summary.clients],
      ["agents", summary.agents],
    ] as const) {
      const allowed = RSS_SLACK_BYTES + growth.rssStartBytes * 0.25;
      if (growth.rssEndBytes - growth.rssStartBytes > allowed) {
        failures.push(
          `${side}: RSS grew from ${mib(growth.rssStartBytes)} to ${mib(growth.rssEndBytes)} MiB`,
        );
      }
      if (growth.handlesEnd - growth.handlesStart > HANDLE_SLACK) {
        failures.push(
          `${side}: open handles grew from ${growth.handlesStart} to ${growth.handlesEnd}`,
        );
      }
    }
    return { ...summary, failures };
  } finally {
    for (const controller of controllers) controller.close();
    await fleet.stop();
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

/** The summary as text. */
export function formatSoak(summary: SoakSummary): string {
  const side = (name: string, g: Growth) =>
    `${name}: RSS ${mib(g.rssStartBytes)} -> ${mib(g.rssEndBytes)} MiB, handles ${g.handlesStart} -> ${g.handlesEnd}`;
  return [
    `soak: ${Math.round(summary.seconds)} s, ${summary.calls} calls (${summary.hostResults} host results), ${summary.errors} errors`,
    side("clients", summary.clients),
    side("agents ", summary.agents),
    summary.failures.length === 0 ? "PASS" : `FAIL\n  ${summary.failures.join("\n  ")}`,
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "1" },
      agents: { type: "string", default: "8" },
      clients: { type: "string", default: "12" },
    },
  });
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60)) {
    process.stderr.write("soak: --minutes must be a number of minutes, more than 0\n");
    process.exit(2);
  }
  const summary = await runSoak({
    minutes,
    agents: Number(values.agents),
    clients: Number(values.clients),
    log: (line) => process.stderr.write(`soak: ${line}\n`),
  });
  process.stdout.write(`${formatSoak(summary)}\n`);
  process.exitCode = summary.failures.length === 0 ? 0 : 1;
}
