/**
 * `wmsctl disconnect`: Disconnect-WmsSession over the fleet, by id (`3 5 7`), everything matching
 * a filter (`--all`), or the sessions read from standard input (`--stdin`); with `--what-if`,
 * `--confirm` (and `--yes`) and `--no-wait`.
 */
import type { Command } from "commander";
import type { SessionFilter } from "../../../proto/gen/wms/v1/wms_session.js";
import { confirmThenDisconnect, runPlan, type DisconnectPlan } from "../confirm-flow.js";
import {
  addFleetOptions,
  prepareFleet,
  targetsFor,
  type Fleet,
  type FleetFlags,
} from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import {
  ALL_SESSIONS,
  DISCONNECT_MAY_HAVE_ACTED,
  NAMED_SESSIONS,
  announcedSkips,
  resultView,
  type SkipPolicy,
} from "../report.js";
import { printReports, reportsOf, withController } from "../run.js";
import { parseStdinSessions, type SessionsByHost } from "../stdin-sessions.js";
import { UsageError } from "../usage-error.js";
import { compileUserPattern } from "../../session-filter.js";
import {
  DURATION_FORMS,
  MIN_IDLE_FLAG,
  parseDurationMs,
  parseSessionIds,
  parseStates,
} from "../values.js";
import type { Target } from "../../targets.js";

interface DisconnectFlags extends FleetFlags {
  readonly all?: boolean;
  readonly stdin?: boolean;
  readonly whatIf?: boolean;
  readonly confirm?: boolean;
  readonly yes?: boolean;
  readonly wait?: boolean;
  readonly user?: string;
  readonly state?: string[];
  readonly minIdle?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The `--all` filter from `--user`, `--state` and `--min-idle`. */
function filterOf(flags: DisconnectFlags): SessionFilter | undefined {
  if (flags.user === undefined && flags.state === undefined && flags.minIdle === undefined) {
    return undefined;
  }
  const idleMs =
    flags.minIdle === undefined
      ? undefined
      : parseDurationMs(flags.minIdle, "--min-idle", MIN_IDLE_FLAG);
  if (flags.user !== undefined) {
    try {
      compileUserPattern(flags.user);
    } catch (error) {
      const problem = (error as Error).message.replace(/^user name pattern: /, "");
      throw new UsageError(
        `--user: ${JSON.stringify(flags.user)}: ${problem} (a pattern is a user name, or DOMAIN\\user, with * for any run of characters and ? for one)`,
      );
    }
  }
  return {
    userNamePattern: flags.user ?? "",
    states: parseStates(flags.state ?? [], "--state"),
    minIdleTime:
      idleMs === undefined
        ? undefined
        : { seconds: Math.floor(idleMs / 1000), nanos: (idleMs % 1000) * 1_000_000 },
  };
}

/** What a run does: its targets, its calls, and which skipped sessions are not failures. */
interface Planned {
  readonly targets: Target[];
  readonly plan: DisconnectPlan;
  readonly skips: SkipPolicy;
}

/** Works out the targets and the plan from ids, `--all` or standard input. */
async function planOf(
  idArgs: readonly string[],
  flags: DisconnectFlags,
  fleet: Fleet,
  io: CliIo,
): Promise<Planned> {
  const modes = [idArgs.length > 0, flags.all === true, flags.stdin === true].filter(
    Boolean,
  ).length;
  if (modes !== 1) {
    throw new UsageError("name the sessions: session ids, --all, or --stdin (exactly one of them)");
  }
  if (flags.all !== true && filterOf(flags) !== undefined) {
    throw new UsageError("--user, --state and --min-idle filter --all; they need --all");
  }
  if (flags.all === true) {
    return {
      targets: fleet.targets,
      plan: { kind: "all", filter: filterOf(flags) },
      skips: ALL_SESSIONS,
    };
  }
  if (flags.stdin !== true) {
    const ids = parseSessionIds(idArgs, "session id");
    return {
      targets: fleet.targets,
      plan: { kind: "ids", idsFor: () => ids },
      skips: NAMED_SESSIONS,
    };
  }
  if (io.stdinIsTTY)
    throw new UsageError("--stdin: standard input is a terminal; pipe sessions in");
  return planOfStdin(parseStdinSessions(await io.readStdin()), fleet);
}

/**
 * `--stdin`: a session that names its host goes there only; one that names none goes to the
 * hosts of -s/--inventory (default localhost), as Disconnect-WmsSession sends a piped session
 * without a ComputerName to -Server. Each host is called once, with all of its sessions; the
 * skips the input announced are not failures.
 */
function planOfStdin(byHost: SessionsByHost, fleet: Fleet): Planned {
  const named = [...byHost.keys()].filter((host) => host !== "");
  const unnamed = byHost.get("") ?? [];
  const targets = targetsFor(named, fleet.spec);
  const defaults = new Set(unnamed.length > 0 ? fleet.targets.map((target) => target.fqdn) : []);
  for (const target of fleet.targets) {
    if (defaults.has(target.fqdn) && !targets.some((t) => t.fqdn === target.fqdn)) {
      targets.push(target);
    }
  }
  const sessions = new Map<string, Map<number, readonly string[]>>();
  for (const target of targets) {
    const mine = new Map<number, readonly string[]>();
    const given = [
      ...(byHost.get(target.fqdn) ?? []),
      ...(defaults.has(target.fqdn) ? unnamed : []),
    ];
    for (const { sessionId, announced } of given) {
      mine.set(sessionId, [...new Set([...(mine.get(sessionId) ?? []), ...announced])]);
    }
    parseSessionIds([...mine.keys()].map(String), `--stdin (${target.fqdn})`);
    sessions.set(target.fqdn, mine);
  }
  return {
    targets,
    plan: { kind: "ids", idsFor: (target) => [...(sessions.get(target.fqdn)?.keys() ?? [])] },
    skips: announcedSkips((host, id) => sessions.get(host)?.get(id) ?? []),
  };
}

/** Adds `disconnect` to the program; `done` receives the exit status. */
export function addDisconnectCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
): void {
  addFleetOptions(
    program
      .command("disconnect")
      .description("disconnect sessions on each host (Disconnect-WmsSession)")
      .argument("[session-ids...]", "the sessions to disconnect (uint32)")
      .option("--all", "disconnect every session (protected ones are skipped and reported)")
      .option(
        "--stdin",
        "read the sessions from standard input (wmsctl get -o json|ndjson, or PowerShell Get-WmsSession | ConvertTo-Json)",
      )
      .option(
        "--user <pattern>",
        "with --all: only users matching the pattern (* and ?; user or DOMAIN\\user)",
      )
      .option(
        "--state <states>",
        "with --all: only sessions in these states (comma list, repeatable)",
        collect,
      )
      .option(
        "--min-idle <duration>",
        `with --all: only sessions idle at least this long; a unit is required (${DURATION_FORMS})`,
      )
      .option("--what-if", "show what would be disconnected; change nothing")
      .option(
        "--confirm",
        "ask before each disconnect: [Y] Yes [A] Yes to All [N] No [L] No to All",
      )
      .option("-y, --yes", "answer Yes to All (needed for --confirm without a terminal)")
      .option("--no-wait", "return without waiting for each disconnect to complete"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  wmsctl disconnect 3 5 7 -s h1.lab.example.com\n" +
        "  wmsctl disconnect --all --state disconnected,idle --min-idle 30m --inventory lab.txt --what-if\n" +
        "  wmsctl get -s h1.lab.example.com -o json | wmsctl disconnect --stdin --confirm\n" +
        "\nExit status: 0 all done; 1 a session or host failed; 2 bad input, nothing sent; 3 only unreachable or timed-out hosts.",
    )
    .action(async (idArgs: string[], flags: DisconnectFlags) => {
      const fleet = await prepareFleet(flags, io);
      const { targets, plan, skips } = await planOf(idArgs, flags, fleet, io);
      const whatIf = flags.whatIf === true;
      const confirm = flags.confirm === true && !whatIf && flags.yes !== true;
      if (confirm && !io.hasTerminal) {
        throw new UsageError(
          "--confirm needs a terminal to ask on; add --yes to answer Yes to All",
        );
      }
      const noWait = flags.wait === false;
      done(
        await withController(fleet, targets, io, (controller) => {
          if (confirm) {
            // The prompts own the terminal: no progress line under them.
            return printReports(
              io,
              { ...fleet, progress: false },
              targets,
              confirmThenDisconnect(controller, targets, plan, io, noWait),
              { kind: "results", skips, mayHaveActed: DISCONNECT_MAY_HAVE_ACTED },
            );
          }
          const results = runPlan(controller, targets, plan, {
            whatIf,
            noWait,
            signal: io.signal,
          });
          return printReports(
            io,
            fleet,
            targets,
            reportsOf(results, (response) => ({ results: response.results.map(resultView) })),
            { kind: "results", skips, mayHaveActed: DISCONNECT_MAY_HAVE_ACTED },
          );
        }),
      );
    });
}
