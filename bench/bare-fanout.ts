/**
 * The yardstick of the fan-out bench: the least a grpc-js client can do to call `DisconnectAll`
 * once on each of N hosts, against bare grpc-js servers (`bare-server.ts`) that answer a real
 * agent's captured response without any work. One channel per host made from one credentials
 * object, the same channel options, TLS names and throttle as the controller; no retries, no
 * per-host report, no output but the figures. What the controller and the agents cost beyond
 * this is what wmsfleet adds; this itself is the floor of the stack on this machine.
 *
 * Usage (bundled by the bench, like wmsctl, so that a cold run starts the same way):
 * `node bare-fanout.mjs '<json>'` with {@link BareFanoutConfig}. `cold`: connect, one fan-out,
 * exit 0 when every host answered (the bench times the whole process). `warm`: one fan-out to
 * open the channels, then `runs` timed ones; prints `{ wallMs: [...], cpuUsPerHost: [...],
 * rssPerChannelBytes }` (RSS after a GC against before any channel existed; with `--expose-gc`).
 * `serve` (forked, with an IPC channel): one fan-out to open the channels, then `{ ready: true }`;
 * each `{ kind: "run" }` message is one timed fan-out answered `{ wallMs, cpuUsPerHost }`, so that
 * a bench can alternate the floor with what it compares against it, on the same hosts;
 * `{ kind: "close" }` closes the channels and exits.
 */
import { Client, Metadata, type ServiceError } from "@grpc/grpc-js";
import pLimit from "p-limit";
import { DisconnectAllRequest, DisconnectAllResponse } from "../proto/gen/wms/v1/wms_session.js";
import { clientCredentials, type ClientTlsFiles } from "./client-tls.js";

/** The argument of the bare fan-out client. */
export interface BareFanoutConfig {
  readonly mode: "cold" | "warm" | "serve";
  /** `FQDN`s and the loopback ports they are dialled at. */
  readonly names: readonly string[];
  readonly ports: readonly number[];
  readonly tls: ClientTlsFiles | null;
  readonly throttle: number;
  /** Timed runs in `warm` mode. */
  readonly runs: number;
}

const METHOD = "/wms.v1.WmsSessionService/DisconnectAll";
const config = JSON.parse(process.argv[2] ?? "null") as BareFanoutConfig;
const channelCredentials = clientCredentials(config.tls);
const gc = (globalThis as { gc?: () => void }).gc;
const rssAfterGc = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
};
const baselineRss = config.mode === "warm" ? rssAfterGc() : 0;
const clients = config.names.map(
  (name, index) =>
    new Client(`127.0.0.1:${config.ports[index]}`, channelCredentials, {
      "grpc.enable_channelz": 0,
      "grpc.enable_retries": 0,
      "grpc.ssl_target_name_override": name,
      "grpc.default_authority": name,
    }),
);
const serialize = (request: DisconnectAllRequest) =>
  Buffer.from(DisconnectAllRequest.encode(request).finish());

function call(index: number): Promise<DisconnectAllResponse> {
  const request: DisconnectAllRequest = {
    whatIf: true,
    noWait: false,
    filter: undefined,
    expectedHost: config.names[index] ?? "",
    callerSessionId: undefined,
  };
  return new Promise((resolve, reject) => {
    clients[index]?.makeUnaryRequest(
      METHOD,
      serialize,
      (bytes: Buffer) => DisconnectAllResponse.decode(bytes),
      request,
      new Metadata(),
      { deadline: new Date(Date.now() + 10_000) },
      (error: ServiceError | null, response?: DisconnectAllResponse) => {
        if (error === null && response !== undefined) resolve(response);
        else reject(error ?? new Error("no response"));
      },
    );
  });
}

/** One call per host, `throttle` in flight; rejects on the first failure. */
async function fanOut(): Promise<void> {
  const limit = pLimit(config.throttle);
  await Promise.all(clients.map((_, index) => limit(() => call(index))));
}

/** One timed fan-out: its wall time and the client's CPU per host. */
async function timedFanOut(): Promise<{ wallMs: number; cpuUsPerHost: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fanOut();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuUsPerHost: (used.user + used.system) / clients.length };
}

function closeAll(): void {
  for (const client of clients) client.close();
}

/** `serve`: a timed fan-out per `run` message, until `close`. */
function serve(): void {
  process.on("message", (message: { kind: "run" | "close" }) => {
    if (message.kind === "close") {
      closeAll();
      process.disconnect();
      return;
    }
    timedFanOut().then(
      (result) => process.send?.(result),
      (error: unknown) => process.send?.({ error: String(error) }),
    );
  });
  process.send?.({ ready: true });
}

async function main(): Promise<void> {
  await fanOut();
  if (config.mode === "serve") return serve();
  if (config.mode === "warm") {
    const wallMs: number[] = [];
    const cpuUsPerHost: number[] = [];
    for (let run = 0; run < config.runs; run++) {
      const timed = await timedFanOut();
      wallMs.push(timed.wallMs);
      cpuUsPerHost.push(timed.cpuUsPerHost);
    }
    const rssPerChannelBytes =
      gc === undefined ? NaN : (rssAfterGc() - baselineRss) / clients.length;
    process.stdout.write(`${JSON.stringify({ wallMs, cpuUsPerHost, rssPerChannelBytes })}\n`);
  }
  closeAll();
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-fanout: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
