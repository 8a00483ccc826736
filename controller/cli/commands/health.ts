/**
 * `wmsctl health`: whether each target's agent answers, and what it is (version, backend, its
 * own session, start time), through `GetAgentInfo`.
 */
import type { Command } from "commander";
import { addFleetOptions, prepareFleet, type FleetFlags } from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import { agentView } from "../report.js";
import { printReports, reportsOf, withController } from "../run.js";

/** Adds `health` to the program; `done` receives the exit status. */
export function addHealthCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
): void {
  addFleetOptions(
    program.command("health").description("check that each host's agent answers, and describe it"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  wmsctl health --inventory fleet.txt --rerun-file down.txt\n" +
        "  wmsctl health --inventory down.txt        # only the hosts that failed last time",
    )
    .action(async (flags: FleetFlags) => {
      const fleet = await prepareFleet(flags, io);
      done(
        await withController(fleet, fleet.targets, io, (controller) =>
          printReports(
            io,
            fleet,
            fleet.targets,
            reportsOf(controller.getAgentInfo(fleet.targets, { signal: io.signal }), (info) => ({
              agent: agentView(info),
            })),
            { kind: "health" },
          ),
        ),
      );
    });
}
