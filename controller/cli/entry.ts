/**
 * The process entry point of `wmsctl` (run by `bin/wmsctl.js`): real side effects, Ctrl-C as
 * cancellation (a second Ctrl-C exits at once), and the exit status.
 */
import { outliveClosedPipe } from "../../common/closed-pipe.js";
import { processIo } from "./io.js";
import { main } from "./main.js";

// A reader that went away (`wmsctl get | head`) is not an error of ours: the run goes on with
// its output lost and exits with the status it would have had (see outliveClosedPipe).
outliveClosedPipe(process.stdout);
outliveClosedPipe(process.stderr);

const interrupt = new AbortController();
process.once("SIGINT", () => {
  interrupt.abort(new Error("interrupted"));
  process.once("SIGINT", () => process.exit(130));
});
process.exitCode = await main(processIo(interrupt.signal));
