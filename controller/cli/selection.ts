/**
 * Which sessions a command acts on, the same way for `disconnect`, `logoff` and `message`: ids
 * (`3 5 7`), everything matching a filter (`--all` with `--user`, `--state`, `--min-idle`), or the
 * sessions read from standard input (`--stdin`, the pipeline of `Get-WmsSession |
 * Disconnect-WmsSession`). Checked before anything is sent.
 */
import type { Command } from "commander";
import type { SessionFilter } from "../../proto/gen/wms/v1/wms_session.js";
import type { SessionSelection } from "../session-actions.js";
import { compileUserPattern } from "../session-filter.js";
import type { Target } from "../targets.js";
import { targetsFor, type Fleet } from "./fleet-flags.js";
import type { CliIo } from "./io.js";
import { ALL_SESSIONS, NAMED_SESSIONS, announcedSkips, type SkipPolicy } from "./report.js";
import { parseStdinSessions, type SessionsByHost } from "./stdin-sessions.js";
import { UsageError } from "./usage-error.js";
import {
  DURATION_FORMS,
  MIN_IDLE_FLAG,
  parseDurationMs,
  parseSessionIds,
  parseStates,
} from "./values.js";

/** The selection flags as commander parses them. */
export interface SelectionFlags {
  readonly all?: boolean;
  readonly stdin?: boolean;
  readonly user?: string;
  readonly state?: string[];
  readonly minIdle?: string;
}

/** What a command acts on: its targets, for each the sessions, and which skips are no failure. */
export interface Plan {
  readonly targets: Target[];
  readonly selection: SessionSelection;
  readonly skips: SkipPolicy;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Adds the selection flags; `verb` completes "…every session" (e.g. "disconnect"). */
export function addSelectionOptions(command: Command, verb: string): Command {
  return command
    .option("--all", `${verb} every session (protected ones are skipped and reported)`)
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
    );
}

/**
 * The filter of `--user`, `--state` and `--min-idle`, checked as the agent checks it; undefined
 * when none is given.
 * @throws UsageError naming the flag.
 */
export function filterOf(flags: SelectionFlags): SessionFilter | undefined {
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

/**
 * Works out the targets and the sessions from ids, `--all` or standard input.
 * @throws UsageError when not exactly one of them is given, or on bad ids, filters or input.
 */
export async function planOf(
  idArgs: readonly string[],
  flags: SelectionFlags,
  fleet: Fleet,
  io: CliIo,
): Promise<Plan> {
  const modes = [idArgs.length > 0, flags.all === true, flags.stdin === true].filter(
    Boolean,
  ).length;
  if (modes !== 1) {
    throw new UsageError("name the sessions: session ids, --all, or --stdin (exactly one of them)");
  }
  const filter = filterOf(flags);
  if (flags.all !== true && filter !== undefined) {
    throw new UsageError("--user, --state and --min-idle filter --all; they need --all");
  }
  if (flags.all === true) {
    return { targets: fleet.targets, selection: { kind: "all", filter }, skips: ALL_SESSIONS };
  }
  if (flags.stdin !== true) {
    const ids = parseSessionIds(idArgs, "session id");
    return {
      targets: fleet.targets,
      selection: { kind: "ids", sessionIds: ids },
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
function planOfStdin(byHost: SessionsByHost, fleet: Fleet): Plan {
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
    selection: {
      kind: "ids",
      sessionIds: (target) => [...(sessions.get(target.fqdn)?.keys() ?? [])],
    },
    skips: announcedSkips((host, id) => sessions.get(host)?.get(id) ?? []),
  };
}
