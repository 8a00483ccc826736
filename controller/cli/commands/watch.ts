/**
 * `wmsctl watch`: every host's session changes as one stream (WatchSessions), a live table on a
 * terminal and `ndjson` otherwise. A host that goes away is a line, and the watch reconnects to it
 * by itself; only Ctrl-C (exit 130) or SIGTERM (exit 143) end it.
 */
import type { Command } from "commander";
import type { Controller } from "../../controller.js";
import type { Target } from "../../targets.js";
import { addFleetOptions, prepareFleet, type Fleet, type FleetFlags } from "../fleet-flags.js";
import { interruptMessage, interruptStatus } from "../interrupt.js";
import type { CliIo } from "../io.js";
import { withController } from "../run.js";
import { UsageError } from "../usage-error.js";
import { WatchView } from "../watch-view.js";

/**
 * How often the table may be redrawn, in milliseconds: bursts of changes are batched into one
 * redraw, and idle times tick once a second.
 */
export const WATCH_REDRAW_MS = 250;

/** Redraws the table in place: cursor home, each line cleared to its end, the rest cleared. */
function drawTable(io: CliIo, view: WatchView): void {
  const text = view.render(Date.now(), io.stdout.rows ?? 50, io.stdout.columns ?? 200);
  io.stdout.write(`\x1b[H${text.split("\n").join("\x1b[K\n")}\x1b[K\x1b[J`);
}

/** Runs the watch until the run's signal stops it; resolves to the exit status. */
async function runWatch(
  controller: Controller,
  fleet: Fleet,
  targets: readonly Target[],
  table: boolean,
  io: CliIo,
): Promise<number> {
  const view = new WatchView(targets.map((target) => target.fqdn));
  let dirty = true;
  let drawnSecond = 0;
  const timer = table
    ? setInterval(() => {
        const second = Math.floor(Date.now() / 1000);
        if (!dirty && second === drawnSecond) return;
        dirty = false;
        drawnSecond = second;
        drawTable(io, view);
      }, WATCH_REDRAW_MS)
    : undefined;
  // Hide the cursor and start from a clear screen; both are undone below.
  if (table) io.stdout.write("\x1b[?25l\x1b[2J");
  let changes = 0;
  try {
    for await (const event of controller.watch(targets, { signal: io.signal })) {
      const records = view.apply(event, Date.now());
      if (event.kind === "changes") changes += event.changes.length;
      if (table) dirty = true;
      else for (const record of records) io.stdout.write(`${JSON.stringify(record)}\n`);
      if (fleet.verbose && event.kind === "disconnected") {
        io.stderr.write(
          `VERBOSE: ${event.host}: ${event.status} (${event.code}) after ${event.failures} failed attempt(s); next in ${event.retryInMs} ms\n`,
        );
      }
    }
  } catch (error) {
    if (!io.signal.aborted) throw error;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    if (table) {
      drawTable(io, view);
      io.stdout.write("\n\x1b[?25h");
    }
  }
  io.stderr.write(
    `wmsctl: watch ${interruptMessage(io.signal)}: ${targets.length} host${targets.length === 1 ? "" : "s"}: ${view.hostSummary()}; ${view.sessionCount()} sessions; ${changes} change${changes === 1 ? "" : "s"} seen\n`,
  );
  return interruptStatus(io.signal);
}

/** Adds `watch` to the program; `done` receives the exit status. */
export function addWatchCommand(program: Command, io: CliIo, done: (status: number) => void): void {
  addFleetOptions(
    program
      .command("watch")
      .description(
        "watch the sessions of every host change, live (WatchSessions): a table on a terminal, ndjson otherwise; runs until Ctrl-C or SIGTERM",
      ),
  )
    .addHelpText(
      "after",
      "\nOutput: -o table (default on a terminal) redraws every host's sessions in place, with the\n" +
        "latest events under them; -o ndjson (default otherwise) prints one JSON object a line:\n" +
        '  {"event":"connected"}, {"event":"snapshot","cause":"initial|reconnect|resync","sessions":[...]}\n' +
        '  {"event":"added|changed|removed","session":{...},"was":{...}}, {"event":"disconnected","status":...}\n' +
        "each with time, host and (for sessions) revision. A snapshot replaces all that was known of\n" +
        "its host. A host that cannot be reached or goes away is one disconnected line; the watch\n" +
        "retries it with jittered backoff (at most 15 s apart) and says connected when it is back.\n" +
        "--timeout is how long a host gets to send its first snapshot.\n" +
        "\nExamples:\n" +
        "  wmsctl watch -s h1.lab.example.com,h2.lab.example.com\n" +
        "  wmsctl watch --inventory lab.txt -o ndjson | jq -c 'select(.event == \"changed\")'\n" +
        "\nExit status: 130 after Ctrl-C, 143 after SIGTERM (the watch never ends by itself);\n" +
        "2 bad input, nothing sent.",
    )
    .action(async (flags: FleetFlags) => {
      if (flags.output === "json") {
        throw new UsageError(
          "-o json: a watch has no end to print one JSON document at; use -o ndjson (one object a line) or -o table",
        );
      }
      if (flags.rerunFile !== undefined) {
        throw new UsageError("--rerun-file: a watch has no end to write it at");
      }
      const fleet = await prepareFleet(flags, io);
      const table = (flags.output ?? (io.stdout.isTTY === true ? "table" : "ndjson")) === "table";
      done(
        await withController(fleet, fleet.targets, io, (controller) =>
          runWatch(controller, fleet, fleet.targets, table, io),
        ),
      );
    });
}
