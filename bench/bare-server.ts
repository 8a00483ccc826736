/**
 * The yardstick of the agent-throughput bench: a bare grpc-js server with the same service
 * definition, credentials and server options as the agent, whose handlers answer fixed messages
 * (the agent's own answers, captured by the bench) without any of the agent's work.
 *
 * Usage: `node --import tsx bench/bare-server.ts '<json>'` with `{ tls, listSessions,
 * disconnect }`, the two answers as base64 protobuf. Prints `{ "port": N }` and serves until
 * SIGTERM or standard input closes.
 */
import { readFileSync } from "node:fs";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import {
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
}

const config = JSON.parse(process.argv[2] ?? "null") as BareServerConfig;
const list = ListSessionsResponse.decode(Buffer.from(config.listSessions, "base64"));
const disconnect = DisconnectResponse.decode(Buffer.from(config.disconnect, "base64"));

const handlers: WmsSessionServiceServer = {
  listSessions: (_call, callback) => callback(null, list),
  disconnect: (_call, callback) => callback(null, disconnect),
  disconnectAll: (_call, callback) => callback(null, { host: list.host, results: [] }),
  getAgentInfo: (_call, callback) =>
    callback(null, {
      host: list.host,
      version: "",
      backend: "",
      agentSessionId: 0,
      startTime: undefined,
    }),
};

const server = new Server({ "grpc.max_receive_message_length": 1024 * 1024 });
server.addService(WmsSessionServiceService, handlers);
const credentials =
  config.tls === null
    ? ServerCredentials.createInsecure()
    : ServerCredentials.createSsl(
        readFileSync(config.tls.ca),
        [{ cert_chain: readFileSync(config.tls.cert), private_key: readFileSync(config.tls.key) }],
        true,
      );
server.bindAsync("127.0.0.1:0", credentials, (error, port) => {
  if (error !== null) {
    process.stderr.write(`bare-server: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.once("SIGTERM", stop);
process.stdin.resume();
process.stdin.once("end", stop);
