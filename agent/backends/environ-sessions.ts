/**
 * The simulated backend's `sessionOfProcess`: a process's `WMSFLEET_SIM_SESSION`, read from
 * `/proc/<pid>/environ`, once per process image.
 *
 * Protection rule 3 asks this on every call from a loopback peer. Reading the file each time
 * (open, fstat, read, close, then a parse) was the largest part of the agent's own work per call.
 * Instead each answer keeps its `environ` descriptor open. Linux binds that descriptor to the
 * address space the process had when it was opened: once the process execs (a new image, which
 * may bring a new environment) or exits (its pid free for reuse), reading it yields no bytes. So a
 * one-byte read at offset 0 tells whether the remembered answer still holds: one system call a
 * lookup, and a process that changed is read afresh.
 *
 * That probe means something only on procfs; under any other `procRoot` (a test's fake tree of
 * plain files) every lookup reads the file, as before.
 *
 * The descriptors are held per process, not per backend ({@link acquireEnvironSessions}): a
 * process running many agents (tests, the bench: hundreds) would otherwise hold a descriptor per
 * agent for every client process it has seen, and a descriptor of a client that exited is only
 * closed when its pid is asked again or crowded out.
 */
import { closeSync, openSync, readFileSync, readSync, statfsSync } from "node:fs";

/** `PROC_SUPER_MAGIC`, the `f_type` of procfs. */
const PROC_SUPER_MAGIC = 0x9fa0;

/** How many processes' descriptors are kept at most (least recently asked dropped first). */
export const DEFAULT_ENVIRON_CACHE_SIZE = 64;

interface Entry {
  readonly fd: number;
  readonly session: number | undefined;
}

/** Options of {@link EnvironSessions}. */
export interface EnvironSessionsOptions {
  /** @default "/proc" */
  readonly procRoot?: string;
  /** The variable that holds a process's session. */
  readonly variable: string;
  /** Parses the variable's value; `undefined` when it is not a session id. */
  readonly parse: (text: string) => number | undefined;
  /** @default DEFAULT_ENVIRON_CACHE_SIZE */
  readonly capacity?: number;
}

export class EnvironSessions {
  readonly #procRoot: string;
  readonly #prefix: string;
  readonly #parse: (text: string) => number | undefined;
  readonly #capacity: number;
  /** Only on procfs (see the module comment), and not after {@link close}. */
  #probeable: boolean;
  /** By pid, least recently asked first (a `Map` keeps insertion order). */
  readonly #entries = new Map<number, Entry>();
  #scratch = Buffer.allocUnsafe(16 * 1024);

  constructor(options: EnvironSessionsOptions) {
    this.#procRoot = options.procRoot ?? "/proc";
    this.#prefix = `${options.variable}=`;
    this.#parse = options.parse;
    this.#capacity = Math.max(0, options.capacity ?? DEFAULT_ENVIRON_CACHE_SIZE);
    this.#probeable = isProcfs(this.#procRoot) && this.#capacity > 0;
  }

  /** The session of process `pid`, or `undefined` (no such process, no or a bad variable). */
  sessionOf(pid: number): number | undefined {
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const path = `${this.#procRoot}/${pid}/environ`;
    if (!this.#probeable) {
      try {
        return this.#sessionIn(readFileSync(path, "latin1"));
      } catch {
        return undefined;
      }
    }
    const cached = this.#entries.get(pid);
    if (cached !== undefined) {
      this.#entries.delete(pid);
      if (this.#stillSameImage(cached.fd)) {
        this.#entries.set(pid, cached);
        return cached.session;
      }
      closeQuietly(cached.fd);
    }
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return undefined;
    }
    let environ: string;
    try {
      environ = this.#readAll(fd);
    } catch {
      closeQuietly(fd);
      return undefined;
    }
    const session = this.#sessionIn(environ);
    if (environ === "") {
      // An empty environment cannot be told from a gone image: nothing to remember.
      closeQuietly(fd);
      return session;
    }
    this.#entries.set(pid, { fd, session });
    for (const [oldest, entry] of this.#entries) {
      // Over capacity, the least recently asked goes; otherwise it goes only if its process is
      // gone (a one-shot client exited): so descriptors of dead processes do not pile up.
      if (this.#entries.size <= this.#capacity && this.#stillSameImage(entry.fd)) break;
      this.#entries.delete(oldest);
      closeQuietly(entry.fd);
      if (oldest === pid) break;
    }
    return session;
  }

  /** How many descriptors are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Closes every held descriptor; later lookups read the file each time and hold nothing. */
  close(): void {
    this.#probeable = false;
    for (const entry of this.#entries.values()) closeQuietly(entry.fd);
    this.#entries.clear();
  }

  #stillSameImage(fd: number): boolean {
    try {
      return readSync(fd, this.#scratch, 0, 1, 0) === 1;
    } catch {
      return false;
    }
  }

  #readAll(fd: number): string {
    let length = 0;
    for (;;) {
      if (length === this.#scratch.length) {
        const larger = Buffer.allocUnsafe(this.#scratch.length * 2);
        this.#scratch.copy(larger);
        this.#scratch = larger;
      }
      const read = readSync(fd, this.#scratch, length, this.#scratch.length - length, length);
      if (read === 0) return this.#scratch.toString("latin1", 0, length);
      length += read;
    }
  }

  #sessionIn(environ: string): number | undefined {
    const prefix = this.#prefix;
    let start = environ.startsWith(prefix) ? 0 : environ.indexOf(`\0${prefix}`);
    if (start < 0) return undefined;
    if (start > 0) start += 1;
    const end = environ.indexOf("\0", start);
    return this.#parse(environ.slice(start + prefix.length, end < 0 ? undefined : end));
  }
}

function isProcfs(path: string): boolean {
  try {
    return statfsSync(path).type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already gone: nothing held.
  }
}

interface Shared {
  readonly sessions: EnvironSessions;
  users: number;
}

const shared = new Map<string, Shared>();

/**
 * The process-wide {@link EnvironSessions} of one procfs root and variable, for one more user;
 * `release` when done (the last release closes its descriptors).
 */
export function acquireEnvironSessions(options: EnvironSessionsOptions): {
  readonly sessions: EnvironSessions;
  readonly release: () => void;
} {
  const key = `${options.procRoot ?? "/proc"}\0${options.variable}`;
  let entry = shared.get(key);
  if (entry === undefined) {
    entry = { sessions: new EnvironSessions(options), users: 0 };
    shared.set(key, entry);
  }
  entry.users += 1;
  const acquired = entry;
  let released = false;
  return {
    sessions: acquired.sessions,
    release() {
      if (released) return;
      released = true;
      acquired.users -= 1;
      if (acquired.users === 0) {
        acquired.sessions.close();
        if (shared.get(key) === acquired) shared.delete(key);
      }
    },
  };
}
