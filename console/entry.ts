/**
 * The process entry point of `wms-console` (bundled into `dist/wms-console.mjs`, run by
 * `bin/wms-console.js`): the command of `main.ts` with the real process's arguments, streams
 * and signals, and its exit status.
 */
import { outliveClosedPipe } from "../common/closed-pipe.js";
import { processConsoleIo } from "./cli/io.js";
import { main } from "./main.js";

outliveClosedPipe(process.stdout);
outliveClosedPipe(process.stderr);
process.exitCode = await main(processConsoleIo());
