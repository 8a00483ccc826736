/**
 * Runs `wmsctl` in-process with captured output, a given standard input and scripted answers to
 * the `--confirm` prompt.
 */
import type { CliIo, ConfirmAnswer, ConfirmQuestion } from "../../controller/cli/io.js";
import { main } from "../../controller/cli/main.js";
import type { GraceClock } from "../../controller/index.js";

/** What a run printed and returned. */
export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The prompts shown, in order. */
  readonly questions: readonly ConfirmQuestion[];
}

/** How to run it. */
export interface CliRunOptions {
  readonly stdin?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Answers to the prompts, in order; running out fails the prompt. */
  readonly answers?: readonly ConfirmAnswer[];
  /** @default true when answers are given */
  readonly hasTerminal?: boolean;
  /** Whether stdout and stderr are terminals. @default false */
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
  /** The grace period's clock. @default one that lets the grace period pass at once */
  readonly clock?: GraceClock;
  /**
   * The working directory, where the search for `.wmsctl/` starts. @default a path that does not
   * exist, so that a checkout's development credentials never leak into a test
   */
  readonly cwd?: string;
  /** @default a path that does not exist (no user config dir) */
  readonly homeDir?: string;
}

/** A directory that is not there: no `.wmsctl/` above it, no config dir under it. */
export const NO_CONFIG_PATH = "/nonexistent/wmsctl-test";

/** Runs `wmsctl ARGS` in this process. */
export async function runWmsctl(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const questions: ConfirmQuestion[] = [];
  const answers = [...(options.answers ?? [])];
  const tty = options.tty ?? false;
  const io: CliIo = {
    argv: args,
    env: options.env ?? {},
    platform: "linux",
    cwd: options.cwd ?? NO_CONFIG_PATH,
    homeDir: options.homeDir ?? NO_CONFIG_PATH,
    stdout: { write: (text: string) => (stdout += text), isTTY: tty },
    stderr: { write: (text: string) => (stderr += text), isTTY: tty },
    stdinIsTTY: options.stdin === undefined,
    hasTerminal: options.hasTerminal ?? options.answers !== undefined,
    readStdin: () => Promise.resolve(options.stdin ?? ""),
    prompt: (question) => {
      questions.push(question);
      const answer = answers.shift();
      return answer === undefined
        ? Promise.reject(new Error(`unexpected prompt: ${question.target}`))
        : Promise.resolve(answer);
    },
    // Names other than localhost do not resolve here: tests dial loopback overrides only.
    lookupAll: (host) =>
      host === "localhost"
        ? Promise.resolve(["127.0.0.1", "::1"])
        : Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`)),
    clock: options.clock ?? { now: () => Date.now(), sleep: () => Promise.resolve() },
    signal: options.signal ?? new AbortController().signal,
  };
  const status = await main(io);
  return { status, stdout, stderr, questions };
}
