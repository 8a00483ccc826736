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
 * bundled all the same so that both start the same way).
 */
const entries = {
  wmsctl: join(root, "controller/cli/entry.ts"),
  "wms-agent": join(root, "agent/main.ts"),
};

await mkdir(dist, { recursive: true });
for (const [name, entry] of Object.entries(entries)) {
  // Sources changed after this instant make the bundle stale (bin/fresh-bundle.js checks).
  const started = new Date();
  const outfile = join(dist, `${name}.mjs`);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
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
