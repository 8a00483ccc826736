/**
 * The warm side of the fan-out bench, in its own process so that its memory and CPU are the
 * controller's alone: the controller library (`createController`, one channel per host) driven
 * over IPC by `run.ts`.
 *
 * Messages in: `{ kind: "baseline" }` → `{ rssBytes }` after a GC, before any channel exists;
 * `{ kind: "run", n, whatIf }` → one `DisconnectAll` to the first n targets:
 * `{ wallMs, cpuUs, ok, statuses, results, channels }`; `{ kind: "memory" }` → `{ rssBytes,
 * heapUsedBytes, channels }` after a GC; `{ kind: "close" }` closes the controller and exits.
 */
import { createController, resolveTargets } from "../controller/index.js";
import { clientCredentials, type ClientTlsFiles } from "./client-tls.js";

/** The argument of the warm controller. */
export interface WarmControllerConfig {
  readonly names: readonly string[];
  readonly ports: readonly number[];
  readonly tls: ClientTlsFiles | null;
  /** @default 32, the wmsctl default */
  readonly throttle?: number;
}

/** A request from the bench. */
export type WarmRequest =
  | { readonly kind: "baseline" }
  | { readonly kind: "run"; readonly n: number; readonly whatIf: boolean }
  | { readonly kind: "memory" }
  | { readonly kind: "close" };

/** The answer to a `run`. */
export interface WarmRunResult {
  readonly wallMs: number;
  readonly cpuUs: number;
  readonly ok: number;
  readonly statuses: Record<string, number>;
  /** Session results over all hosts, by outcome. */
  readonly outcomes: Record<string, number>;
}

const config = JSON.parse(process.argv[2] ?? "null") as WarmControllerConfig;
const gc = (globalThis as { gc?: () => void }).gc;
const collect = () => {
  gc?.();
  gc?.();
};

const targets = resolveTargets({
  servers: [...config.names],
  resolve: config.names.map((name, index) => `${name}=127.0.0.1:${config.ports[index]}`),
});
const controller = createController({
  credentials: clientCredentials(config.tls),
  throttle: config.throttle ?? 32,
});

async function run(n: number, whatIf: boolean): Promise<WarmRunResult> {
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  let ok = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  for await (const result of controller.disconnectAll(targets.slice(0, n), { whatIf })) {
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    if (result.status === "ok") {
      ok++;
      for (const r of result.response.results) {
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      }
    }
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuUs: used.user + used.system, ok, statuses, outcomes };
}

process.on("message", (message: WarmRequest) => {
  const reply = (value: unknown) => process.send?.(value);
  switch (message.kind) {
    case "baseline":
    case "memory":
      collect();
      reply({
        rssBytes: process.memoryUsage().rss,
        heapUsedBytes: process.memoryUsage().heapUsed,
      });
      break;
    case "run":
      run(message.n, message.whatIf).then(reply, (error: unknown) =>
        reply({ error: String(error) }),
      );
      break;
    case "close":
      controller.close();
      process.disconnect?.();
      break;
  }
});
process.send?.({ ready: true });
