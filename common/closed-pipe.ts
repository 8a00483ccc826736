/**
 * What both commands do when the reader of their standard output or error goes away
 * (`wmsctl get | head`, `wms-agent --help | head -1`, a log collector that restarted).
 */

/** Streams whose closed pipe is already taken care of (the agent's `main` runs twice for `service run`). */
const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * Makes `EPIPE` on `stream` harmless instead of an unhandled `'error'` event that kills the
 * process with a stack trace. Any other error is rethrown, as it would have been. Idempotent.
 *
 * Node.js ignores SIGPIPE, so the conventional quiet death of `ls | head` is not on offer, and
 * the usual Node.js answer, `process.exit(0)` on the spot, is wrong for both commands:
 * `wmsctl disconnect -o ndjson | head -1` would abandon a fleet-wide disconnect after the first
 * host (some hosts done, others never sent) and report success whatever happened, and an agent
 * whose log pipe closed would cut calls without a drain and could lose the audit record of a
 * disconnect already made. So the stream, once destroyed, drops whatever is written to it
 * afterwards (without another `'error'`), and the process goes on and exits with the status it
 * would have had (0 for `--help` and `--version`), which `set -o pipefail` and scripts can trust.
 * The agent's audit trail does not depend on standard output: `--audit-log` is its own file.
 */
export function outliveClosedPipe(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}
