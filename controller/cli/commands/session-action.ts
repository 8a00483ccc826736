/**
 * The commands that change sessions — `disconnect` (Disconnect-WmsSession) and `logoff`
 * (Close-WmsSession) — built once: the same selection (ids, `--all` with its filter, `--stdin`),
 * `--what-if`, `--confirm`/`--yes`, `--no-wait`, `--warn TEXT --grace DURATION` (warn, then act),
 * the same output and exit status. Only the verb differs.
 */
import type { Command } from "commander";
import type { Controller } from "../../controller.js";
import type { SessionFilter } from "../../../proto/gen/wms/v1/wms_session.js";
import type { SessionAction, SessionSelection } from "../../session-actions.js";
import { describeMs } from "../../session-filter.js";
import type { Target } from "../../targets.js";
import type { GracePeriod, Warning } from "../../warn-then-act.js";
import { confirmThenAct } from "../confirm-flow.js";
import { addFleetOptions, prepareFleet, type FleetFlags } from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import type { HostReport, MayHaveActedNote } from "../report.js";
import { actionReports, printReports, withController } from "../run.js";
import { addSelectionOptions, planOf, type SelectionFlags } from "../selection.js";
import { UsageError } from "../usage-error.js";
import { parseWarning, type ParsedWarning } from "../warning-flags.js";

/** What makes one verb's command. */
export interface SessionActionCommand {
  readonly action: SessionAction;
  /** The command's name: `disconnect`, `logoff`. */
  readonly name: string;
  /** The verb in help texts: `disconnect`, `log off`. */
  readonly verb: string;
  readonly description: string;
  /** Example command lines for `--help`. */
  readonly examples: readonly string[];
  /** What to say of a host that may have acted without answering (and whether a rerun is safe). */
  readonly mayHaveActed: MayHaveActedNote;
}

interface ActionFlags extends FleetFlags, SelectionFlags {
  readonly whatIf?: boolean;
  readonly confirm?: boolean;
  readonly yes?: boolean;
  readonly wait?: boolean;
  readonly warn?: string;
  readonly warnTitle?: string;
  readonly grace?: string;
}

/** `wmsctl: warned 4 sessions on 2 hosts; …` on standard error when the grace period starts. */
function graceNotice(io: CliIo, verb: string, grace: GracePeriod): void {
  const at = grace.endsAt.toLocaleTimeString();
  io.stderr.write(
    `wmsctl: warned ${grace.sessions} session${grace.sessions === 1 ? "" : "s"} on ${grace.hosts} host${grace.hosts === 1 ? "" : "s"}; ` +
      `at ${at} (in ${describeMs(grace.graceMs)}) those that still qualify are ${verb === "log off" ? "logged off" : `${verb}ed`} ` +
      "and a user who came back is left alone. Ctrl-C cancels.\n",
  );
}

/** Adds the command of one verb to the program; `done` receives the exit status. */
export function addSessionActionCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
  spec: SessionActionCommand,
): void {
  const { verb } = spec;
  addFleetOptions(
    addSelectionOptions(
      program
        .command(spec.name)
        .description(spec.description)
        .argument("[session-ids...]", `the sessions to ${verb} (uint32)`),
      verb,
    )
      .option(
        "--what-if",
        `show what would be done (${verb}, and the --warn message); change nothing`,
      )
      .option("--confirm", `ask before each ${verb}: [Y] Yes [A] Yes to All [N] No [L] No to All`)
      .option("-y, --yes", "answer Yes to All (needed for --confirm without a terminal)")
      .option("--no-wait", `return without waiting for each ${verb} to complete`)
      .option(
        "--warn <text>",
        `first show the users this message, wait --grace, then ${verb} only the sessions that still qualify (a user who came back is left alone, NO_LONGER_MATCHES)`,
      )
      .option(
        "--warn-title <title>",
        'with --warn: the message\'s title (default "Message from your administrator")',
      )
      .option("--grace <duration>", "with --warn: how long users have, 1s to 24h (30s, 5m, 1h)"),
  )
    .addHelpText(
      "after",
      "\nWarn, then act: --warn sends the message (it stays up for the grace period), waits, lists\n" +
        "the sessions again and acts only on those that are the same logon, in the same state and\n" +
        "still match --user/--state/--min-idle; the others are left alone with NO_LONGER_MATCHES.\n" +
        "\nExamples:\n" +
        spec.examples.map((line) => `  ${line}\n`).join("") +
        "\nExit status: 0 all done (protected and unsuitable sessions skipped by --all, sessions\n" +
        "left alone after --warn, declined at --confirm included); 1 a session or host failed;\n" +
        "2 bad input, nothing sent; 3 only unreachable or timed-out hosts; 130 Ctrl-C; 143 SIGTERM.",
    )
    .action(async (idArgs: string[], flags: ActionFlags) => {
      const fleet = await prepareFleet(flags, io);
      const plan = await planOf(idArgs, flags, fleet, io);
      const warning = parseWarning(flags);
      const whatIf = flags.whatIf === true;
      const confirm = flags.confirm === true && !whatIf && flags.yes !== true;
      if (confirm && !io.hasTerminal) {
        throw new UsageError(
          "--confirm needs a terminal to ask on; add --yes to answer Yes to All",
        );
      }
      const noWait = flags.wait === false;
      const filter = plan.selection.kind === "all" ? plan.selection.filter : undefined;
      done(
        await withController(fleet, plan.targets, io, (controller) => {
          const act = actOn(controller, spec, io, { whatIf, noWait, warning, filter });
          const reports: AsyncIterable<HostReport> = confirm
            ? confirmThenAct(controller, spec.action, plan, io, (targets, sessionIds) =>
                act(targets, { kind: "ids", sessionIds }),
              )
            : actionReports(act(plan.targets, plan.selection));
          // With --confirm the prompts own the terminal, and with --warn the grace notice: no
          // progress line under them.
          const progress = fleet.progress && !confirm && warning === undefined;
          return printReports(io, { ...fleet, progress }, plan.targets, reports, {
            kind: "results",
            skips: plan.skips,
            mayHaveActed: spec.mayHaveActed,
          });
        }),
      );
    });
}

/** The calls of a run: the verb itself, or warn-then-act with `--warn`. */
function actOn(
  controller: Controller,
  spec: SessionActionCommand,
  io: CliIo,
  options: {
    readonly whatIf: boolean;
    readonly noWait: boolean;
    readonly warning: ParsedWarning | undefined;
    readonly filter: SessionFilter | undefined;
  },
) {
  return (targets: readonly Target[], selection: SessionSelection) => {
    const { warning } = options;
    if (warning === undefined) {
      return controller.act(spec.action, targets, selection, {
        whatIf: options.whatIf,
        noWait: options.noWait,
        signal: io.signal,
      });
    }
    const text: Warning = {
      text: warning.text,
      ...(warning.title === undefined ? {} : { title: warning.title }),
    };
    return controller.warnThenAct(targets, {
      action: spec.action,
      selection,
      warning: text,
      graceMs: warning.graceMs,
      whatIf: options.whatIf,
      noWait: options.noWait,
      signal: io.signal,
      clock: io.clock,
      // Sessions approved at --confirm are named by id; they must still match the --all filter.
      ...(options.filter === undefined ? {} : { recheckFilter: options.filter }),
      onGrace: (grace) => graceNotice(io, spec.verb, grace),
    });
  };
}
