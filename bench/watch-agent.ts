/**
 * The agent of the watch benchmark (`watch.ts`): one real agent (simulated classroom, mutual TLS
 * when given) in its own process, so that its memory is measured alone, driven over IPC.
 *
 * Messages from the parent, each answered with one message:
 * - `{ kind: "stats" }` → `{ rssBytes, cpuUs, watch }` (the hub's counters);
 * - `{ kind: "changes", count, perSecond, batch }` → `{ made, elapsedMs }` once `count` changes
 *   were made, `perSecond` at a time (0: as fast as the agent takes them, `batch` in each turn of
 *   the event loop). Each change sets a station's
 *   last input to the moment it is made, so a watcher can tell the delay from its arrival.
 */
import { readFileSync } from "node:fs";
import { ServerCredentials } from "@grpc/grpc-js";
import { defaultSimFixture } from "../agent/backends/sim-fixture.js";
import { createSimulatedBackend } from "../agent/backends/simulated.js";
import { createAccessPolicy } from "../agent/security/authorization.js";
import { startAgent } from "../agent/server/agent.js";

/** The argument of the benchmark agent. */
export interface WatchAgentConfig {
  readonly hostFqdn: string;
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | null;
  readonly operator: string;
  readonly maxWatchers: number;
}

/** A request of the parent. */
export type WatchAgentRequest =
  | { readonly kind: "stats" }
  | {
      readonly kind: "changes";
      readonly count: number;
      readonly perSecond: number;
      /** Changes made together, in one turn of the event loop (one listing, one message). */
      readonly batch?: number;
    };

const config = JSON.parse(process.argv[2] ?? "null") as WatchAgentConfig;
const backend = createSimulatedBackend({ fixture: defaultSimFixture(), env: {} });
const agent = await startAgent({
  hostFqdn: config.hostFqdn,
  backend,
  listen: ["127.0.0.1:0"],
  maxWatchers: config.maxWatchers,
  healthIntervalMs: 60_000,
  ...(config.tls === null
    ? {}
    : {
        credentials: ServerCredentials.createSsl(
          readFileSync(config.tls.ca),
          [
            {
              cert_chain: readFileSync(config.tls.cert),
              private_key: readFileSync(config.tls.key),
            },
          ],
          true,
        ),
        authorize: createAccessPolicy(new Map([[config.operator, "operator"]])).authorize,
      }),
});
/**
 * The sessions whose last input the benchmark moves: users at work in Remote Desktop sessions, the
 * only ones whose input Windows tracks (a station's idle time is unknown: issue 17).
 */
const stations = backend
  .snapshot()
  .filter((s) => s.userName !== "" && s.sessionId !== 0 && s.lastInputTime !== undefined)
  .map((s) => s.sessionId);

async function makeChanges(count: number, perSecond: number, batch: number): Promise<number> {
  const started = performance.now();
  for (let made = 0; made < count; made++) {
    const id = stations[made % stations.length] ?? 1;
    backend.updateSession(id, { lastInputTime: new Date() });
    if (perSecond === 0 && (made + 1) % batch !== 0) continue;
    if (perSecond > 0) {
      const due = started + ((made + 1) * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    } else {
      // As fast as the agent takes them: let it list and write between changes.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return performance.now() - started;
}

process.on("message", (message: WatchAgentRequest) => {
  void (async () => {
    if (message.kind === "stats") {
      const cpu = process.cpuUsage();
      process.send?.({
        rssBytes: process.memoryUsage().rss,
        cpuUs: cpu.user + cpu.system,
        watch: agent.watchStats(),
      });
    } else {
      const elapsedMs = await makeChanges(
        message.count,
        message.perSecond,
        Math.max(1, Math.min(message.batch ?? 1, stations.length)),
      );
      process.send?.({ made: message.count, elapsedMs });
    }
  })();
});
process.once("disconnect", () => {
  void agent.shutdown({ graceMs: 1000 }).then(() => process.exit(0));
});
process.send?.({ ready: true, port: agent.ports[0] });
