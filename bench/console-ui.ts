/**
 * `npm run bench:console-ui` (and the last part of `npm run bench`): the console's web UI in
 * Debian's Chromium against a real `wms-console` process watching a real bench fleet (1,000 agents
 * × 20 sessions by default, mutual TLS, over 4 agent-host processes):
 *
 * 1. time from opening the sessions page (signed in, nothing cached) until the table is filled:
 *    every session counted and the first rows drawn;
 * 2. frames per second while the fleet makes 200 session changes a second and the page scrolls
 *    the table (a scroll step every frame), and how many frames took longer than 50 ms;
 * 3. the page's JavaScript heap after a garbage collection, the table filled.
 *
 * Figures, not assertions (STYLE.md: timings belong here, not in tests). Flags: `--agents 1000
 * --sessions 20 --changes 200 --seconds 10 --runs 3 --out FILE`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { startBenchFleet } from "./fleet.js";
import { round, summarize } from "./stats.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const CONSOLE = here("../bin/wms-console.js");
const CHROMIUM = process.env["WMSFLEET_CHROMIUM"] ?? "/usr/bin/chromium";

const { values: flags } = parseArgs({
  options: {
    agents: { type: "string", default: "1000" },
    sessions: { type: "string", default: "20" },
    changes: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    out: { type: "string", default: here("./console-ui-results.json") },
  },
});
const agents = Number(flags.agents);
const sessionsPerAgent = Number(flags.sessions);
const changesPerSecond = Number(flags.changes);
const seconds = Number(flags.seconds);
const runs = Number(flags.runs);

/** Runs `wms-console ARGS` to its end with `input` on standard input. */
function runConsoleCommand(args: readonly string[], input = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONSOLE, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`wms-console ${args.join(" ")}: ${code}\n${output}`)),
    );
    child.stdin.end(input);
  });
}

/** Starts the console service and resolves with its URL once it serves. */
function startConsoleProcess(
  args: readonly string[],
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONSOLE, ...args, "--log-level", "info"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout });
    child.once("exit", (code) =>
      reject(new Error(`wms-console exited with ${code} before serving`)),
    );
    lines.on("line", (line) => {
      let record: { msg?: string; url?: string };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        return;
      }
      if (record.msg === "console serving" && record.url !== undefined) {
        resolve({ child, url: record.url });
      }
    });
  });
}

/** Waits until the console reports every host online; returns how long that took. */
async function waitForFleet(url: string, cookie: string, hosts: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const response = await fetch(`${url}/api/v1/hosts`, { headers: { cookie } });
    const body = (await response.json()) as { hosts: { status: string }[] };
    if (body.hosts.filter((host) => host.status === "online").length >= hosts) {
      return performance.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Signs the page in through the form. */
async function signIn(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("banner").getByText(`Signed in as ${user}`).waitFor();
}

/** Opens the sessions page afresh; ms until every session is counted and rows are drawn. */
async function timeToTable(page: Page, url: string, total: number): Promise<number> {
  await page.goto("about:blank");
  const started = performance.now();
  await page.goto(`${url}/#/sessions`);
  await page
    .getByRole("status")
    .filter({ hasText: `${total.toLocaleString("en")} sessions of ${total.toLocaleString("en")}` })
    .waitFor({ timeout: 120_000 });
  await page.getByRole("grid", { name: "Sessions" }).getByRole("row").nth(5).waitFor();
  return performance.now() - started;
}

/** Scrolls the table a step every frame for `ms`; counts frames and long ones. */
/** Frames drawn while scrolling. */
interface ScrollFigures {
  readonly fps: number;
  readonly longFrames: number;
  readonly frames: number;
}

async function scrollFrames(page: Page, ms: number): Promise<ScrollFigures> {
  return page.evaluate(`new Promise((resolve) => {
    const grid = document.querySelector('[role="grid"][aria-label="Sessions"]');
    let frames = 0, longFrames = 0, last = performance.now(), direction = 1;
    const start = last;
    const step = (now) => {
      frames += 1;
      if (now - last > 50) longFrames += 1;
      last = now;
      if (grid.scrollTop + grid.clientHeight >= grid.scrollHeight - 2) direction = -1;
      if (grid.scrollTop <= 0) direction = 1;
      grid.scrollTop += direction * 96;
      if (now - start < ${ms}) requestAnimationFrame(step);
      else resolve({ fps: frames / ((now - start) / 1000), longFrames, frames });
    };
    requestAnimationFrame(step);
  })`);
}

async function main(): Promise<void> {
  const total = agents * sessionsPerAgent;
  process.stderr.write(`console UI bench: ${agents} agents × ${sessionsPerAgent} sessions\n`);
  const fleet = await startBenchFleet({ agents, sessionsPerAgent });
  const dataDir = await mkdtemp(join(tmpdir(), "wmsfleet-console-ui-bench-"));
  const password = "bench password, not a secret";
  let consoleProcess: ChildProcess | undefined;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox"],
  });
  try {
    const files = fleet.files;
    if (files === undefined) throw new Error("the bench fleet runs under TLS");
    await runConsoleCommand(
      ["user", "add", "bench", "--role", "operator", "--password-stdin", "--data-dir", dataDir],
      `${password}\n`,
    );
    const started = performance.now();
    const running = await startConsoleProcess([
      "--inventory",
      fleet.inventory,
      "--ca",
      files.ca,
      "--cert",
      files.clientCert,
      "--key",
      files.clientKey,
      "--listen",
      "127.0.0.1:0",
      "--insecure-loopback",
      "--data-dir",
      dataDir,
    ]);
    consoleProcess = running.child;
    const login = await fetch(`${running.url}/api/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "bench", password }),
    });
    const cookie = (login.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    await waitForFleet(running.url, cookie, agents);
    const watchedMs = performance.now() - started;

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await signIn(page, running.url, "bench", password);
    const fills: number[] = [];
    for (let run = 0; run < runs; run += 1) fills.push(await timeToTable(page, running.url, total));

    const cdp = await context.newCDPSession(page);
    await cdp.send("HeapProfiler.collectGarbage");
    await cdp.send("Performance.enable");
    const metrics = (await cdp.send("Performance.getMetrics")).metrics;
    const heapBytes = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? Number.NaN;

    /** Seconds of the page's main thread busy (tasks; scripts) over a scroll window. */
    const busyDuring = async (measure: () => Promise<ScrollFigures>) => {
      const before = await metricsOf();
      const figures = await measure();
      const after = await metricsOf();
      return {
        ...figures,
        taskSeconds: (after["TaskDuration"] ?? 0) - (before["TaskDuration"] ?? 0),
        scriptSeconds: (after["ScriptDuration"] ?? 0) - (before["ScriptDuration"] ?? 0),
      };
    };
    const metricsOf = async () =>
      Object.fromEntries(
        (await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]),
      );
    const quiet = await busyDuring(() => scrollFrames(page, seconds * 1000));
    await fleet.churn(changesPerSecond);
    const busy = await busyDuring(() => scrollFrames(page, seconds * 1000));
    await fleet.churn(0);

    const fill = summarize(fills);
    const results = {
      agents,
      sessionsPerAgent,
      sessions: total,
      consoleWatchingAllMs: round(watchedMs),
      timeToTableMs: {
        median: round(fill.median),
        min: round(fill.min),
        max: round(fill.max),
        runs: fills.map(round),
      },
      scrollQuiet: {
        fps: round(quiet.fps),
        longFrames: quiet.longFrames,
        frames: quiet.frames,
        mainThreadBusy: round(quiet.taskSeconds / seconds, 3),
        scriptBusy: round(quiet.scriptSeconds / seconds, 3),
      },
      scrollWithChanges: {
        changesPerSecond,
        fps: round(busy.fps),
        longFrames: busy.longFrames,
        frames: busy.frames,
        mainThreadBusy: round(busy.taskSeconds / seconds, 3),
        scriptBusy: round(busy.scriptSeconds / seconds, 3),
      },
      loadAverage: loadavg().map((n) => round(n, 2)),
      cpus: cpus().length,
      jsHeapUsedMB: round(heapBytes / 1e6),
      chromium: browser.version(),
    };
    process.stdout.write(
      [
        "",
        `console web UI, ${total.toLocaleString("en")} sessions (${agents} agents × ${sessionsPerAgent}), Chromium ${browser.version()} headless, 1280×800`,
        `  console start until every host is watched  ${round(watchedMs / 1000)} s`,
        `  open the sessions page → table filled       ${round(fill.median)} ms median (${fills.map(round).join(", ")})`,
        `  scrolling, no changes                      ${round(quiet.fps)} fps, ${quiet.longFrames} frames > 50 ms of ${quiet.frames}; main thread busy ${Math.round((100 * quiet.taskSeconds) / seconds)} % (scripts ${Math.round((100 * quiet.scriptSeconds) / seconds)} %)`,
        `  scrolling, ${changesPerSecond} changes/s                 ${round(busy.fps)} fps, ${busy.longFrames} frames > 50 ms of ${busy.frames}; main thread busy ${Math.round((100 * busy.taskSeconds) / seconds)} % (scripts ${Math.round((100 * busy.scriptSeconds) / seconds)} %)`,
        `  page JS heap (after GC, table filled)      ${round(heapBytes / 1e6)} MB`,
        `  load average ${loadavg()
          .map((n) => n.toFixed(2))
          .join(" ")} on ${cpus().length} CPUs (other work on the machine slows the page)`,
        "",
      ].join("\n"),
    );
    await writeFile(flags.out, `${JSON.stringify(results, null, 2)}\n`);
    await context.close();
  } finally {
    await browser.close();
    if (consoleProcess !== undefined && consoleProcess.exitCode === null) {
      const exited = new Promise((resolve) => consoleProcess?.once("exit", resolve));
      consoleProcess.kill("SIGTERM");
      await exited;
    }
    await fleet.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
