/**
 * A TCP relay on 127.0.0.1 in front of an agent, standing in for the agent's process in fault
 * tests: `kill()` resets every connection and closes the port, as a process that dies does (an
 * in-process graceful or forced server shutdown still answers calls in flight); `restart()` opens
 * the same port again, relaying to the same or to a new agent.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A relay from a fixed loopback port to an agent port. */
export interface AgentRelay {
  /** The port clients dial. */
  readonly port: number;
  /** Resets all connections and stops listening. */
  kill(): Promise<void>;
  /** Listens on the same port again, relaying to `upstreamPort`. */
  restart(upstreamPort: number): Promise<void>;
  /** Same as `kill()`, for clean-up; safe to call twice. */
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

/** Starts a relay on an ephemeral 127.0.0.1 port to the agent at 127.0.0.1:`upstreamPort`. */
export async function startAgentRelay(upstreamPort: number): Promise<AgentRelay> {
  const sockets = new Set<Socket>();
  let upstream = upstreamPort;
  let server: Server | undefined;

  const make = () =>
    createServer((client) => {
      const agent = createConnection({ host: "127.0.0.1", port: upstream });
      for (const socket of [client, agent]) {
        sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          sockets.delete(socket);
          client.destroy();
          agent.destroy();
        });
      }
      client.pipe(agent);
      agent.pipe(client);
    });

  const kill = async () => {
    const stopping = server;
    server = undefined;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    if (stopping !== undefined) {
      await new Promise<void>((resolve) => stopping.close(() => resolve()));
    }
  };

  server = make();
  const port = await listen(server, 0);
  return {
    port,
    kill,
    close: kill,
    async restart(upstreamPortNow: number) {
      upstream = upstreamPortNow;
      server = make();
      await listen(server, port);
    },
  };
}
