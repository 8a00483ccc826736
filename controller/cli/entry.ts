/**
 * The process entry point of `wmsctl` (run by `bin/wmsctl.js`): real side effects, Ctrl-C as
 * cancellation (a second Ctrl-C exits at once), and the exit status.
 */
import { processIo } from "./io.js";
import { main } from "./main.js";

// A reader that went away (`wmsctl get | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const interrupt = new AbortController();
process.once("SIGINT", () => {
  interrupt.abort(new Error("interrupted"));
  process.once("SIGINT", () => process.exit(130));
});
process.exitCode = await main(processIo(interrupt.signal));
