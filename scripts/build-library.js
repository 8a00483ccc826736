#!/usr/bin/env node
// Compiles the library that programs import by the package's name (package.json `exports`):
// "wmsfleet" (the controller), "wmsfleet/pki" and "wmsfleet/proto" (the generated messages and
// client), with what they import, into dist/lib/ as JavaScript and declarations
// (tsconfig.build.json). Part of `npm run build`, and so of `npm ci` and `npm install`.
// A production install (`npm ci --omit=dev`) has no TypeScript and no use for the library:
// there it says so and leaves the commands' bundles as the whole build.
// `--outdir DIR` compiles into DIR instead of dist/lib (a test builds an installed copy).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { outdir } = parseArgs({ options: { outdir: { type: "string" } } }).values;

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  console.error("build: no TypeScript (a production install): dist/lib, the library, is not built");
  process.exit(0);
}
const args = [tsc, "-p", "tsconfig.build.json", ...(outdir ? ["--outDir", resolve(outdir)] : [])];
const { status } = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
if (status !== 0) process.exit(status ?? 1);
console.error(`build: the library in ${outdir ?? "dist/lib"}`);
