/**
 * Test fleets for the controller: real agents (`startAgent` with the simulated backend) on
 * 127.0.0.1 ephemeral ports, each reached through a `--resolve`-style address override, plus the
 * faulty endpoints of DESIGN section 7: a closed port (on {@link CLOSED_HOST}) and a port that
 * accepts TCP but never speaks HTTP/2.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { ServerCredentials } from "@grpc/grpc-js";
import type { AuditSink } from "../../agent/audit/audit-record.js";
import type { Authorizer } from "../../agent/server/access.js";
import { startAgent, type Agent } from "../../agent/server/agent.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { resolveTargets, type Target } from "../../controller/index.js";

/** One agent of a test fleet. */
export interface FleetHost {
  /** The name the controller asks for (and sends as `expected_host`). */
  readonly fqdn: string;
  readonly agent: Agent;
  readonly backend: SimulatedBackend;
  readonly target: Target;
}

/** How to start one agent of a fleet. */
export interface FleetHostSpec {
  readonly fqdn: string;
  /** The name the agent believes it has. @default fqdn */
  readonly agentFqdn?: string;
  readonly authorize?: Authorizer;
  /** @default ["127.0.0.1:0"] */
  readonly listen?: readonly string[];
  /** Called when a disconnect reaches the backend, before the backend acts on it. */
  readonly onDisconnect?: (sessionId: number) => void;
  /** @default insecure (the agent's default, for loopback) */
  readonly credentials?: ServerCredentials;
  /** Where the agent's audit records go. @default none */
  readonly audit?: AuditSink;
  /**
   * The clock of the agent and of its simulated backend (Unix ms): a fixed one makes the
   * fixture's idle times exact in every answer, however long the test takes. @default Date.now
   */
  readonly now?: () => number;
}

/** The backend as the agent sees it: the simulated one, observed by `onDisconnect`. */
function observed(backend: SimulatedBackend, onDisconnect?: (sessionId: number) => void) {
  if (onDisconnect === undefined) return backend;
  return new Proxy(backend, {
    get(target, property, receiver) {
      if (property === "disconnectSession") {
        return (sessionId: number, options: { wait: boolean }) => {
          onDisconnect(sessionId);
          return target.disconnectSession(sessionId, options);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** A target that names `fqdn` and dials 127.0.0.1:`port`. */
export function loopbackTarget(fqdn: string, port: number): Target {
  return addressTarget(fqdn, `127.0.0.1:${port}`);
}

/** A target that names `fqdn` and dials `address` (`HOST:PORT`). */
export function addressTarget(fqdn: string, address: string): Target {
  const [target] = resolveTargets({ servers: [fqdn], resolve: [`${fqdn}=${address}`] });
  if (target === undefined) throw new Error("no target");
  return target;
}

/**
 * A moment of the shipped classroom's morning, after every logon (Unix ms): the clock to give a
 * fleet ({@link FleetHostSpec.now}) whose idle times a test reads exactly — session 14 is then
 * idle 210 s (`3m30s`), session 5 1,870 s (`31m10s`).
 */
export const CLASSROOM_NOW_MS = Date.parse("2026-03-10T09:30:00Z");

/** Starts one agent with a fresh simulated classroom. */
export async function startHost(spec: FleetHostSpec): Promise<FleetHost> {
  const backend = createSimulatedBackend(spec.now === undefined ? {} : { now: spec.now });
  const agent = await startAgent({
    hostFqdn: spec.agentFqdn ?? spec.fqdn,
    backend: observed(backend, spec.onDisconnect),
    listen: spec.listen ?? ["127.0.0.1:0"],
    graceMs: 0,
    healthIntervalMs: 60_000,
    ...(spec.authorize === undefined ? {} : { authorize: spec.authorize }),
    ...(spec.credentials === undefined ? {} : { credentials: spec.credentials }),
    ...(spec.audit === undefined ? {} : { audit: spec.audit }),
    ...(spec.now === undefined ? {} : { now: spec.now }),
  });
  const port = agent.ports[0];
  if (port === undefined) throw new Error("agent bound no port");
  const host = (spec.listen?.[0] ?? "127.0.0.1:0").replace(/:\d+$/, "");
  return { fqdn: spec.fqdn, agent, backend, target: addressTarget(spec.fqdn, `${host}:${port}`) };
}

/** Starts agents in parallel; stops the ones that started if any fails. */
export async function startFleet(specs: readonly FleetHostSpec[]): Promise<FleetHost[]> {
  const settled = await Promise.allSettled(specs.map((spec) => startHost(spec)));
  const hosts = settled.flatMap((item) => (item.status === "fulfilled" ? [item.value] : []));
  const failed = settled.find((item) => item.status === "rejected");
  if (failed !== undefined) {
    await stopFleet(hosts);
    throw failed.reason;
  }
  return hosts;
}

/** Stops every agent and waits for each server to be down. */
export async function stopFleet(hosts: readonly FleetHost[]): Promise<void> {
  await Promise.all(hosts.map((host) => host.agent.shutdown({ graceMs: 0 })));
}

/**
 * The loopback address of the closed ports: every test's servers listen on 127.0.0.1 (or on a
 * port of their own), none on this one, so a port of it stays closed for as long as a test needs
 * it. A port of 127.0.0.1 bound, read back and closed does not: the next `listen(0)` of any test
 * file running beside it may be given that port (one in 100 was, within the next 100 binds, on
 * this machine), and the host meant to be unreachable then answers as another test's agent,
 * console or silent server. (A server on every address, `[::]:0`, could still take one: a
 * single test binds one, for a moment.)
 */
export const CLOSED_HOST = "127.0.0.2";

/** `127.0.0.2:PORT` where nothing listens (bound, read back, closed; see {@link CLOSED_HOST}). */
export async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, CLOSED_HOST, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return `${CLOSED_HOST}:${address.port}`;
}

/** A target that names `fqdn` and dials a {@link closedAddress}. */
export async function closedTarget(fqdn: string): Promise<Target> {
  return addressTarget(fqdn, await closedAddress());
}

/** A TCP server that accepts connections and never answers: no HTTP/2, no close. */
export interface SilentServer {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /**
   * Resolves once a connection was accepted and every accepted connection has been closed by
   * its client (the server never closes one).
   */
  clientsGone(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a {@link SilentServer} on 127.0.0.1. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (accepted === 0 || sockets.size > 0) return;
    for (const wake of waiters) wake();
    waiters = [];
  };
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    // Read and drop what the client sends, so that its close is seen.
    socket.resume();
    socket.on("close", () => {
      sockets.delete(socket);
      settle();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    connections: () => accepted,
    clientsGone: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
