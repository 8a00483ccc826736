/**
 * The side effects of `wmsctl`, injected so that commands run in-process in tests: output
 * streams, standard input, environment, the confirmation prompt, name resolution, the clock of a
 * grace period and cancellation. {@link processIo} is the real thing.
 */
import { lookup } from "node:dns/promises";
import { closeSync, openSync } from "node:fs";
import { homedir } from "node:os";
import { text } from "node:stream/consumers";
import { SYSTEM_GRACE_CLOCK, type GraceClock } from "../warn-then-act.js";
import type { ConfirmAnswer, ConfirmQuestion } from "./confirm-question.js";

/** Whether this process has a controlling terminal (`/dev/tty` opens). */
function canOpenTerminal(): boolean {
  if (process.platform === "win32") return false;
  try {
    closeSync(openSync("/dev/tty", "r"));
    return true;
  } catch {
    return false;
  }
}

/** A writable text stream and whether it is a terminal. */
export interface TextOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** A terminal's height and width, in lines and characters (the live `watch` table fits them). */
  readonly rows?: number;
  readonly columns?: number;
}

export type { ConfirmAnswer, ConfirmQuestion };

/** Asks the operator about one change. */
export type ConfirmPrompt = (
  question: ConfirmQuestion,
  signal: AbortSignal,
) => Promise<ConfirmAnswer>;

/** Everything `wmsctl` touches outside itself. */
export interface CliIo {
  /** The arguments after the program name. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  /** The working directory: where the search for a project's `.wmsctl/` starts. */
  readonly cwd: string;
  /** The user's home directory (for `~/.config/wmsctl`). */
  readonly homeDir: string;
  readonly stdout: TextOutput;
  readonly stderr: TextOutput;
  /**
   * Whether there is a terminal to ask on: standard input, or the controlling terminal when
   * standard input is a pipe (`wmsctl get | wmsctl disconnect --stdin --confirm`). Without one,
   * `--confirm` needs `--yes`.
   */
  readonly hasTerminal: boolean;
  /** Whether standard input is a terminal (then `--stdin` has nothing to read). */
  readonly stdinIsTTY: boolean;
  /** Reads all of standard input as UTF-8. */
  readStdin(): Promise<string>;
  /** The `--confirm` prompt. */
  readonly prompt: ConfirmPrompt;
  /** Resolves a host name to its addresses (for the `--insecure-loopback` guard). */
  lookupAll(host: string): Promise<string[]>;
  /** The clock of `--warn`'s grace period (tests pass one that does not wait). */
  readonly clock: GraceClock;
  /** Aborts the run (Ctrl-C). */
  readonly signal: AbortSignal;
}

/** The real process: `process.std*`, the environment, DNS, an `@inquirer/expand` prompt. */
export function processIo(signal: AbortSignal): CliIo {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    platform: process.platform,
    cwd: process.cwd(),
    homeDir: homedir(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    hasTerminal: process.stdin.isTTY === true || canOpenTerminal(),
    readStdin: () => text(process.stdin),
    prompt: async (question, promptSignal) => {
      const { terminalPrompt } = await import("./confirm-prompt.js");
      return terminalPrompt(question, promptSignal);
    },
    lookupAll: async (host) => (await lookup(host, { all: true })).map((item) => item.address),
    clock: SYSTEM_GRACE_CLOCK,
    signal,
  };
}
