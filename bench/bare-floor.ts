/**
 * The warm floor as a process that stays up: `bare-fanout.ts` in `serve` mode, forked, its channels
 * open, one timed fan-out per {@link BareFloor.run}. A bench alternates it with what it measures,
 * on the same hosts, so that both see the same machine load and the same agents' work.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BareFanoutConfig } from "./bare-fanout.js";

const BARE_FANOUT = fileURLToPath(new URL("./bare-fanout.ts", import.meta.url));

/** One timed fan-out of the floor. */
export interface FloorRun {
  readonly wallMs: number;
  readonly cpuUsPerHost: number;
}

/** A running warm floor. */
export interface BareFloor {
  /** One fan-out to every host of its configuration. */
  run(): Promise<FloorRun>;
  close(): Promise<void>;
}

/** Forks the floor over `config` (its `mode` is `serve`); resolves once its channels are up. */
export async function startBareFloor(config: Omit<BareFanoutConfig, "mode">): Promise<BareFloor> {
  const child = fork(BARE_FANOUT, [JSON.stringify({ ...config, mode: "serve" })], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting: ((message: unknown) => void)[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  child.on("message", (message) => waiting.shift()?.(message));
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      waiting.push(resolve);
      void exited.then((code) => reject(new Error(`the bare floor exited with ${code}`)));
    });
  await next();
  return {
    async run() {
      const answer = next();
      child.send({ kind: "run" });
      const reply = (await answer) as FloorRun | { error: string };
      if ("error" in reply) throw new Error(`the bare floor failed: ${reply.error}`);
      return reply;
    },
    async close() {
      if (child.exitCode === null && child.connected) child.send({ kind: "close" });
      await exited;
    },
  };
}
