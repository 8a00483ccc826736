/**
 * `wmsctl get [ids...]`: the sessions of every target (Get-WmsSession), with the protection that
 * would stop a disconnect. Its `-o json`/`ndjson` output is what `wmsctl disconnect --stdin` reads.
 */
import type { Command } from "commander";
import { addFleetOptions, prepareFleet, type FleetFlags } from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import { sessionView } from "../report.js";
import { printReports, reportsOf, withController } from "../run.js";
import { parseSessionIds } from "../values.js";

/** Adds `get` to the program; `done` receives the exit status. */
export function addGetCommand(program: Command, io: CliIo, done: (status: number) => void): void {
  addFleetOptions(
    program
      .command("get")
      .description("list the sessions of each host (Get-WmsSession)")
      .argument("[session-ids...]", "only these sessions (default: all)"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  wmsctl get -s h1.lab.example.com,h2.lab.example.com\n" +
        "  wmsctl get --inventory classroom.txt -o json > sessions.json\n" +
        "  wmsctl get 3 5 -s h1.lab.example.com",
    )
    .action(async (idArgs: string[], flags: FleetFlags) => {
      const ids = parseSessionIds(idArgs, "session id");
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
                return {
                  sessions: response.sessions.map(sessionView),
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
