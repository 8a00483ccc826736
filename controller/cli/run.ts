/**
 * The part every command shares: check the targets, make the controller, print each host's
 * report as it arrives, write the rerun file and work out the exit status.
 */
import { createController, type Controller } from "../controller.js";
import type { HostResult } from "../host-result.js";
import { checkLoopbackTargets, type Fleet } from "./fleet-flags.js";
import type { CliIo } from "./io.js";
import { InterruptedError } from "./usage-error.js";
import { ReportPrinter, type ReportKind } from "./printer.js";
import {
  NAMED_SESSIONS,
  actionReport,
  exitStatus,
  hostReport,
  type ActionAnswer,
  type HostReport,
  type MayHaveActedNote,
  type SkipPolicy,
} from "./report.js";
import type { Target } from "../targets.js";

/** Runs `work` with a controller for the fleet's options, closing it afterwards. */
export async function withController<T>(
  fleet: Fleet,
  targets: readonly Target[],
  io: CliIo,
  work: (controller: Controller) => Promise<T>,
): Promise<T> {
  if (fleet.insecureLoopback) await checkLoopbackTargets(targets, io);
  const files = fleet.credentialFiles;
  if (fleet.verbose && files !== undefined) {
    const describe = (file: { path: string; source: string }) => `${file.path} (${file.source})`;
    io.stderr.write(
      `wmsctl: mutual TLS: CA ${describe(files.ca)}, certificate ${describe(files.cert)}, key ${describe(files.key)}\n`,
    );
  }
  const controller = createController(fleet.controllerOptions);
  try {
    return await work(controller);
  } finally {
    controller.close();
  }
}

/** Options of {@link printReports}. */
export interface PrintRunOptions {
  readonly kind: ReportKind;
  /** Which skipped sessions are not failures. @default {@link NAMED_SESSIONS}: none */
  readonly skips?: SkipPolicy;
  /** What to say about a host whose change may have taken effect without an answer. */
  readonly mayHaveActed?: MayHaveActedNote;
}

/**
 * Prints reports as they come and finishes: table/JSON, summary, rerun file; returns the exit status. */
export async function printReports(
  io: CliIo,
  fleet: Fleet,
  targets: readonly Target[],
  reports: AsyncIterable<HostReport> | Iterable<HostReport>,
  options: PrintRunOptions,
): Promise<number> {
  const printer = new ReportPrinter(io, {
    format: fleet.format,
    kind: options.kind,
    total: targets.length,
    targets,
    progress: fleet.progress,
    verbose: fleet.verbose,
    skips: options.skips ?? NAMED_SESSIONS,
    ...(options.mayHaveActed === undefined ? {} : { mayHaveActed: options.mayHaveActed }),
  });
  try {
    for await (const report of reports) printer.add(report);
  } catch (error) {
    const interrupted =
      error instanceof InterruptedError
        ? error
        : io.signal.aborted
          ? new InterruptedError("run", { cause: error })
          : undefined;
    if (interrupted === undefined) throw error;
    // Ctrl-C: show what the hosts that did answer said, count those that did not, and list them
    // for the next run.
    printer.finish(interrupted.at);
    if (fleet.rerunFile !== undefined) await printer.writeRerunFile(fleet.rerunFile);
    throw interrupted;
  }
  printer.finish();
  if (fleet.rerunFile !== undefined) await printer.writeRerunFile(fleet.rerunFile);
  return exitStatus(printer.reports);
}

/** Maps host results to reports, lazily. */
export async function* reportsOf<T>(
  results: AsyncIterable<HostResult<T>>,
  body: (response: T, host: string) => object,
): AsyncGenerator<HostReport> {
  for await (const result of results)
    yield hostReport(result, (response) => body(response, result.host));
}

/** Maps the host results of an action (disconnect, log off, message, warned first or not) to reports. */
export async function* actionReports(
  results: AsyncIterable<HostResult<ActionAnswer>>,
): AsyncGenerator<HostReport> {
  for await (const result of results) yield actionReport(result);
}
