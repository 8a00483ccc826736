/**
 * A bench agent host: one process running N real agents (`startAgent`, simulated classroom
 * backend), each on 127.0.0.1:0 under mutual TLS, as N MultiPoint hosts would.
 *
 * Usage: `node --import tsx bench/agent-host.ts` with one JSON argument:
 * `{ "names": ["agent-0001.bench.test", ...], "tls": { "ca", "cert", "key" } | null }`
 * (PEM file paths; `null` runs the agents without TLS, on loopback).
 *
 * Prints one JSON line once every agent is serving: `{ "ready": true, "ports": [...], "startMs",
 * "rssBytes" }`. Then reads commands, one a line, on standard input, answering one JSON line each:
 * - `reset`: every session back to the fixture (so "real" DisconnectAll runs disconnect again);
 * - `stats`: `{ rssBytes, cpuUserUs, cpuSystemUs, disconnectCalls, handles }` (handles: active
 *   resources, `process.getActiveResourcesInfo()`).
 * - `profile-start`, then `profile-stop FILE`: a CPU profile of the process in between.
 * - `churn RATE`: from now on RATE session changes a second over this process's agents (a
 *   random session locked or unlocked, at random), as a busy fleet makes; `churn 0` stops.
 * SIGTERM (or standard input closing) shuts every agent down and exits.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { ServerCredentials } from "@grpc/grpc-js";
import { startAgent, type Agent } from "../agent/server/agent.js";
import { createSimulatedBackend, type SimulatedBackend } from "../agent/backends/simulated.js";
import { defaultSimFixture } from "../agent/backends/sim-fixture.js";
import { SessionState } from "../proto/gen/wms/v1/wms_session.js";
import { createAccessPolicy } from "../agent/security/authorization.js";

/** The argument of an agent host. */
export interface AgentHostConfig {
  readonly names: readonly string[];
  readonly tls: {
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
    /** A folder of `<name>.pem`/`<name>.key`: each agent its own certificate instead. */
    readonly perAgentDir?: string;
  } | null;
  /** The client identity let in as operator (mutual TLS only). @default "bench-operator" */
  readonly operator?: string;
  /**
   * Sessions of each agent: the classroom fixture's, then active sessions of made-up users up to
   * this many. @default the fixture's (19)
   */
  readonly sessionsPerAgent?: number;
}

/** The line an agent host prints once it is ready. */
export interface AgentHostReady {
  readonly ready: true;
  readonly ports: number[];
  readonly startMs: number;
  readonly rssBytes: number;
}

function parseConfig(text: string | undefined): AgentHostConfig {
  if (text === undefined) throw new TypeError("usage: agent-host.ts '<json config>'");
  const config = JSON.parse(text) as AgentHostConfig;
  if (!Array.isArray(config.names) || config.names.length === 0) {
    throw new TypeError("agent-host: names must be a non-empty array");
  }
  return config;
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv[2]);
  const started = performance.now();
  const tls = config.tls;
  const credentialsFor = (name: string) => {
    if (tls === null) return ServerCredentials.createInsecure();
    const base = tls.perAgentDir === undefined ? undefined : `${tls.perAgentDir}/${name}`;
    return ServerCredentials.createSsl(
      readFileSync(tls.ca),
      [
        {
          cert_chain: readFileSync(base === undefined ? tls.cert : `${base}.pem`),
          private_key: readFileSync(base === undefined ? tls.key : `${base}.key`),
        },
      ],
      true,
    );
  };
  // One credentials object for all agents when they share a certificate.
  const shared = tls?.perAgentDir === undefined ? credentialsFor("") : undefined;
  // The agent's own policy, as `--allow bench-operator=operator` makes it.
  const authorize =
    config.tls === null
      ? undefined
      : createAccessPolicy(new Map([[config.operator ?? "bench-operator", "operator"]])).authorize;
  const classroom = defaultSimFixture();
  const extra = Math.max(0, (config.sessionsPerAgent ?? 0) - classroom.sessions.length);
  const fixture = {
    ...classroom,
    sessions: [
      ...classroom.sessions,
      ...Array.from({ length: extra }, (_, index) => ({
        sessionId: 100 + index,
        state: SessionState.ACTIVE,
        userName: `bench.user${index + 1}`,
        domainName: "LAB",
        stationName: `Station ${100 + index}`,
        logonTime: new Date(Date.now() - 3_600_000),
      })),
    ],
  };
  const hosts: { agent: Agent; backend: SimulatedBackend }[] = [];
  // Sequentially in small batches: binding 250 servers at once only adds contention.
  const batch = 25;
  for (let index = 0; index < config.names.length; index += batch) {
    const names = config.names.slice(index, index + batch);
    hosts.push(
      ...(await Promise.all(
        names.map(async (hostFqdn) => {
          const backend = createSimulatedBackend({ fixture, env: {} });
          const agent = await startAgent({
            hostFqdn,
            backend,
            credentials: shared ?? credentialsFor(hostFqdn),
            ...(authorize === undefined ? {} : { authorize }),
            listen: ["127.0.0.1:0"],
            // The bench's controller dials every agent over loopback because they all run here;
            // a real fleet's controller is on another host, whose calls rule 3 leaves alone. So
            // the agents see their callers as a real fleet's agents do: remote. What rule 3 costs
            // a caller on the agent host is measured on its own (`rule3.ts`).
            hostAddresses: { isLocal: () => false },
            graceMs: 2000,
            healthIntervalMs: 60_000,
          });
          return { agent, backend };
        }),
      )),
    );
  }
  const ready: AgentHostReady = {
    ready: true,
    ports: hosts.map(({ agent }) => agent.ports[0] ?? 0),
    startMs: Math.round(performance.now() - started),
    rssBytes: process.memoryUsage().rss,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    startChurn(0);
    await Promise.all(hosts.map(({ agent }) => agent.shutdown({ graceMs: 2000 })));
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());

  let churn: ReturnType<typeof setInterval> | undefined;
  const startChurn = (perSecond: number) => {
    if (churn !== undefined) clearInterval(churn);
    churn = undefined;
    if (!(perSecond > 0)) return;
    const tickMs = 50;
    let owed = 0;
    churn = setInterval(() => {
      owed += (perSecond * tickMs) / 1000;
      for (; owed >= 1; owed -= 1) {
        const host = hosts[Math.floor(Math.random() * hosts.length)];
        const sessions = host?.backend.snapshot().filter((s) => s.userName !== "") ?? [];
        const session = sessions[Math.floor(Math.random() * sessions.length)];
        if (host === undefined || session === undefined) continue;
        host.backend.updateSession(session.sessionId, { locked: !session.locked });
      }
    }, tickMs);
  };

  let profiler: Session | undefined;
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const command = line.trim();
    if (command === "profile-start") {
      profiler = new Session();
      profiler.connect();
      void profiler
        .post("Profiler.enable")
        .then(() => profiler?.post("Profiler.start"))
        .then(() => process.stdout.write(`${JSON.stringify({ profiling: true })}\n`));
      return;
    }
    if (command.startsWith("profile-stop ")) {
      const path = command.slice("profile-stop ".length);
      void profiler
        ?.post("Profiler.stop")
        .then(({ profile }) => writeFile(path, JSON.stringify(profile)))
        .then(() => process.stdout.write(`${JSON.stringify({ profile: path })}\n`));
      return;
    }
    if (command.startsWith("churn ")) {
      const perSecond = Number(command.slice("churn ".length));
      startChurn(perSecond);
      process.stdout.write(`${JSON.stringify({ churn: perSecond })}\n`);
      return;
    }
    if (command === "reset") {
      for (const { backend } of hosts) {
        for (const session of fixture.sessions) {
          backend.removeSession(session.sessionId);
          backend.addSession(session);
        }
      }
      process.stdout.write(`${JSON.stringify({ reset: true })}\n`);
    } else if (command === "stats") {
      const cpu = process.cpuUsage();
      const disconnectCalls = hosts.reduce((n, h) => n + h.backend.disconnectCalls().length, 0);
      process.stdout.write(
        `${JSON.stringify({ rssBytes: process.memoryUsage().rss, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, disconnectCalls, handles: process.getActiveResourcesInfo().length })}\n`,
      );
    }
  });
  lines.once("close", () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`agent-host: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
