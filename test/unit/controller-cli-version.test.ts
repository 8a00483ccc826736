/**
 * `wmsctl --version` is package.json's `version`, read from the manifest (controller/version.ts),
 * not a constant that a release can forget to bump.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { runWmsctl } from "../helpers/controller-cli.js";

const { version } = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

void it("wmsctl --version and -V print package.json's version and exit 0", async () => {
  for (const flag of ["--version", "-V"]) {
    const run = await runWmsctl([flag]);
    assert.deepEqual([run.status, run.stdout, run.stderr], [0, `${version}\n`, ""], flag);
  }
});
