/**
 * What `wmsctl` loads: `--version`, `--help` and a `get` or `disconnect --all --what-if` run
 * never load the packages that only `pki` (@peculiar/x509, reflect-metadata), the `--confirm`
 * prompt (@inquirer/*) or `health` (grpc-health-check) need, which would be most of a one-shot
 * run's start-up; and no run loads tsx, TypeScript or esbuild: bin/wmsctl.js runs the bundle
 * that `npm ci` made (dist/, checked fresh by helpers/commands.ts), nothing is compiled at run
 * time. A module resolution hook records each module the process loads; a file of the bundle
 * counts as the packages esbuild names in its `// node_modules/...` comments. `pki init` and
 * `health` show that the packages are seen when they do load.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { WMSCTL_BIN } from "../helpers/commands.js";
import { closedAddress } from "../helpers/controller-fleet.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HOST = "h1.lab.example.com";

/** The packages a start-up must not load, as their node_modules folders start. */
const DEFERRED = ["@peculiar/", "reflect-metadata", "@inquirer/", "grpc-health-check"];
/** The packages no run of the commands may load: they compile; the bundle is compiled already. */
const NEVER = ["tsx", "typescript", "esbuild"];

/** Registers the hooks below (`node --import`); they append each resolved URL to a file. */
const TRACE = `import { register } from "node:module";
register("./trace-hooks.mjs", import.meta.url, { data: { file: process.env.WMSFLEET_TRACE } });
`;
const TRACE_HOOKS = `import { appendFileSync } from "node:fs";
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(file, result.url + "\\n");
  return result;
}
`;

/** The package of a node_modules path (`@scope/name` or `name`), the innermost one. */
function packageOf(path: string): string | undefined {
  const matches = [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  return matches.at(-1)?.[1];
}

/** The folder of the bundle's files, whose comments name the packages inside. */
const BUNDLE_DIR = join(ROOT, "dist");

describe("wmsctl start-up", () => {
  let work = "";
  let address = "";
  let runs = 0;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "wmsfleet-startup-"));
    await writeFile(join(work, "trace.mjs"), TRACE);
    await writeFile(join(work, "trace-hooks.mjs"), TRACE_HOOKS);
    address = await closedAddress();
  });
  after(() => rm(work, { recursive: true, force: true }));

  /** Runs bin/wmsctl.js ARGS; resolves to its exit status and the packages it loaded. */
  async function loaded(
    args: readonly string[],
  ): Promise<{ status: number; packages: Set<string>; stderr: string }> {
    const trace = join(work, `trace-${(runs += 1)}.txt`);
    await writeFile(trace, "");
    const { status, stderr } = await new Promise<{ status: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ["--import", pathToFileURL(join(work, "trace.mjs")).href, WMSCTL_BIN, ...args],
        { cwd: work, env: { ...process.env, WMSFLEET_TRACE: trace } },
        (error, _stdout, stderr) =>
          resolve({ status: typeof error?.code === "number" ? error.code : 0, stderr }),
      ),
    );
    const packages = new Set<string>();
    const urls = new Set((await readFile(trace, "utf8")).split("\n").filter((url) => url !== ""));
    for (const url of urls) {
      if (!url.startsWith("file:")) continue;
      const file = fileURLToPath(url);
      const own = packageOf(file);
      if (own !== undefined) packages.add(own);
      else if (file.startsWith(BUNDLE_DIR)) {
        const text = await readFile(file, "utf8");
        // `// node_modules/commander/lib/error.js`, or `// ../x/node_modules/...` when the
        // checkout's node_modules is a link to elsewhere.
        for (const match of text.matchAll(/^\/\/ (\S*node_modules\/\S+)$/gm)) {
          const name = packageOf(match[1] ?? "");
          if (name !== undefined) packages.add(name);
        }
      }
    }
    return { status, packages, stderr };
  }

  const deferredIn = (packages: Set<string>) =>
    [...packages].filter((name) => DEFERRED.some((prefix) => name.startsWith(prefix)));
  const compilersIn = (packages: Set<string>) =>
    [...packages].filter((name) => NEVER.includes(name));

  const fleet = () => [
    "-s",
    HOST,
    `--resolve=${HOST}=${address}`,
    "--insecure-loopback",
    "--retries",
    "0",
  ];

  it(`--version, --help, get and disconnect --all --what-if load none of ${DEFERRED.join(", ")}`, async () => {
    for (const [args, expected] of [
      [["--version"], 0],
      [["get", "--help"], 0],
      [["disconnect", "--help"], 0],
      [["get", ...fleet(), "-o", "json"], 3],
      [["disconnect", "--all", "--what-if", ...fleet(), "-o", "json"], 3],
    ] as const) {
      const run = await loaded(args);
      assert.equal(run.status, expected, `${args.join(" ")}: ${run.stderr}`);
      // The trace sees what is loaded: commander always is.
      assert.ok(run.packages.has("commander"), `${args.join(" ")}: ${[...run.packages].join(" ")}`);
      assert.deepEqual(deferredIn(run.packages), [], args.join(" "));
      assert.deepEqual(compilersIn(run.packages), [], args.join(" "));
    }
  });

  it("pki init loads @peculiar/x509, health loads grpc-health-check; neither a compiler", async () => {
    const pki = await loaded(["pki", "init", "--dir", join(work, "pki")]);
    assert.equal(pki.status, 0, pki.stderr);
    assert.ok(pki.packages.has("@peculiar/x509"), [...pki.packages].join(" "));
    assert.ok(pki.packages.has("reflect-metadata"), [...pki.packages].join(" "));
    const health = await loaded(["health", ...fleet()]);
    assert.equal(health.status, 3, health.stderr);
    assert.ok(health.packages.has("grpc-health-check"), [...health.packages].join(" "));
    for (const run of [pki, health]) assert.deepEqual(compilersIn(run.packages), []);
  });
});
