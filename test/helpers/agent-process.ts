/**
 * `wms-agent` as a real process: spawned from `bin/wms-agent.js`, its JSON log lines read as they
 * come, its port read back from the "agent listening" line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import { main } from "../../agent/main.js";
import { AGENT_BIN } from "./commands.js";
import { underFileSizeLimit } from "./file-size-limit.js";

/** One JSON log line of the agent. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A spawned agent. */
export interface AgentProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every log line so far. */
  readonly lines: LogLine[];
  /** Resolves with the first line (seen or to come) that matches. */
  waitForLine(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  /** Resolves with the exit status once the process has exited. */
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
}

/**
 * Spawns `wms-agent --insecure-loopback --listen 127.0.0.1:0 ...args` (without
 * `--insecure-loopback` when `insecureLoopback` is false: the args then carry the TLS flags) and
 * waits until it listens. The process is killed after the test if it is still running.
 */
export async function spawnAgent(
  t: TestContext,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  {
    insecureLoopback = true,
    fileSizeLimitBlocks,
  }: {
    insecureLoopback?: boolean;
    /** Files the agent writes cannot grow beyond this many 512-byte blocks (a full disk). */
    fileSizeLimitBlocks?: number;
  } = {},
): Promise<AgentProcess> {
  const agentArgs = [
    AGENT_BIN,
    ...(insecureLoopback ? ["--insecure-loopback"] : []),
    "--listen",
    "127.0.0.1:0",
    "--host-fqdn",
    "mps01.lab.example.com",
    ...args,
  ];
  const { command, args: commandArgs } =
    fileSizeLimitBlocks === undefined
      ? { command: process.execPath, args: agentArgs }
      : underFileSizeLimit(fileSizeLimitBlocks, process.execPath, agentArgs);
  const child = spawn(command, commandArgs, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogLine[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on("line", (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  /** A line that never comes because the agent exited is an error naming its exit status. */
  const waitForLine = (predicate: (line: LogLine) => boolean) => {
    const seen = lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return Promise.race([
      new Promise<LogLine>((resolve) => waiters.push({ predicate, resolve })),
      exited.then((code): never => {
        throw new Error(`wms-agent exited with ${code}: ${stderr}`);
      }),
    ]);
  };
  const listening = await waitForLine((line) => line.msg === "agent listening");
  const port = (listening["ports"] as number[])[0];
  if (port === undefined) throw new Error("wms-agent logged no port");
  return { child, port, lines, waitForLine, exited, stderr: () => stderr };
}

/** Runs `wms-agent` with `args` to completion (for start-up errors); resolves its status and output. */
export function runAgent(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A writable stream that keeps what is written, as text. */
class MemoryStream extends Writable {
  text = "";
  override _write(chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    this.text += String(chunk);
    callback();
  }
}

/**
 * `wms-agent ARGS` as `bin/wms-agent.js` runs it, but in this process: `main()` with the
 * process's environment plus `env` (the agent reads its environment through its io only), its
 * output kept. For what the agent decides before it serves (refusals, help): the same code as in
 * a spawned agent, without a process start-up each.
 */
export async function runMain(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new MemoryStream();
  const stderr = new MemoryStream();
  const code = await main({ argv: args, env: { ...process.env, ...env }, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
