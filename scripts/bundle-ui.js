#!/usr/bin/env node
// Bundles the console's web UI (console/ui/, Preact + TypeScript) into dist/console-ui/, the
// folder wms-console serves its static files from: index.html, app.js, app.css and their source
// maps. Everything the page needs is in that folder: no CDN, nothing fetched at run time, the
// fonts are the system's. Runs with the bins' bundle (scripts/bundle.js) at `npm run build`,
// `prepare` and `pretest`; dist/console-ui/inputs.json lists the sources it was built from, with
// which the browser tests refuse to run a stale bundle (test/browser/helpers/ui-bundle.ts).
// `--outdir DIR` writes the bundle elsewhere.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { outdir } = parseArgs({ options: { outdir: { type: "string" } } }).values;
const out = outdir === undefined ? join(root, "dist", "console-ui") : resolve(outdir);
const source = join(root, "console", "ui");

const esbuild = await import("esbuild");

await mkdir(out, { recursive: true });
// Sources changed after this instant make the bundle stale.
const started = new Date();
const result = await esbuild.build({
  entryPoints: { app: join(source, "main.tsx") },
  outdir: out,
  bundle: true,
  absWorkingDir: root,
  tsconfig: join(source, "tsconfig.json"),
  platform: "browser",
  format: "esm",
  // The browsers a lab's staff use: current Chromium, Firefox, Safari and Edge.
  target: ["chrome110", "firefox110", "safari16", "edge110"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: "linked",
  metafile: true,
  legalComments: "linked",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
await copyFile(join(source, "index.html"), join(out, "index.html"));
const inputs = [
  ...Object.keys(result.metafile.inputs)
    .map((input) => relative(root, join(root, input)).split("\\").join("/"))
    .filter((input) => !input.startsWith("node_modules/")),
  "console/ui/index.html",
];
await writeFile(
  join(out, "inputs.json"),
  `${JSON.stringify({ started: started.toISOString(), inputs }, null, 2)}\n`,
);
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith(".map"))
  .reduce((sum, [, output]) => sum + output.bytes, 0);
console.error(`bundle: ${relative(process.cwd(), out)}/ (web UI, ${Math.round(bytes / 1024)} KiB)`);
