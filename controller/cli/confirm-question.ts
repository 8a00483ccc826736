/** The question and answers of the `--confirm` prompt, shared by the prompt and the CLI's I/O. */

/** The answers of the `--confirm` prompt, as PowerShell offers them. */
export type ConfirmAnswer = "yes" | "yes-to-all" | "no" | "no-to-all";

/** What the `--confirm` prompt shows for one change. */
export interface ConfirmQuestion {
  /** The operation, e.g. `Disconnect`. */
  readonly operation: string;
  /** The target, e.g. `session 5 (alice, Station 3) on h1.lab.example.com`. */
  readonly target: string;
}
