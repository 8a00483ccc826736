/**
 * The wmsctl version, read once from the package manifest: `../package.json` beside this module
 * is the checkout's (also from the esbuild bundle, which keeps this module's own URL) or the one
 * `npm run build` writes at the root of its output.
 */
import { readFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version?: unknown;
};

/** The version of this wmsfleet build, as `wmsctl --version` prints it (package.json `version`). */
export const WMSCTL_VERSION = typeof manifest.version === "string" ? manifest.version : "0.0.0";
