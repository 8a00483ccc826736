/** The wms-agent version, read once from the package manifest. */
import { readFileSync } from "node:fs";

const manifest = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as {
  version?: unknown;
};

/** The version of this wmsfleet build (package.json `version`). */
export const AGENT_VERSION = typeof manifest.version === "string" ? manifest.version : "0.0.0";
