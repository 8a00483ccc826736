/**
 * The version of this wmsfleet build, read once from the package manifest: `../package.json`
 * beside this module is the checkout's, also from the esbuild bundle (which keeps each source's
 * own URL for `import.meta.url`), and the one `npm run build` writes at the root of its output.
 * The agent reports it in `GetAgentInfo` and `--version`; `wmsctl --version` prints it.
 */
import { readFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version?: unknown;
};

/** package.json `version`, or `0.0.0` when the manifest has none. */
export const WMSFLEET_VERSION = typeof manifest.version === "string" ? manifest.version : "0.0.0";
