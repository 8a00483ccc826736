#!/usr/bin/env node
// wms-agent: runs dist/wms-agent.mjs, the bundle that `npm ci` and `npm install` make (the
// `prepare` script, scripts/bundle.js). Nothing is compiled at run time; in a checkout whose
// sources changed, `npm run build` makes it anew (README: "Running the commands").
import { existsSync } from "node:fs";

// On Windows the wts backend's calls run on libuv's pool (4 threads by default), beside the
// service dispatcher, the session-change wait, audit and log writes: 16, unless the environment
// (the service's, which `service install` sets) says otherwise. libuv sizes its pool when first
// used: Node 22 and later have not used it yet here; Node 20 has (it loaded this file through
// it), which is why the service's environment sets it too. See agent/backends/wts.ts.
if (process.platform === "win32") process.env.UV_THREADPOOL_SIZE ??= "16";

const bundle = new URL("../dist/wms-agent.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write(
    "wms-agent: dist/wms-agent.mjs is missing; build it with `npm run build` (npm ci and npm install do)\n",
  );
  process.exit(1);
}
await import(bundle.href);
