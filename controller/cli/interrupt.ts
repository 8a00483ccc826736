/**
 * How `wmsctl` is stopped from outside: Ctrl-C (SIGINT) or SIGTERM abort the run's signal with an
 * {@link Interrupted} reason; commands end cleanly and exit with 128 plus the signal's number.
 */
import { ExitStatus } from "./usage-error.js";

/** The signals that stop a run. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** The reason of a run stopped by a signal. */
export class Interrupted extends Error {
  override readonly name = "Interrupted";
  constructor(readonly signalName: StopSignal) {
    super(signalName === "SIGINT" ? "interrupted" : "terminated");
  }
}

/** The exit status of a run stopped through `signal`: 130 for Ctrl-C, 143 for SIGTERM. */
export function interruptStatus(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  return reason instanceof Interrupted && reason.signalName === "SIGTERM"
    ? ExitStatus.TERMINATED
    : ExitStatus.INTERRUPTED;
}

/** What a stopped run says on standard error: `interrupted` or `terminated`. */
export function interruptMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Interrupted ? reason.message : "interrupted";
}
