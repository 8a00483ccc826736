/**
 * `wmsctl watch` as a process (bin/wmsctl.js): its `ndjson` records read as they come, a wait for
 * the first record that passes a test, and a stop by signal.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { WatchRecord } from "../../controller/cli/watch-view.js";
import { WMSCTL_BIN } from "./commands.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A running `wmsctl watch`, its ndjson records read as they come. */
export interface WatchProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly records: WatchRecord[];
  /** The first record, seen or to come, that passes `test`; rejects if wmsctl exits first. */
  next(test: (record: WatchRecord) => boolean): Promise<WatchRecord>;
  /** Sends `signal` and resolves the exit status and standard error. */
  stop(signal: NodeJS.Signals): Promise<{ status: number | null; stderr: string }>;
}

/** Starts `bin/wmsctl.js watch ARGS` (standard output a pipe, so ndjson). */
export function startWatch(args: readonly string[]): WatchProcess {
  const child = spawn(process.execPath, [WMSCTL_BIN, "watch", ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const records: WatchRecord[] = [];
  const waiters: { test: (r: WatchRecord) => boolean; resolve: (r: WatchRecord) => void }[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = once(child, "close");
  createInterface({ input: child.stdout }).on("line", (line) => {
    const record = JSON.parse(line) as WatchRecord;
    records.push(record);
    for (const waiter of [...waiters]) {
      if (waiter.test(record)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(record);
      }
    }
  });
  return {
    child,
    records,
    next(test) {
      const seen = records.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return Promise.race([
        new Promise<WatchRecord>((resolve) => waiters.push({ test, resolve })),
        closed.then((): never => {
          throw new Error(`wmsctl watch exited: ${stderr}`);
        }),
      ]);
    },
    async stop(signal) {
      child.kill(signal);
      const [status] = (await closed) as [number | null];
      return { status, stderr };
    },
  };
}
