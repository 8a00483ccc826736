/**
 * The terminal `--confirm` prompt, in PowerShell's words:
 *
 * ```
 * Confirm
 * Are you sure you want to perform this action?
 * Performing the operation "Disconnect" on target "session 5 (alice, Station 3) on h1".
 * [Y] Yes  [A] Yes to All  [N] No  [L] No to All
 * ```
 *
 * Loaded only when a prompt is shown, so that start-up stays fast.
 */
import { openSync } from "node:fs";
import { ReadStream } from "node:tty";
import expand from "@inquirer/expand";
import type { ConfirmAnswer, ConfirmQuestion } from "./confirm-question.js";
import { InterruptedError } from "./usage-error.js";

/** The choices, in PowerShell's order, keyed as PowerShell keys them. */
export const CONFIRM_CHOICES: readonly {
  key: "y" | "a" | "n" | "l";
  name: string;
  value: ConfirmAnswer;
}[] = [
  { key: "y", name: "Yes", value: "yes" },
  { key: "a", name: "Yes to All", value: "yes-to-all" },
  { key: "n", name: "No", value: "no" },
  { key: "l", name: "No to All", value: "no-to-all" },
];

/** The prompt text for one change. */
export function confirmMessage(question: ConfirmQuestion): string {
  const keys = CONFIRM_CHOICES.map((c) => `[${c.key.toUpperCase()}] ${c.name}`).join("  ");
  return (
    "Confirm\nAre you sure you want to perform this action?\n" +
    `Performing the operation "${question.operation}" on target "${question.target}".\n${keys}`
  );
}

/**
 * Asks on the terminal: standard input when it is one, else the controlling terminal
 * (`/dev/tty`), writing to standard error. Ctrl-C — a key to a prompt in raw mode, or SIGINT
 * aborting `signal` — rejects with an {@link InterruptedError}, as the rest of a run does.
 */
export async function terminalPrompt(
  question: ConfirmQuestion,
  signal: AbortSignal,
): Promise<ConfirmAnswer> {
  const input = process.stdin.isTTY ? process.stdin : new ReadStream(openSync("/dev/tty", "r"));
  try {
    return await expand(
      {
        message: confirmMessage(question),
        default: "y",
        choices: CONFIRM_CHOICES.map((choice) => ({ ...choice })),
      },
      { input, output: process.stderr, signal },
    );
  } catch (error) {
    // @inquirer's own errors for Ctrl-C (ExitPromptError) and for the signal (AbortPromptError).
    const name = error instanceof Error ? error.name : "";
    if (name === "ExitPromptError" || name === "AbortPromptError") {
      throw new InterruptedError("prompt", { cause: error });
    }
    throw error;
  } finally {
    if (input !== process.stdin) input.destroy();
  }
}
