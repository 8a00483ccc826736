/**
 * The side effects of `wms-console`, injected so that its commands run in-process in tests:
 * arguments, environment, output streams, standard input, the password prompt, the operating
 * system user (who ran a `user` or `token` command, for the audit trail).
 */
import { userInfo } from "node:os";
import { text } from "node:stream/consumers";

/** A writable text stream. */
export interface TextOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Everything `wms-console` touches outside itself. */
export interface ConsoleIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: TextOutput;
  readonly stderr: TextOutput;
  /** Whether standard input is a terminal (a password can be asked there). */
  readonly stdinIsTTY: boolean;
  /** Reads all of standard input as UTF-8 (`--password-stdin`). */
  readStdin(): Promise<string>;
  /** Asks for a password on the terminal without echoing it. */
  promptPassword(message: string): Promise<string>;
  /** The operating system user running the command. */
  readonly osUser: string;
}

/** The real process. */
export function processConsoleIo(): ConsoleIo {
  let osUser = "unknown";
  try {
    osUser = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): "unknown" it is.
  }
  return {
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    readStdin: () => text(process.stdin),
    promptPassword: async (message) => {
      const { default: password } = await import("@inquirer/password");
      return password({ message, mask: true });
    },
    osUser,
  };
}
