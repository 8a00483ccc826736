/**
 * `wmsctl get [ids...]`: the sessions of every target (Get-WmsSession), with the protection that
 * would stop a disconnect, filtered by `--user`, `--state` and `--min-idle` as `--all` filters.
 * Its `-o json`/`ndjson` output is what `wmsctl disconnect --stdin` reads.
 *
 * `ListSessions` has no filter: the filter is applied here, by the controller's own copy of the
 * agent's rules (controller/session-filter.ts, held to the agent's answers by a test), to the
 * idle time each agent answered.
 */
import type { Command } from "commander";
import { compileSessionFilter, idleMsOf } from "../../session-filter.js";
import { addFleetOptions, prepareFleet, type FleetFlags } from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import { sessionView } from "../report.js";
import { printReports, reportsOf, withController } from "../run.js";
import { filterOf, type SelectionFlags } from "../selection.js";
import { DURATION_FORMS, parseSessionIds } from "../values.js";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

type GetFlags = FleetFlags & Omit<SelectionFlags, "all" | "stdin">;

/** Adds `get` to the program; `done` receives the exit status. */
export function addGetCommand(program: Command, io: CliIo, done: (status: number) => void): void {
  addFleetOptions(
    program
      .command("get")
      .description("list the sessions of each host (Get-WmsSession)")
      .argument("[session-ids...]", "only these sessions (default: all)")
      .option("--user <pattern>", "only users matching the pattern (* and ?; user or DOMAIN\\user)")
      .option("--state <states>", "only sessions in these states (comma list, repeatable)", collect)
      .option(
        "--min-idle <duration>",
        `only sessions idle at least this long; a unit is required (${DURATION_FORMS})`,
      ),
  )
    .addHelpText(
      "after",
      "\nThe filters are those of disconnect --all and logoff --all, with the same meaning (an\n" +
        "unknown idle time is never idle); wmsctl applies them to what each agent lists.\n" +
        "\nExamples:\n" +
        "  wmsctl get -s h1.lab.example.com,h2.lab.example.com\n" +
        "  wmsctl get --inventory classroom.txt -o json > sessions.json\n" +
        "  wmsctl get 3 5 -s h1.lab.example.com\n" +
        "  wmsctl get --state disconnected --min-idle 2h --inventory lab.txt -o json | wmsctl logoff --stdin",
    )
    .action(async (idArgs: string[], flags: GetFlags) => {
      const ids = parseSessionIds(idArgs, "session id");
      const filter = compileSessionFilter(filterOf(flags));
      const fleet = await prepareFleet(flags, io);
      done(
        await withController(fleet, fleet.targets, io, (controller) =>
          printReports(
            io,
            fleet,
            fleet.targets,
            reportsOf(
              controller.listSessions(fleet.targets, { sessionIds: ids, signal: io.signal }),
              (response) => {
                const found = new Set(response.sessions.map((s) => s.sessionId));
                const missing = ids.filter((id) => !found.has(id));
                const now = Date.now();
                return {
                  sessions: response.sessions
                    .filter((session) => filter.matches(session, idleMsOf(session, now)))
                    .map((session) => sessionView(session, now)),
                  ...(missing.length > 0 ? { missing } : {}),
                };
              },
            ),
            { kind: "sessions" },
          ),
        ),
      );
    });
}
