/**
 * Which process holds a socket, found in procfs for many connections at once (the search behind
 * protection rule 3 on Linux; `peer-process.ts` decides what to look for).
 *
 * Finding a socket's holder means reading every process's descriptor table (`/proc/<pid>/fd`),
 * the cost of which grows with every descriptor on the machine. A fan-out opens hundreds of
 * connections to an agent host within milliseconds; searching for each on its own would read the
 * same tables hundreds of times. So searches are batched: the requests that arrive while a pass
 * runs wait for the next pass, and one pass reads the TCP tables once and each descriptor table
 * at most once for all of them, stopping as soon as every socket of the batch is found.
 *
 * The TCP tables list every socket of the machine; when an exact lookup by 4-tuple is at hand
 * (`sock-diag.ts`, netlink), a pass whose requests it all answers skips them.
 *
 * Order of a pass: first the processes that held the sockets found last (a client that opened one
 * connection usually opens the next one), then every other process, newest (highest pid) first;
 * within a process, newest (highest) descriptors first. A one-shot client such as `wmsctl` is
 * usually the newest process on the machine, while the long-running ones (the agents themselves,
 * with a descriptor for every connection they serve) have low pids: in ascending order a cold
 * fan-out read every agent's descriptor table before reaching its caller, once a pass. So, of
 * processes that share a socket (a parent and the child it forked), a fresh search finds the
 * highest pid.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** Where a socket was found: the process and the descriptor that holds it. */
export interface SocketHolder {
  readonly pid: number;
  /** `<procRoot>/<pid>/fd/<n>` */
  readonly fdPath: string;
  /** `socket:[<inode>]` */
  readonly link: string;
}

/** What the search needs of a TCP table entry. */
export interface SocketEntry {
  readonly inode: number;
  readonly local: { readonly port: number };
}

/**
 * A searcher: give it the local port of the wanted socket and a predicate over TCP table entries
 * with that port, get the holder of the matching socket. `exact`, when given, may answer the
 * wanted socket's entry directly (`sock-diag.ts`): a pass whose every request is answered that
 * way does not read the TCP tables.
 */
export type SocketSearch<E extends SocketEntry> = (
  localPort: number,
  isWanted: (entry: E) => boolean,
  exact?: () => E | undefined,
) => Promise<SocketHolder | undefined>;

interface Request<E> {
  readonly localPort: number;
  readonly isWanted: (entry: E) => boolean;
  readonly exact: (() => E | undefined) | undefined;
  readonly resolve: (holder: SocketHolder | undefined) => void;
}

const MAX_RECENT_HOLDERS = 8;

/**
 * Whether the process still holds the socket at that descriptor. One `readlink` of procfs, made
 * synchronously: a few microseconds, less than the thread-pool round trip of the async form.
 */
export function stillHolds(holder: SocketHolder): boolean {
  try {
    return readlinkSync(holder.fdPath) === holder.link;
  } catch {
    return false;
  }
}

/**
 * Creates a batched searcher over one procfs root.
 * @param readTables - reads and parses the TCP tables (`net/tcp`, `net/tcp6`), once per pass;
 *   it may leave out every entry whose local port is not one of `localPorts` (the ports looked
 *   for in this pass).
 */
export function createSocketSearch<E extends SocketEntry>(
  procRoot: string,
  readTables: (localPorts: ReadonlySet<number>) => Promise<E[]>,
): SocketSearch<E> {
  let queue: Request<E>[] = [];
  let running = false;
  let recent: number[] = [];

  const noteHolder = (pid: number) => {
    recent = [pid, ...recent.filter((p) => p !== pid)].slice(0, MAX_RECENT_HOLDERS);
  };

  /** Reads one process's table (synchronously: procfs answers from memory) for wanted links. */
  const searchIn = (
    pid: number,
    wanted: Map<string, Request<E>[]>,
    found: (link: string, holder: SocketHolder) => void,
  ) => {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      return; // gone, or another user's process
    }
    const numbers = fds.filter((fd) => /^\d+$/.test(fd)).sort((a, b) => Number(b) - Number(a));
    for (const fd of numbers) {
      const fdPath = `${procRoot}/${pid}/fd/${fd}`;
      let link: string;
      try {
        link = readlinkSync(fdPath);
      } catch {
        continue; // closed meanwhile
      }
      if (wanted.has(link)) {
        found(link, { pid, fdPath, link });
        if (wanted.size === 0) return;
      }
    }
  };

  const pass = async (batch: Request<E>[]) => {
    const exact = batch.map((request) => request.exact?.());
    let entries: E[];
    if (exact.every((entry) => entry !== undefined)) {
      entries = exact;
    } else {
      try {
        entries = await readTables(new Set(batch.map((request) => request.localPort)));
      } catch {
        entries = [];
      }
    }
    // The links to look for, and who waits for each.
    const byPort = new Map<number, E[]>();
    for (const entry of entries) {
      if (entry.inode === 0) continue;
      const list = byPort.get(entry.local.port);
      if (list === undefined) byPort.set(entry.local.port, [entry]);
      else list.push(entry);
    }
    const wanted = new Map<string, Request<E>[]>();
    const answered = new Set<Request<E>>();
    for (const request of batch) {
      for (const entry of byPort.get(request.localPort) ?? []) {
        if (!request.isWanted(entry)) continue;
        const link = `socket:[${entry.inode}]`;
        wanted.set(link, [...(wanted.get(link) ?? []), request]);
      }
    }
    const found = (link: string, holder: SocketHolder) => {
      for (const request of wanted.get(link) ?? []) {
        if (answered.has(request)) continue;
        answered.add(request);
        request.resolve(holder);
      }
      wanted.delete(link);
      noteHolder(holder.pid);
    };
    if (wanted.size > 0) {
      const first = [...recent];
      for (const pid of first) {
        searchIn(pid, wanted, found);
        if (wanted.size === 0) break;
      }
      if (wanted.size > 0) {
        let names: string[] = [];
        try {
          names = readdirSync(procRoot);
        } catch {
          // no procfs: nothing is found
        }
        const pids = names
          .filter((name) => /^[1-9]\d*$/.test(name))
          .map(Number)
          .filter((pid) => !first.includes(pid))
          .sort((a, b) => b - a);
        for (const pid of pids) {
          await yieldToEventLoop();
          searchIn(pid, wanted, found);
          if (wanted.size === 0) break;
        }
      }
    }
    for (const request of batch) if (!answered.has(request)) request.resolve(undefined);
  };

  const drain = async () => {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        await pass(batch);
      }
    } finally {
      running = false;
    }
  };

  return (localPort, isWanted, exact) =>
    new Promise((resolve) => {
      queue.push({ localPort, isWanted, exact, resolve });
      // Requests that arrive in the same turn of the event loop join the same pass.
      if (!running) {
        running = true;
        setImmediate(() => void drain());
      }
    });
}
