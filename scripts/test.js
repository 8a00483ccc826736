#!/usr/bin/env node
// `npm test`: every test file under test/, in two runs of node's test runner at once.
//
// - The Wine tier (test/wine/), one file after another: its files share one Wine prefix, whose
//   session (wineserver, the Service Control Manager and the services it started) ends a moment
//   after its last Windows process, so a file that starts Wine while another's session ends, or
//   registers a service while another's starts, fails in ways that have nothing to do with the
//   code under test.
// - Every other file, `--test-concurrency` at a time (WMSFLEET_TEST_CONCURRENCY, default 4).
//   They are independent: servers listen on 127.0.0.1:0, files go to folders of their own
//   (mkdtemp, or named by the process id), and nothing writes into the checkout. Most of a file's
//   time is waiting (processes starting, agents and Wine answering), not computing: four at once
//   keep two cores busy without starving any of them.
//
// The other files' report streams as it comes; the Wine tier's, kept while it runs, follows it;
// then one closing summary of both, in the runner's own words (ℹ tests, ℹ pass, ℹ fail, ...), so
// whoever reads the last lines reads the whole suite. The exit status is 1 if either run failed. Arguments are passed to both runs (e.g.
// --test-name-pattern). Runs after `pretest`, which makes the bundles the end-to-end tests run.
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const concurrencyText = process.env["WMSFLEET_TEST_CONCURRENCY"] ?? "4";
const concurrency = Number(concurrencyText);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
  process.stderr.write(
    `WMSFLEET_TEST_CONCURRENCY: "${concurrencyText}" is not a number of files (1 to 64)\n`,
  );
  process.exit(2);
}

const files = readdirSync(join(root, "test"), { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".test.ts") && !file.split(/[\\/]/).includes("node_modules"))
  .map((file) =>
    relative(root, join(root, "test", file))
      .split("\\")
      .join("/"),
  )
  .sort();
const wine = files.filter((file) => file.startsWith("test/wine/"));
const others = files.filter((file) => !file.startsWith("test/wine/"));
const extra = process.argv.slice(2);

/**
 * Runs node's test runner on `list`; resolves to its exit status. Its output is kept (for the
 * closing summary) and, unless `hold`, also written through as it comes.
 */
function run(list, options, hold) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--test", "--test-reporter=spec", ...options, ...extra, ...list],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  const output = [];
  child.stdout.on("data", (chunk) => {
    output.push(chunk);
    if (!hold) process.stdout.write(chunk);
  });
  child.stderr.on("data", (chunk) => {
    output.push(chunk);
    if (!hold) process.stderr.write(chunk);
  });
  const done = new Promise((resolve) => {
    child.once("error", (error) => {
      output.push(Buffer.from(`${String(error)}\n`));
      resolve(1);
    });
    child.once("close", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  return { child, done, output };
}

const runs = [
  run(others, [`--test-concurrency=${concurrency}`], false),
  ...(wine.length === 0 ? [] : [run(wine, ["--test-concurrency=1"], true)]),
];
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const { child } of runs) child.kill(signal);
  });
}
const [status = 0, wineStatus = 0] = await Promise.all(runs.map(({ done }) => done));
const wineRun = runs[1];
if (wineRun !== undefined) {
  process.stdout.write(`\n# The Wine tier (${wine.length} files, one at a time)\n`);
  process.stdout.write(Buffer.concat(wineRun.output));
}

/** The counters of the runner's closing summary (`ℹ tests 12`), the last of each in a report. */
function summaryOf(output) {
  const counts = new Map();
  for (const match of Buffer.concat(output)
    .toString("utf8")
    .matchAll(/^ℹ (\w+) ([\d.]+)$/gmu)) {
    counts.set(match[1], Number(match[2]));
  }
  return counts;
}
const summaries = runs.map(({ output }) => summaryOf(output));
const names = ["tests", "suites", "pass", "fail", "cancelled", "skipped", "todo"];
process.stdout.write(`\n# The whole suite (${files.length} files, both runs)\n`);
for (const name of names) {
  const total = summaries.reduce((sum, counts) => sum + (counts.get(name) ?? 0), 0);
  process.stdout.write(`ℹ ${name} ${total}\n`);
}
process.stdout.write(`ℹ duration_ms ${performance.now().toFixed(3)}\n`);
process.exitCode = status === 0 && wineStatus === 0 ? 0 : 1;
