/**
 * `wmsctl health`: whether each target's agent serves, by the standard health check
 * (`grpc.health.v1.Health/Check` of `wms.v1.WmsSessionService`: `ok` only when `SERVING`), and
 * what it is (version, backend, its own session, start time) through `GetAgentInfo` on the same
 * channel, in one result per host.
 */
import type { Command } from "commander";
import { addFleetOptions, prepareFleet, type FleetFlags } from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import type { AgentHealth } from "../../health-check.js";
import type { HostResult } from "../../host-result.js";
import { healthReport } from "../report.js";
import { printReports, withController } from "../run.js";

async function* healthReports(results: AsyncIterable<HostResult<AgentHealth>>) {
  for await (const result of results) yield healthReport(result);
}

/** Adds `health` to the program; `done` receives the exit status. */
export function addHealthCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
): void {
  addFleetOptions(
    program
      .command("health")
      .description("check that each host's agent is SERVING (gRPC health), and describe it"),
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
            healthReports(
              controller.checkHealth(fleet.targets, { agentInfo: true, signal: io.signal }),
            ),
            { kind: "health" },
          ),
        ),
      );
    });
}
