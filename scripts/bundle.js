#!/usr/bin/env node
// Bundles the two commands into dist/ (git-ignored) so that they start without compiling
// TypeScript at every run: dist/wmsctl.mjs and dist/wms-agent.mjs, each with a list of the
// project sources it was built from (bin/*.js fall back to tsx when any of them is newer).
// Runs at `npm ci` / `npm install` (the `prepare` script); without esbuild (e.g. `npm ci
// --omit=dev`) it does nothing and the commands keep running through tsx.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  console.error("bundle: esbuild is not installed; wmsctl and wms-agent will run through tsx");
  process.exit(0);
}

/**
 * `import.meta.url` of a project source, as seen from the bundle: the source's own URL, so that
 * the files it finds next to itself (the .proto contract, the classroom fixture, package.json)
 * are found where they are, wherever the project folder lives.
 */
const keepModuleUrls = {
  name: "keep-module-urls",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${join(root, "node_modules")}`)) return undefined;
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return { contents: source, loader: "ts" };
      const fromDist = relative(dist, args.path).split("\\").join("/");
      return {
        contents: source.replaceAll(
          "import.meta.url",
          `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`,
        ),
        loader: "ts",
      };
    });
  },
};

/**
 * What each command bundles. wmsctl takes its dependencies in (one file to load is most of its
 * start-up); the agent leaves out those that find files beside themselves at run time (.proto
 * files, koffi's native module, pino's worker files) and starts once per boot anyway.
 */
const entries = {
  wmsctl: { entry: join(root, "controller/cli/entry.ts"), external: [] },
  "wms-agent": {
    entry: join(root, "agent/main.ts"),
    external: [
      "@grpc/proto-loader",
      "@grpc/reflection",
      "grpc-health-check",
      "koffi",
      "pino",
      "pino-pretty",
    ],
  },
};

await mkdir(dist, { recursive: true });
for (const [name, { entry, external }] of Object.entries(entries)) {
  // Sources changed after this instant make the bundle stale (bin/fresh-bundle.js checks).
  const started = new Date();
  const outfile = join(dist, `${name}.mjs`);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    external,
    platform: "node",
    format: "esm",
    // CommonJS dependencies inside an ES module bundle call require().
    banner: {
      js: 'import { createRequire as __wmsfleetCreateRequire } from "node:module"; const require = __wmsfleetCreateRequire(import.meta.url);',
    },
    target: "node20",
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
    plugins: [keepModuleUrls],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .map((input) => relative(root, join(root, input)).split("\\").join("/"))
    .filter((input) => !input.startsWith("node_modules/"));
  await writeFile(
    join(dist, `${name}.inputs.json`),
    `${JSON.stringify({ started: started.toISOString(), inputs }, null, 2)}\n`,
  );
}
console.error(
  `bundle: ${Object.keys(entries)
    .map((n) => `dist/${n}.mjs`)
    .join(", ")}`,
);
