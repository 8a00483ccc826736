/**
 * The process entry point of `wms-agent` (bundled into `dist/wms-agent.mjs`, run by
 * `bin/wms-agent.js`; run through tsx by `npm start`): the command of `main.ts` with the real
 * process's arguments, environment and streams, and its exit status.
 */
import { main } from "./main.js";

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
