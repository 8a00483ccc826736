/**
 * The yardstick of the agent benches: bare grpc-js servers with the same service definition,
 * credentials and server options as the agent, whose handlers answer fixed messages (a real
 * agent's own answers, captured by the bench) without any of the agent's work.
 *
 * Usage: `node --import tsx bench/bare-server.ts '<json>'` with {@link BareServerConfig}. Without
 * `names`, one server; prints `{ "port": N }`. With `names`, one server per name (each with its
 * own certificate from `perAgentDir` when given, as the agents of a bench fleet); prints
 * `{ "ports": [...] }`. Then reads commands on standard input, one a line: `stats` answers
 * `{ "cpuUs": N }` (user + system CPU of this process so far). Serves until SIGTERM or standard
 * input closes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Server, ServerCredentials, status as Status } from "@grpc/grpc-js";
import {
  DisconnectAllResponse,
  DisconnectResponse,
  ListSessionsResponse,
  WmsSessionServiceService,
  type WmsSessionServiceServer,
} from "../proto/gen/wms/v1/wms_session.js";

/** The argument of the bare server. */
export interface BareServerConfig {
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string } | null;
  /** `ListSessionsResponse`, protobuf, base64. */
  readonly listSessions: string;
  /** `DisconnectResponse`, protobuf, base64. */
  readonly disconnect: string;
  /** `DisconnectAllResponse`, protobuf, base64. @default an empty answer */
  readonly disconnectAll?: string;
  /** One server per name instead of one server. */
  readonly names?: readonly string[];
  /** `<name>.pem` and `<name>.key` of each name, instead of `tls.cert` and `tls.key`. */
  readonly perAgentDir?: string;
}

const config = JSON.parse(process.argv[2] ?? "null") as BareServerConfig;
const decode = <T>(codec: { decode(bytes: Uint8Array): T }, base64: string) =>
  codec.decode(Buffer.from(base64, "base64"));
const list = decode(ListSessionsResponse, config.listSessions);
const disconnect = decode(DisconnectResponse, config.disconnect);
const disconnectAll =
  config.disconnectAll === undefined
    ? { host: list.host, results: [] }
    : decode(DisconnectAllResponse, config.disconnectAll);

const handlers: WmsSessionServiceServer = {
  listSessions: (_call, callback) => callback(null, list),
  disconnect: (_call, callback) => callback(null, disconnect),
  disconnectAll: (_call, callback) => callback(null, disconnectAll),
  // The floor measures the disconnect pair; the rest of the family answers as an old agent would.
  logoff: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
  logoffAll: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
  sendMessage: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
  watchSessions: (call) => call.emit("error", { code: Status.UNIMPLEMENTED }),
  getAgentInfo: (_call, callback) =>
    callback(null, {
      host: list.host,
      version: "",
      backend: "",
      agentSessionId: 0,
      startTime: undefined,
    }),
};

function credentialsFor(name: string | undefined): ServerCredentials {
  const tls = config.tls;
  if (tls === null) return ServerCredentials.createInsecure();
  const own = name !== undefined && config.perAgentDir !== undefined;
  return ServerCredentials.createSsl(
    readFileSync(tls.ca),
    [
      {
        cert_chain: readFileSync(own ? join(config.perAgentDir ?? "", `${name}.pem`) : tls.cert),
        private_key: readFileSync(own ? join(config.perAgentDir ?? "", `${name}.key`) : tls.key),
      },
    ],
    true,
  );
}

const servers: Server[] = [];
function serve(name: string | undefined): Promise<number> {
  const server = new Server({ "grpc.max_receive_message_length": 1024 * 1024 });
  server.addService(WmsSessionServiceService, handlers);
  servers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentialsFor(name), (error, port) =>
      error === null ? resolve(port) : reject(error),
    ),
  );
}

async function main(): Promise<void> {
  if (config.names === undefined) {
    process.stdout.write(`${JSON.stringify({ port: await serve(undefined) })}\n`);
  } else {
    const ports: number[] = [];
    for (const name of config.names) ports.push(await serve(name));
    process.stdout.write(`${JSON.stringify({ ports })}\n`);
  }
}

const stop = () => {
  let open = servers.length;
  if (open === 0) process.exit(0);
  for (const server of servers) server.tryShutdown(() => --open === 0 && process.exit(0));
};
process.once("SIGTERM", stop);
const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  if (line.trim() === "stats") {
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuUs: cpu.user + cpu.system })}\n`);
  }
});
commands.once("close", stop);
main().catch((error: unknown) => {
  process.stderr.write(`bare-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
