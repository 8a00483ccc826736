#!/usr/bin/env node
// The second half of `npm run build` (after `tsc -p tsconfig.build.json`): puts next to the
// compiled JavaScript the files the sources read at run time relative to themselves
// (`import.meta.url`), and the two commands' entry points, so that OUT_DIR (default dist/) runs
// without the TypeScript sources:
//   node OUT_DIR/bin/wms-agent.js --insecure-loopback     node OUT_DIR/bin/wmsctl.js --help
// Dependencies are still found in node_modules of the checkout (or `npm install --omit=dev` in
// OUT_DIR, whose package.json lists them).
//
// Usage: node scripts/copy-build-assets.js [OUT_DIR]
import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = resolve(process.argv[2] ?? join(root, "dist"));

/**
 * Files read at run time, at the same place relative to the compiled module as to its source:
 * agent/backends/sim-fixture.ts reads `./classroom.json`, agent/server/descriptor-set.ts the descriptor
 * set that server reflection serves. (common/version.ts reads `../package.json`: written below.)
 */
const ASSETS = ["agent/backends/classroom.json", "proto/gen/descriptor-set.binpb"];

for (const asset of ASSETS) {
  await mkdir(dirname(join(out, asset)), { recursive: true });
  await copyFile(join(root, asset), join(out, asset));
}

// The manifest of the built tree: common/version.ts reads its `version`, and `type` makes the
// compiled .js files ES modules wherever the tree is copied to.
const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
const built = {
  name: manifest.name,
  version: manifest.version,
  description: manifest.description,
  private: true,
  type: "module",
  engines: manifest.engines,
  bin: { "wms-agent": "bin/wms-agent.js", wmsctl: "bin/wmsctl.js" },
  dependencies: manifest.dependencies,
};
await writeFile(join(out, "package.json"), `${JSON.stringify(built, null, 2)}\n`);

// The entry points, as bin/*.js of the checkout but on the compiled modules (no bundle, no tsx).
// agent/windows-service/service-command.ts registers `../../bin/wms-agent.js` as the Windows service's
// script: in the built tree that is this file.
const LAUNCHERS = {
  "wms-agent.js": `#!/usr/bin/env node
// wms-agent, compiled by \`npm run build\` (scripts/copy-build-assets.js writes this file).
import { main } from "../agent/main.js";

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
`,
  "wmsctl.js": `#!/usr/bin/env node
// wmsctl, compiled by \`npm run build\` (scripts/copy-build-assets.js writes this file).
import "../controller/cli/entry.js";
`,
};
await mkdir(join(out, "bin"), { recursive: true });
for (const [name, text] of Object.entries(LAUNCHERS)) {
  await writeFile(join(out, "bin", name), text);
  await chmod(join(out, "bin", name), 0o755);
}
