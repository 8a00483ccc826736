#!/usr/bin/env node
// Bundles the commands into dist/ (git-ignored): dist/wmsctl.mjs, dist/wms-agent.mjs and
// dist/wms-console.mjs, what bin/wmsctl.js, bin/wms-agent.js and bin/wms-console.js run. This is the one way users run them: nothing is
// compiled at run time, so neither tsx nor TypeScript is a run-time dependency. esbuild is a
// dependency, not a devDependency, so that `npm ci --omit=dev` (a production install, e.g. the
// Windows service's folder) makes the bundles too; tsx, which wmsfleet no longer needs at run
// time, used to bring esbuild there anyway.
// wmsctl's dynamic imports (the pki code and @peculiar/x509, the confirm prompt and inquirer,
// the health client) become chunks beside it, dist/wmsctl.*-HASH.mjs, loaded only by the
// commands that need them. Each bundle gets NAME.inputs.json, the project sources it was built
// from, with which the tests refuse to run a stale bundle (test/helpers/commands.ts).
// Runs at `npm ci` / `npm install` (the `prepare` script), as `npm run build`, and before
// `npm test` (`pretest`). `--outdir DIR` writes the bundles elsewhere than dist/.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { outdir } = parseArgs({ options: { outdir: { type: "string" } } }).values;
const dist = outdir === undefined ? join(root, "dist") : resolve(outdir);

const esbuild = await import("esbuild");

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
 * Dependencies taken into the bundles: those known to load from a bundle (no `__dirname`, no
 * files found beside themselves, no native modules). Any other dependency, including one added
 * later, stays in node_modules and is imported from there, so a new dependency can make start-up
 * slower but never breaks a bundle.
 */
const BUNDLED_PACKAGES = [
  "@grpc/grpc-js",
  "@js-sdsl/ordered-map",
  "@bufbuild/protobuf",
  "commander",
  "p-limit",
  "yocto-queue",
  "@inquirer/",
  "@peculiar/",
  "reflect-metadata",
  "tsyringe",
  "tslib",
  "pvtsutils",
  "pvutils",
  "asn1js",
  "@noble/",
];

/** Leaves every bare import out of the bundle unless its package is listed. */
const externalUnlessListed = {
  name: "external-unless-listed",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      const listed = BUNDLED_PACKAGES.some((name) =>
        name.endsWith("/")
          ? args.path.startsWith(name)
          : args.path === name || args.path.startsWith(`${name}/`),
      );
      return listed ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * The commands: wmsctl (its start-up is most of a one-shot run) and the agent (once per boot,
 * bundled all the same so that both start the same way). `splitting` makes each dynamic import
 * a chunk of its own, imported when it runs. Without it the code stays inside the one file, which
 * Node.js reads and compiles at every start-up, and the imports of the packages left out of the
 * bundle (grpc-health-check, inquirer's) move to its top, so they load at start-up after all.
 * The chunks stay in the bundle's own folder, never a subfolder: the `import.meta.url` that
 * keep-module-urls writes is relative to that folder.
 */
const entries = {
  wmsctl: { entry: join(root, "controller/cli/entry.ts"), splitting: true },
  "wms-agent": { entry: join(root, "agent/entry.ts"), splitting: false },
  // The console: fastify and better-sqlite3 (a native module) stay in node_modules.
  "wms-console": { entry: join(root, "console/entry.ts"), splitting: false },
};

/** The chunks of bundle `name`: `NAME.WHAT-HASH.mjs` (`chunkNames`) and their source maps. */
const isChunkOf = (name, file) =>
  file.startsWith(`${name}.`) && /-[0-9A-Z]{8}\.mjs(\.map)?$/.test(file);

await mkdir(dist, { recursive: true });
for (const [name, { entry, splitting }] of Object.entries(entries)) {
  // Sources changed after this instant make the bundle stale (test/helpers/commands.ts checks).
  const started = new Date();
  const result = await esbuild.build({
    entryPoints: { [name]: entry },
    outdir: dist,
    outExtension: { ".js": ".mjs" },
    splitting,
    chunkNames: `${name}.[name]-[hash]`,
    bundle: true,
    // Paths in the metafile are relative to this.
    absWorkingDir: root,
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
    plugins: [externalUnlessListed, keepModuleUrls],
  });
  // The sources of every output, chunks included: a chunk is as stale as the entry.
  const inputs = Object.keys(result.metafile.inputs)
    .map((input) => relative(root, join(root, input)).split("\\").join("/"))
    .filter((input) => !input.startsWith("node_modules/"));
  const outputs = Object.keys(result.metafile.outputs)
    .map((output) => relative(dist, join(root, output)).split("\\").join("/"))
    .filter((output) => output.endsWith(".mjs"));
  await writeFile(
    join(dist, `${name}.inputs.json`),
    `${JSON.stringify({ started: started.toISOString(), inputs, outputs }, null, 2)}\n`,
  );
  // Chunks of earlier builds (their names hash their contents) would pile up.
  for (const file of await readdir(dist)) {
    if (isChunkOf(name, file) && !outputs.includes(file.replace(/\.map$/, ""))) {
      await rm(join(dist, file), { force: true });
    }
  }
}
console.error(
  `bundle: ${Object.keys(entries)
    .map((n) => relative(process.cwd(), join(dist, `${n}.mjs`)))
    .join(", ")}`,
);
