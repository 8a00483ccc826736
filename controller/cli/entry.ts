/**
 * The process entry point of `wmsctl` (run by `bin/wmsctl.js`): real side effects, Ctrl-C as
 * cancellation (a second Ctrl-C exits at once), and the exit status.
 */
import { processIo } from "./io.js";
import { main } from "./main.js";

// A reader that went away (`wmsctl get | head`, `wmsctl --help | head -1`) is not an error of
// ours: EPIPE is swallowed here, for every write of every command, and the destroyed stream drops
// whatever is written to it afterwards. Node.js ignores SIGPIPE, so the quiet death of `ls | head`
// is not on offer, and the usual Node.js answer, `process.exit(0)` on the spot, is wrong for
// wmsctl: `disconnect -o ndjson | head -1` would abandon a fleet-wide disconnect after the first
// host, with some hosts done and others never sent, and report success whatever happened. So the
// run goes on with its output lost and exits with the status it would have had (0 for --help and
// --version; the summary still goes to standard error when that is open), which `set -o pipefail`
// and scripts can trust.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const interrupt = new AbortController();
process.once("SIGINT", () => {
  interrupt.abort(new Error("interrupted"));
  process.once("SIGINT", () => process.exit(130));
});
process.exitCode = await main(processIo(interrupt.signal));
