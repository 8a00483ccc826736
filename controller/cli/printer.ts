/**
 * Prints a run as hosts answer: `ndjson` records at once, `table`/`json` at the end, a live
 * progress line on standard error while hosts are pending (terminal only), failed hosts and a
 * summary on standard error, and the `--rerun-file`.
 */
import { writeFile } from "node:fs/promises";
import { formatHostPort } from "../host-name.js";
import type { Target } from "../targets.js";
import type { CliIo } from "./io.js";
import {
  CHANGE_MAY_HAVE_ACTED,
  NAMED_SESSIONS,
  isFailedResult,
  markSkips,
  summaryLine,
  type HostReport,
  type MayHaveActedNote,
  type SkipPolicy,
} from "./report.js";
import { healthTable, resultsTable, sessionsTable } from "./table.js";

/** The output formats of `-o`. */
export const OUTPUT_FORMATS = ["table", "json", "ndjson"] as const;
/** One of {@link OUTPUT_FORMATS}. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What is being printed. */
export type ReportKind = "sessions" | "results" | "health";

/** Options of {@link ReportPrinter}. */
export interface PrinterOptions {
  readonly format: OutputFormat;
  readonly kind: ReportKind;
  /** Hosts expected, for the progress line. */
  readonly total: number;
  /** Show the progress line (only ever on a terminal). @default stderr.isTTY */
  readonly progress?: boolean;
  /** Which skipped sessions are not failures. @default {@link NAMED_SESSIONS}: none */
  readonly skips?: SkipPolicy;
  /** Report each host on standard error as it answers (`--verbose`). @default false */
  readonly verbose?: boolean;
  /**
   * The hosts asked, in the order they were named: `table` and `json` follow it, and an
   * interrupted run counts (and lists in the rerun file) those without a report. @default none:
   * arrival order
   */
  readonly targets?: readonly Target[];
  /**
   * What to say about a host whose change may have taken effect without an answer.
   * @default {@link CHANGE_MAY_HAVE_ACTED}
   */
  readonly mayHaveActed?: MayHaveActedNote;
}

/** Collects host reports and prints them. */
export class ReportPrinter {
  readonly reports: HostReport[] = [];
  readonly #io: CliIo;
  readonly #options: PrinterOptions;
  readonly #progress: boolean;
  #progressShown = false;

  constructor(io: CliIo, options: PrinterOptions) {
    this.#io = io;
    this.#options = options;
    this.#progress = (options.progress ?? true) && io.stderr.isTTY === true;
    this.#showProgress();
  }

  /** Records one host: printed now for `ndjson`, at {@link finish} otherwise. */
  add(received: HostReport): void {
    const report = markSkips(received, this.#options.skips ?? NAMED_SESSIONS);
    this.reports.push(report);
    this.#clearProgress();
    if (this.#options.format === "ndjson") this.#io.stdout.write(`${JSON.stringify(report)}\n`);
    if (this.#options.verbose === true) {
      const attempts = `${report.attempts} attempt${report.attempts === 1 ? "" : "s"}`;
      const why = report.code === undefined ? "" : ` (${report.code})`;
      this.#io.stderr.write(
        `VERBOSE: ${report.host} at ${report.address}: ${report.status}${why} after ${attempts}, ${report.durationMs} ms\n`,
      );
    }
    this.#showProgress();
  }

  /**
   * Prints the table or JSON, the failed hosts and the summary. `interrupted` says where a run was
   * cut short (Ctrl-C), so that the summary counts the hosts that never answered.
   */
  finish(interrupted?: "prompt" | "run"): void {
    this.#clearProgress();
    const { format, kind, targets } = this.#options;
    if (targets !== undefined) {
      const rank = new Map(targets.map((target, index) => [target.fqdn, index]));
      this.reports.sort((a, b) => (rank.get(a.host) ?? 0) - (rank.get(b.host) ?? 0));
    }
    if (format === "json") this.#io.stdout.write(`${JSON.stringify(this.reports, null, 2)}\n`);
    if (format === "table") {
      const table =
        kind === "sessions"
          ? sessionsTable(this.reports)
          : kind === "results"
            ? resultsTable(this.reports)
            : healthTable(this.reports);
      this.#io.stdout.write(table);
      for (const report of this.reports) {
        if (report.error !== undefined) {
          this.#io.stderr.write(`${report.host}: ${report.status}: ${report.error}\n`);
        }
        for (const id of report.missing ?? []) {
          this.#io.stderr.write(`${report.host}: session ${id} not found\n`);
        }
      }
    }
    // Whatever the format: a change that may have happened must reach the person.
    const note = this.#options.mayHaveActed ?? CHANGE_MAY_HAVE_ACTED;
    for (const report of this.reports) {
      if (report.mayHaveActed === true) this.#io.stderr.write(`${note.message(report.host)}\n`);
    }
    const unfinished =
      interrupted === undefined
        ? undefined
        : {
            count: this.unanswered().length,
            at: interrupted,
            changes: this.#options.mayHaveActed !== undefined,
          };
    this.#io.stderr.write(`${summaryLine(this.reports, unfinished)}\n`);
  }

  /** The hosts asked that have no report (a run cut short). */
  unanswered(): Target[] {
    const answered = new Set(this.reports.map((report) => report.host));
    return (this.#options.targets ?? []).filter((target) => !answered.has(target.fqdn));
  }

  /** The hosts that did not succeed (host failure, missing or failed sessions). */
  unsuccessful(): HostReport[] {
    return this.reports.filter(
      (report) =>
        report.status !== "ok" ||
        (report.missing?.length ?? 0) > 0 ||
        (report.results ?? []).some(isFailedResult),
    );
  }

  /**
   * Writes the hosts that did not succeed as an inventory (`FQDN ADDRESS:PORT` a line) for
   * `--inventory` on the next run; after Ctrl-C, also those that never answered.
   */
  async writeRerunFile(path: string): Promise<void> {
    const note = this.#options.mayHaveActed ?? CHANGE_MAY_HAVE_ACTED;
    const lines = [
      ...this.unsuccessful().map(
        (report) =>
          `${report.host} ${report.address}${report.mayHaveActed === true ? `  # ${note.rerun}` : ""}\n`,
      ),
      ...this.unanswered().map(
        (target) =>
          `${target.fqdn} ${formatHostPort(target.address)}  # not answered: interrupted\n`,
      ),
    ];
    await writeFile(
      path,
      `# wmsctl --rerun-file: ${lines.length} host(s) that did not succeed\n${lines.join("")}`,
    );
  }

  #showProgress(): void {
    if (!this.#progress || this.reports.length >= this.#options.total) return;
    const failed = this.reports.filter((r) => r.status !== "ok").length;
    this.#io.stderr.write(
      `\r${this.reports.length}/${this.#options.total} hosts done, ${failed} failed…`,
    );
    this.#progressShown = true;
  }

  #clearProgress(): void {
    if (!this.#progressShown) return;
    this.#io.stderr.write("\r\x1b[2K");
    this.#progressShown = false;
  }
}
