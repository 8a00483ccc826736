/**
 * The two commands as users run them: `bin/wms-agent.js` and `bin/wmsctl.js`, which run the
 * bundles in `dist/` (scripts/bundle.js; `npm test` makes them first, in its `pretest` script).
 * End-to-end tests spawn these, so they test what users run, at bundled start-up speed.
 *
 * A test run by itself (`node --import tsx --test test/e2e/x.test.ts`) after the sources changed
 * would test the bundle of the old sources and pass or fail for the wrong reason: importing this
 * module throws instead, naming the newer source and the command that rebuilds.
 */
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../../", import.meta.url);

/** `bin/wms-agent.js` of this checkout. */
export const AGENT_BIN = fileURLToPath(new URL("bin/wms-agent.js", ROOT));
/** `bin/wms-console.js` of this checkout. */
export const CONSOLE_BIN = fileURLToPath(new URL("bin/wms-console.js", ROOT));
/** `bin/wmsctl.js` of this checkout. */
export const WMSCTL_BIN = fileURLToPath(new URL("bin/wmsctl.js", ROOT));

/** Why `dist/NAME.mjs` cannot be tested as the sources are now, or `undefined` when it can. */
function staleness(name: string): string | undefined {
  let manifest: { started?: unknown; inputs?: unknown };
  try {
    manifest = JSON.parse(
      readFileSync(new URL(`dist/${name}.inputs.json`, ROOT), "utf8"),
    ) as typeof manifest;
  } catch {
    return `dist/${name}.mjs was never built`;
  }
  const started = Date.parse(String(manifest.started));
  for (const input of Array.isArray(manifest.inputs) ? (manifest.inputs as string[]) : []) {
    let modified: number;
    try {
      modified = statSync(new URL(input, ROOT)).mtimeMs;
    } catch {
      return `${input}, built into dist/${name}.mjs, is gone`;
    }
    if (!(modified < started)) return `${input} changed after dist/${name}.mjs was built`;
  }
  return undefined;
}

for (const name of ["wms-agent", "wmsctl", "wms-console"]) {
  const stale = staleness(name);
  if (stale !== undefined) {
    throw new Error(`${stale}: run \`npm run build\` (npm test does it first)`);
  }
}
