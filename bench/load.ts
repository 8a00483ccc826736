/**
 * A closed-loop load generator for one gRPC server: `concurrency` calls always in flight, spread
 * over `channels` connections, for `durationMs`; counts answers and errors.
 */
import type { ChannelCredentials, ServiceError } from "@grpc/grpc-js";
import {
  DisconnectRequest,
  ListSessionsRequest,
  WmsSessionServiceClient,
} from "../proto/gen/wms/v1/wms_session.js";

/** The two calls the throughput bench measures. */
export type LoadRpc = "listSessions" | "disconnect";

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** `127.0.0.1:PORT` */
  readonly address: string;
  /** The FQDN the server's certificate names (TLS name and `expected_host`). */
  readonly fqdn: string;
  readonly credentials: ChannelCredentials;
  readonly rpc: LoadRpc;
  /** @default 64 */
  readonly concurrency?: number;
  /** @default 4 */
  readonly channels?: number;
  readonly durationMs: number;
  /** Milliseconds of load before counting starts (connections, JIT). @default 300 */
  readonly warmupMs?: number;
}

/** What a load run measured. */
export interface LoadResult {
  /** Calls answered after the warm-up. */
  readonly calls: number;
  /** Calls answered in all, warm-up included (what the server's CPU was spent on). */
  readonly answered: number;
  readonly errors: number;
  readonly callsPerSecond: number;
  readonly firstError: string | undefined;
}

/** The request a load run sends for `rpc`. */
export function loadRequest(rpc: LoadRpc, fqdn: string): ListSessionsRequest | DisconnectRequest {
  return rpc === "listSessions"
    ? ListSessionsRequest.fromPartial({ expectedHost: fqdn })
    : DisconnectRequest.fromPartial({
        sessionIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        whatIf: true,
        expectedHost: fqdn,
      });
}

/** Opens a client to the server under its FQDN. */
export function loadClient(options: Pick<LoadOptions, "address" | "fqdn" | "credentials">) {
  return new WmsSessionServiceClient(options.address, options.credentials, {
    "grpc.ssl_target_name_override": options.fqdn,
    "grpc.default_authority": options.fqdn,
    // Separate connections: grpc-js would otherwise share one subchannel among equal channels.
    "grpc.use_local_subchannel_pool": 1,
  });
}

/** One unary call as a promise. */
export function callOnce(
  client: WmsSessionServiceClient,
  rpc: LoadRpc,
  request: ListSessionsRequest | DisconnectRequest,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const done = (error: ServiceError | null, response: unknown) =>
      error === null ? resolve(response) : reject(error);
    if (rpc === "listSessions") client.listSessions(request, done);
    else client.disconnect(request as DisconnectRequest, done);
  });
}

/** Runs the load and closes its clients. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const concurrency = options.concurrency ?? 64;
  const clients = Array.from({ length: options.channels ?? 4 }, () => loadClient(options));
  const request = loadRequest(options.rpc, options.fqdn);
  const warmupEnd = performance.now() + (options.warmupMs ?? 300);
  const end = warmupEnd + options.durationMs;
  let calls = 0;
  let answered = 0;
  let errors = 0;
  let firstError: string | undefined;
  let countFrom: number | undefined;
  const worker = async (index: number) => {
    const client = clients[index % clients.length] as WmsSessionServiceClient;
    for (;;) {
      const now = performance.now();
      if (now >= end) return;
      try {
        await callOnce(client, options.rpc, request);
        answered++;
        if (now >= warmupEnd) calls++;
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  const counting = new Promise<void>((resolve) => {
    setTimeout(
      () => {
        countFrom = performance.now();
        resolve();
      },
      Math.max(0, warmupEnd - performance.now()),
    );
  });
  await Promise.all([counting, ...Array.from({ length: concurrency }, (_, i) => worker(i))]);
  const seconds = (performance.now() - (countFrom ?? warmupEnd)) / 1000;
  for (const client of clients) client.close();
  return { calls, answered, errors, callsPerSecond: calls / seconds, firstError };
}
