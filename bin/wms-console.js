#!/usr/bin/env node
// wms-console: runs dist/wms-console.mjs, the bundle that `npm ci` and `npm install` make (the
// `prepare` script, scripts/bundle.js). Nothing is compiled at run time; in a checkout whose
// sources changed, `npm run build` makes it anew (README: "Running the commands").
import { existsSync } from "node:fs";

const bundle = new URL("../dist/wms-console.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write(
    "wms-console: dist/wms-console.mjs is missing; build it with `npm run build` (npm ci and npm install do)\n",
  );
  process.exit(1);
}
await import(bundle.href);
