/**
 * The process entry point of `wmsctl` (run by `bin/wmsctl.js`): real side effects, Ctrl-C as
 * cancellation (a second Ctrl-C exits at once), and the exit status as soon as the run is over.
 */
import { outliveClosedPipe } from "../../common/closed-pipe.js";
import { processIo } from "./io.js";
import { Interrupted } from "./interrupt.js";
import { main } from "./main.js";
import { ExitStatus } from "./usage-error.js";

// A reader that went away (`wmsctl get | head`) is not an error of ours: the run goes on with
// its output lost and exits with the status it would have had (see outliveClosedPipe).
outliveClosedPipe(process.stdout);
outliveClosedPipe(process.stderr);

// Ctrl-C and SIGTERM end the run cleanly (calls cancelled, what was answered printed, a watch's
// streams closed); the same signal again exits at once.
const interrupt = new AbortController();
for (const [signal, status] of [
  ["SIGINT", ExitStatus.INTERRUPTED],
  ["SIGTERM", ExitStatus.TERMINATED],
] as const) {
  process.once(signal, () => {
    interrupt.abort(new Interrupted(signal));
    process.once(signal, () => process.exit(status));
  });
}
process.exitCode = await main(processIo(interrupt.signal));

// The run is over and its controller closed, which ends every connection it made (handshakes
// included). What the process may still be waiting on is not ours to cancel: a TCP connection
// attempt grpc-js started to a host that never answers (a firewall that drops packets: the kernel
// gives up after about two minutes), a DNS lookup. None of it can change the result, so once what
// was written has reached standard output and error, the process ends with its status.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit();

/** Resolves once everything written to `stream` so far has been handed to the OS (or dropped). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
