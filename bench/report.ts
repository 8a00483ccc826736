/**
 * The bench's results: their shape (written as `bench/results.json`), the targets of issue 6
 * and the table printed at the end of `npm run bench`.
 */
import type { ConsoleBenchResult } from "./console.js";
import type { Rule3Cost, Rule3Results } from "./rule3.js";
import { round, type Summary } from "./stats.js";

/** One fan-out measurement. */
export interface FanoutRow {
  readonly mode: "warm" | "cold";
  readonly whatIf: boolean;
  readonly n: number;
  /** One certificate naming every agent (`shared`), one each (`per-agent`), or no TLS. */
  readonly certificates: "shared" | "per-agent" | "none";
  readonly wallMs: Summary;
}

/** One agent against the bare grpc-js server, for one RPC. */
export interface ThroughputResult {
  /** Calls a second (median of the rounds). */
  agent: Summary;
  bare: Summary;
  /** agent / bare calls a second, per round. */
  ratio: Summary;
  /** The server process's CPU (user + system) per answered call, microseconds. */
  agentCpuUsPerCall: Summary;
  bareCpuUsPerCall: Summary;
  /** bare / agent CPU per call, per round: the agent's throughput per core against bare's. */
  cpuRatio: Summary;
  errors: number;
}

/** The floor of one certificate layout: a bare grpc-js client and bare grpc-js servers. */
export interface FloorResult {
  certificates: FanoutRow["certificates"];
  /** What-if only: warm and cold per N. */
  rows: FanoutRow[];
  /** The bare client's CPU per host, warm, microseconds. */
  cpuPerHostUs: Record<number, Summary>;
  /** The bare client's RSS per open channel at the largest N (after a GC). */
  rssPerChannelBytes: number;
  channels: number;
}

/** Everything one bench run measured. */
export interface BenchResults {
  meta: {
    startedAt: string;
    finishedAt: string;
    commit: string;
    node: string;
    cpus: number;
    cpuModel: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    transport: string;
    agents: number;
    processes: number;
    runs: number;
    coldRuns: number;
    quick: boolean;
  };
  startup:
    | {
        transport: string;
        toListeningMs: Summary;
        toServingMs: Summary;
        idleRssBytes: Summary;
      }
    | undefined;
  throughput: Record<string, ThroughputResult> | undefined;
  fanout:
    | {
        rows: FanoutRow[];
        /** Controller CPU (user + system) per host of a warm what-if run, microseconds. */
        cpuPerHostUs: Record<number, Summary>;
        rssPerChannelBytes: number;
        /** What one more open channel costs: the RSS slope between the two largest N. */
        rssMarginalPerChannelBytes: number;
        channels: number;
        agentHostStartMs: number[];
      }
    | undefined;
  /** The floor of the stack, per certificate layout (see `bare-fanout.ts`). */
  floor: FloorResult[] | undefined;
  /** Protection rule 3 on its own (see `rule3.ts`); `undefined` when skipped or off Linux. */
  rule3?: Rule3Results | undefined;
  /** The console (issue 13, `console.ts`); `undefined` when skipped. */
  console?: ConsoleBenchResult | undefined;
  /** The same fan-out (what-if, N >= 100) with a certificate per agent, as deployed. */
  fanoutPerAgentCertificates:
    | {
        rows: FanoutRow[];
        cpuPerHostUs: Record<number, Summary>;
        rssPerChannelBytes: number;
        rssMarginalPerChannelBytes: number;
        channels: number;
      }
    | undefined;
}

/** One target of issue 6 and whether this run met it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
  /** The same figure for the bare grpc-js floor in this run, where there is one. */
  readonly floor?: string;
}

function fanoutMedian(
  rows: readonly FanoutRow[] | undefined,
  mode: "warm" | "cold",
  n: number,
): number | undefined {
  return rows?.find((r) => r.mode === mode && r.whatIf && r.n === n)?.wallMs.median;
}

/** The targets, checked against the results (`met` is undefined when not measured). */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const bound = (target: string, value: number | undefined, limit: number, unit: string) => ({
    target,
    measured:
      value === undefined || Number.isNaN(value) ? "not measured" : `${round(value)} ${unit}`,
    met: value === undefined || Number.isNaN(value) ? undefined : value <= limit,
  });
  const ratios = Object.entries(results.throughput ?? {}).flatMap(([rpc, t]) => [
    {
      target: `${rpc} throughput >= 80% of bare grpc-js (calls/s)`,
      measured: `${round(t.ratio.median * 100)} %`,
      met: t.ratio.median >= 0.8,
    } satisfies TargetCheck,
    {
      target: `${rpc} throughput per core >= 80% of bare grpc-js (CPU a call)`,
      measured: `${round(t.cpuRatio.median * 100)} %`,
      met: t.cpuRatio.median >= 0.8,
    } satisfies TargetCheck,
  ]);
  const perAgent = results.fanoutPerAgentCertificates;
  const floorOf = (certificates: FanoutRow["certificates"]) =>
    results.floor?.find((f) => f.certificates === certificates)?.rows;
  const both = (
    target: string,
    value: (
      rows: BenchResults["fanout"] | BenchResults["fanoutPerAgentCertificates"],
    ) => number | undefined,
    limit: number,
    unit: string,
    floorValue?: (rows: readonly FanoutRow[] | undefined) => number | undefined,
  ) => {
    const withFloor = (check: TargetCheck, certificates: FanoutRow["certificates"]) => {
      const measured = floorValue?.(floorOf(certificates));
      return measured === undefined || Number.isNaN(measured)
        ? check
        : { ...check, floor: `${round(measured)} ${unit}` };
    };
    const shared = results.fanout?.rows[0]?.certificates ?? "shared";
    return [
      withFloor(
        bound(`${target} (${certificatesLabel(shared)})`, value(results.fanout), limit, unit),
        shared,
      ),
      ...(perAgent === undefined
        ? []
        : [
            withFloor(
              bound(`${target} (a certificate per agent)`, value(perAgent), limit, unit),
              "per-agent",
            ),
          ]),
    ];
  };
  const fanoutAt =
    (mode: "warm" | "cold", n: number) =>
    (f: { readonly rows: readonly FanoutRow[] } | undefined) =>
      fanoutMedian(f?.rows, mode, n);
  const floorAt = (mode: "warm" | "cold", n: number) => (rows: readonly FanoutRow[] | undefined) =>
    fanoutMedian(rows, mode, n);
  return [
    ...both(
      "warm fan-out to 1000, median <= 150 ms",
      fanoutAt("warm", 1000),
      150,
      "ms",
      floorAt("warm", 1000),
    ),
    ...both("cold wmsctl to 100 <= 500 ms", fanoutAt("cold", 100), 500, "ms", floorAt("cold", 100)),
    ...both(
      "cold wmsctl to 1000 <= 1500 ms",
      fanoutAt("cold", 1000),
      1500,
      "ms",
      floorAt("cold", 1000),
    ),
    ...both(
      "controller RSS <= 120 KB per open channel",
      (f) => (f === undefined ? undefined : f.rssPerChannelBytes / 1024),
      120,
      "KB",
      (rows) => {
        const floor = results.floor?.find((f) => f.rows === rows);
        return floor === undefined ? undefined : floor.rssPerChannelBytes / 1024;
      },
    ),
    ...both(
      "controller RSS <= 120 KB per additional open channel (slope)",
      (f) => (f === undefined ? undefined : f.rssMarginalPerChannelBytes / 1024),
      120,
      "KB",
    ),
    ...ratios,
  ];
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** How the agents' certificates were laid out, in words. */
function certificatesLabel(certificates: FanoutRow["certificates"]): string {
  return certificates === "none"
    ? "no TLS"
    : certificates === "shared"
      ? "one certificate for all agents"
      : "a certificate per agent";
}

/**
 * Fan-out rows without the what-if column (all what-if), then the client's CPU per host and its
 * memory figures (bytes, printed in KB).
 */
function modeTable(
  rows: readonly FanoutRow[],
  cpuPerHostUs: Record<number, Summary>,
  client: "controller" | "client",
  memory: readonly (readonly [label: string, bytes: number])[],
): string {
  return `${table([
    ["mode", "N", "median", "min", "max", "runs"],
    ...rows.map((r) => [r.mode, String(r.n), ...ms(r.wallMs), String(r.wallMs.runs)]),
    [],
    ...Object.entries(cpuPerHostUs).map(([n, c]) => [
      `${client} CPU per host at N=${n}`,
      `${round(c.median)} µs`,
    ]),
    ...memory.map(([label, bytes]) => [`${client} ${label}`, `${round(bytes / 1024)} KB`]),
  ])}\n\n`;
}

const ms = (s: Summary) => [`${round(s.median)}`, `${round(s.min)}`, `${round(s.max)}`];

/** Prints the results as tables. */
export function printReport(results: BenchResults, out: NodeJS.WritableStream): void {
  const { meta } = results;
  out.write(
    `\nwmsfleet bench — ${meta.startedAt} — commit ${meta.commit} — Node ${meta.node} — ${meta.cpus} × ${meta.cpuModel}\n` +
      `transport: ${meta.transport}; load average at start ${meta.loadAverageAtStart.join(" ")}, at end ${meta.loadAverageAtEnd.join(" ")}\n\n`,
  );
  if (results.fanout !== undefined) {
    out.write(
      `Fan-out DisconnectAll (${meta.agents} agents in ${meta.processes} processes), wall ms\n`,
    );
    out.write(
      `${table([
        ["mode", "what-if", "N", "median", "min", "max", "runs"],
        ...results.fanout.rows.map((r) => [
          r.mode,
          r.whatIf ? "yes" : "no",
          String(r.n),
          ...ms(r.wallMs),
          String(r.wallMs.runs),
        ]),
      ])}\n\n`,
    );
    out.write(
      `${table([
        ["controller (warm what-if)", "value"],
        ...Object.entries(results.fanout.cpuPerHostUs).map(([n, s]) => [
          `CPU per host at N=${n}`,
          `${round(s.median)} µs`,
        ]),
        [
          `RSS per open channel (${results.fanout.channels} channels)`,
          `${round(results.fanout.rssPerChannelBytes / 1024)} KB`,
        ],
        [
          "RSS per additional open channel (slope)",
          `${round(results.fanout.rssMarginalPerChannelBytes / 1024)} KB`,
        ],
      ])}\n\n`,
    );
  }
  const perAgent = results.fanoutPerAgentCertificates;
  if (perAgent !== undefined) {
    out.write("Fan-out DisconnectAll what-if, a certificate per agent (as deployed), wall ms\n");
    out.write(
      modeTable(perAgent.rows, perAgent.cpuPerHostUs, "controller", [
        [`RSS per open channel (${perAgent.channels})`, perAgent.rssPerChannelBytes],
        ["RSS per additional open channel (slope)", perAgent.rssMarginalPerChannelBytes],
      ]),
    );
  }
  if (results.throughput !== undefined) {
    out.write(
      "One agent under concurrent load (64 calls in flight, 4 connections): calls/s, and the server's CPU per call\n",
    );
    out.write(
      `${table([
        [
          "rpc",
          "agent",
          "bare grpc-js",
          "ratio",
          "agent µs/call",
          "bare µs/call",
          "ratio",
          "errors",
        ],
        ...Object.entries(results.throughput).map(([rpc, t]) => [
          rpc,
          String(Math.round(t.agent.median)),
          String(Math.round(t.bare.median)),
          `${round(t.ratio.median * 100)} %`,
          String(Math.round(t.agentCpuUsPerCall.median)),
          String(Math.round(t.bareCpuUsPerCall.median)),
          `${round(t.cpuRatio.median * 100)} %`,
          String(t.errors),
        ]),
      ])}\n\n`,
    );
  }
  for (const floor of results.floor ?? []) {
    out.write(
      `The floor: a bare grpc-js client to bare grpc-js servers, DisconnectAll what-if (${certificatesLabel(floor.certificates)}), wall ms\n`,
    );
    out.write(
      modeTable(floor.rows, floor.cpuPerHostUs, "client", [
        [`RSS per open channel (${floor.channels})`, floor.rssPerChannelBytes],
      ]),
    );
  }

  if (results.rule3 !== undefined) {
    const r = results.rule3;
    const cost = (label: string, c: Rule3Cost) => [
      label,
      ms(c.wallUs).join(" / "),
      ms(c.cpuUs).join(" / "),
    ];
    out.write(
      `Protection rule 3 on its own, µs per lookup (${r.lookupsPerRound} lookups a round; this machine: ${r.processes} processes, ${r.descriptors} descriptors)\n`,
    );
    out.write(
      `${table([
        ["step", "wall median/min/max", "CPU median/min/max"],
        cost("a loopback caller: peer to session", r.loopbackLookup),
        cost("  its socket by 4-tuple (netlink)", r.socket),
        cost("  socket and every holder (procfs)", r.resolver),
        cost("  the holder's session (environ)", r.session),
        cost("a remote peer (not this host's)", r.remotePeer),
      ])}\n\n`,
    );
  }
  if (results.console !== undefined) {
    const c = results.console;
    const x = (summary: { median: number }) => `${round(summary.median, 2)}×`;
    const ratio = ` (${x(c.apiOverFloor)} the warm bare grpc-js floor to the same agents, target ≤ 1.2×; ${x(c.apiOverLibrary)} the warm library; run by run)`;
    const loop = (l: { p99: number; max: number }) => `p99 ${l.p99}, max ${l.max}`;
    out.write(`Console watching ${c.hosts} agents (mutual TLS, a certificate each)
`);
    out.write(
      `${table([
        ["start until every host is watched, ms", ms(c.startToWatchedMs).join(" / ")],
        ["  the console's CPU time meanwhile, ms", ms(c.startCpuMs).join(" / ")],
        [
          `event loop delay, ms, quiet / ${c.eventLoopDelayMs.churnPerSecond} changes/s (${c.eventLoopDelayMs.windowMs / 1000} s each)`,
          `${loop(c.eventLoopDelayMs.quiet)} / ${loop(c.eventLoopDelayMs.churn)}`,
        ],
        [
          "RSS per watched host (target ≤ 250 KB)",
          `${round(c.rssPerWatchedHostBytes / 1024)} KB (${round(c.rssBytes.one / 1048576)} MB with 1 host, ${round(c.rssBytes.all / 1048576)} MB with ${c.hosts})`,
        ],
        [
          `what-if disconnect to ${c.hosts} hosts, POST /api/v1/actions, ms`,
          `${ms(c.actionWallMs).join(" / ")}${ratio}`,
        ],
        [
          `  the same by the warm library, ms`,
          `${ms(c.libraryWallMs).join(" / ")} (${x(c.libraryOverFloor)} the floor)`,
        ],
        [`  the same by the warm bare grpc-js floor, ms`, ms(c.floorWallMs).join(" / ")],
        [
          `  CPU time of one run, ms: console / library / floor`,
          [c.whatIfCpuMs.console, c.whatIfCpuMs.library, c.whatIfCpuMs.floor]
            .map((cpu) => round(cpu.median))
            .join(" / "),
        ],
        [
          `real disconnect to ${c.hosts} hosts (${c.real.sessionsPerRun} session results), API / library, ms`,
          `${ms(c.real.apiWallMs).join(" / ")} | ${ms(c.real.libraryWallMs).join(" / ")}`,
        ],
        ...Object.entries(c.sseLatencyMs).map(([clients, l]) => [
          `change on an agent to SSE event, ${clients} client(s), ms (target p99 ≤ 1000)`,
          `median ${l.median}, p99 ${l.p99} (${l.samples} samples)`,
        ]),
      ])}\n\n`,
    );
  }
  if (results.startup !== undefined) {
    const s = results.startup;
    out.write(`Agent start-up (${s.transport}), ms: median/min/max\n`);
    out.write(
      `${table([
        ["to listening", ms(s.toListeningMs).join(" / ")],
        ["to SERVING", ms(s.toServingMs).join(" / ")],
        ["idle RSS (MB)", `${round(s.idleRssBytes.median / 1048576)}`],
      ])}\n\n`,
    );
  }
  out.write("Targets\n");
  out.write(
    `${table([
      ["target", "measured", "met", "grpc-js floor"],
      ...checkTargets(results).map((t) => [
        t.target,
        t.measured,
        t.met === undefined ? "-" : t.met ? "yes" : "NO",
        t.floor ?? "",
      ]),
    ])}\n`,
  );
}
