/**
 * Protection rule 3 on its own: what the agent pays to find a local caller's process and session
 * (`agent/caller/`), for one loopback client process holding one connection — the production
 * case, one `wmsctl` on the agent host — with its parts: the client's socket by its 4-tuple
 * (netlink), the socket's holders (every process's descriptors), the holder's session (the
 * simulated backend reads its environment), and, for comparison, a remote peer (only the check
 * that it is not local).
 *
 * Linux only: elsewhere `measureRule3` answers `undefined`. The holders' scan reads every
 * process's descriptors, so its cost is that of this machine's process table at the time: the
 * counts are reported with it.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { pino } from "pino";
import { createSimulatedBackend } from "../agent/backends/simulated.js";
import { createCallerLookup } from "../agent/caller/caller-process.js";
import { createProcfsPeerResolver } from "../agent/caller/procfs-peer-process.js";
import { sockDiagLookup } from "../agent/caller/sock-diag.js";
import { summarize, type Summary } from "./stats.js";

/**
 * What one step costs, per lookup, in microseconds (median, min, max of the rounds): the time it
 * takes (the holders' scan yields to the event loop between processes, so it includes waiting on
 * a busy machine) and this process's CPU time for it.
 */
export interface Rule3Cost {
  readonly wallUs: Summary;
  readonly cpuUs: Summary;
}

/** What protection rule 3 costs, step by step (see the module comment). */
export interface Rule3Results {
  /** The whole lookup for a loopback caller: peer string to its session. */
  readonly loopbackLookup: Rule3Cost;
  /** Its parts: the client's socket by its 4-tuple (netlink, `sock_diag`)... */
  readonly socket: Rule3Cost;
  /** ...the platform resolver as a whole (that socket, then every process holding it)... */
  readonly resolver: Rule3Cost;
  /** ...and the holder's session (the simulated backend reads its environment). */
  readonly session: Rule3Cost;
  /** A remote peer: only the check that its address is not this host's. */
  readonly remotePeer: Rule3Cost;
  /** The process table the holders' scan read: processes and their descriptors. */
  readonly processes: number;
  readonly descriptors: number;
  readonly lookupsPerRound: number;
}

/** Measures rule 3 (see the module comment); `undefined` off Linux. */
export async function measureRule3(
  rounds: number,
  lookupsPerRound: number,
): Promise<Rule3Results | undefined> {
  if (process.platform !== "linux") return undefined;
  const server = createServer();
  const accepted = once(server, "connection") as Promise<[Socket]>;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // The caller: another process, in session 7, holding one connection until it is killed.
  const child = spawn(
    process.execPath,
    ["-e", `require("node:net").connect(${port}, "127.0.0.1", () => console.log("ready"))`],
    { env: { ...process.env, WMSFLEET_SIM_SESSION: "7" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await once(child.stdout, "data");
    const [socket] = await accepted;
    const peer = { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    const local = { address: "127.0.0.1", port };
    const pid = child.pid ?? 0;
    const backend = createSimulatedBackend({ env: {} });
    const lookup = createCallerLookup({
      backend,
      localPorts: () => [port],
      logger: pino({ enabled: false }),
    });
    const exact = await sockDiagLookup();
    const resolve = createProcfsPeerResolver();
    const peerText = `${peer.address}:${peer.port}`;
    const answer = await lookup(peerText, local);
    if (answer.kind !== "resolved" || !answer.sessionIds.includes(7)) {
      throw new Error(`rule 3 bench: the caller was not found: ${JSON.stringify(answer)}`);
    }
    const time = async (step: () => unknown): Promise<Rule3Cost> => {
      for (let warm = 0; warm < 10; warm++) await step();
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        for (let index = 0; index < lookupsPerRound; index++) await step();
        const used = process.cpuUsage(cpuBefore);
        wall.push(((performance.now() - started) * 1000) / lookupsPerRound);
        cpu.push((used.user + used.system) / lookupsPerRound);
      }
      return { wallUs: summarize(wall), cpuUs: summarize(cpu) };
    };
    const table = processTable();
    const results: Rule3Results = {
      loopbackLookup: await time(() => lookup(peerText, local)),
      socket: await time(() => exact?.(peer, local)),
      resolver: await time(() => resolve(peer, local)),
      session: await time(() => backend.sessionOfProcess(pid)),
      remotePeer: await time(() => lookup("198.51.100.7:40000", local)),
      ...table,
      lookupsPerRound,
    };
    socket.destroy();
    await backend.close();
    return results;
  } finally {
    child.kill();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** How many processes, and descriptors among those this process may read, there are now. */
function processTable(): { processes: number; descriptors: number } {
  let processes = 0;
  let descriptors = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    processes++;
    try {
      descriptors += readdirSync(`/proc/${name}/fd`).length;
    } catch {
      // gone, or another user's
    }
  }
  return { processes, descriptors };
}
