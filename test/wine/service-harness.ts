/**
 * The Windows service commands for real, inside Windows Node under Wine (bundled by
 * `wine-env.ts`). Two roles, by argument:
 *
 * - `control OUTPUT MARKERS NAME`: installs the service with `wms-agent service install --start` (real
 *   `sc.exe`), waits for it to run, asks for its status, stops it, waits for it to stop, removes
 *   it, and writes what each step saw to OUTPUT;
 * - `install OUTPUT NAME LOGFILE AGENTARGS...`: installs this harness as the service NAME;
 * - `service run ...`: what the Service Control Manager starts. A stand-in agent records that it
 *   runs, reports that it serves, waits for the SCM's stop (`io.service.stopSignal`), logs and
 *   exits 0 (see {@link fakeAgent} for `--hold`).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { win32 } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Command } from "commander";
import {
  registerServiceCommands,
  type ServiceAgentIo,
} from "../../agent/windows-service/service-command.js";

const WINE_LACKS = ["failureflag", "qc", "qfailure"];
const args = process.argv.slice(2);

/**
 * The stand-in agent the service runs: it serves (RUNNING) and waits for the SCM's stop, as the
 * agent does. With `--hold`, it first waits for a `go` file in the markers folder, or for a stop
 * that comes meanwhile: then it stops without ever serving, as the agent does (`agent/main.ts`).
 */
async function fakeAgent(argv: readonly string[], io: ServiceAgentIo): Promise<number> {
  const markers = argv[argv.indexOf("--markers") + 1] ?? ".";
  const { stopSignal } = io.service;
  const stopped = new Promise<void>((resolve) =>
    stopSignal.aborted ? resolve() : stopSignal.addEventListener("abort", () => resolve()),
  );
  const logFile = (io.stdout as { path?: unknown }).path;
  writeFileSync(
    win32.join(markers, "running.json"),
    JSON.stringify({ pid: process.pid, argv, logFile }),
  );
  if (argv.includes("--hold")) {
    while (!stopSignal.aborted && !existsSync(win32.join(markers, "go"))) await delay(50);
    if (stopSignal.aborted) {
      io.stdout.write(`{"msg":"fake agent stopped before serving"}\n`);
      writeFileSync(win32.join(markers, "stopped-before-serving.json"), "{}");
      return 0;
    }
  }
  io.service.serving();
  io.stdout.write(`{"msg":"fake agent running","pid":${process.pid}}\n`);
  await stopped;
  io.stdout.write(`{"msg":"fake agent stopping on the SCM's stop"}\n`);
  writeFileSync(win32.join(markers, "stopped.json"), JSON.stringify({ pid: process.pid }));
  return 0;
}

function sc(...scArgs: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("sc.exe", scArgs, { windowsHide: true }, (error, stdout) => {
      resolve({ code: error === null ? 0 : Number(error.code ?? -1), output: stdout });
    });
  });
}

/**
 * Polls until `check` holds: the SCM changes state on its own threads and offers nothing to wait
 * on from here. Bounded; the caller asserts on what it saw, never on how long it took.
 */
async function until(check: () => Promise<boolean> | boolean, limitMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await delay(100);
  }
  return false;
}

async function control(outFile: string, markers: string, SERVICE: string): Promise<void> {
  const result: Record<string, unknown> = {};
  const lines: string[] = [];
  let exitCode = -1;
  const unsupported: string[] = [];
  const program = registerServiceCommands(new Command("wms-agent").exitOverride(), {
    runAgent: () => Promise.reject(new Error("the control role runs no agent")),
    scriptPath: process.argv[1] ?? "",
    // Wine's sc.exe has no failureflag, qc or qfailure (Windows' has): answer for it, and say so.
    runSc: (scArgs) => {
      const [verb = "", ...rest] = scArgs;
      if (WINE_LACKS.includes(verb)) {
        unsupported.push(verb);
        return Promise.resolve({ code: 0, output: "" });
      }
      return sc(verb, ...rest);
    },
    print: (line) => lines.push(line),
    printError: (line) => lines.push(`error: ${line}`),
    setExitCode: (code) => (exitCode = code),
  });
  const wmsAgent = async (...argv: string[]) => {
    lines.length = 0;
    exitCode = -1;
    await program.parseAsync(argv, { from: "user" });
    return { exitCode, lines: [...lines] };
  };
  const state = async () => (await sc("query", SERVICE)).output;
  try {
    // A leftover of an interrupted run: remove it, and wait until the SCM has.
    await sc("stop", SERVICE);
    await sc("delete", SERVICE);
    result["clean"] = await until(async () => (await sc("query", SERVICE)).code !== 0);
    result["install"] = await wmsAgent(
      "service",
      "install",
      "--name",
      SERVICE,
      "--start",
      "--",
      "--markers",
      markers,
    );
    result["wineLacks"] = [...unsupported];
    result["running"] = await until(
      async () => existsSync(win32.join(markers, "running.json")) && /RUNNING/.test(await state()),
    );
    result["agent"] = existsSync(win32.join(markers, "running.json"))
      ? (JSON.parse(readFileSync(win32.join(markers, "running.json"), "utf8")) as unknown)
      : null;
    result["status"] = await wmsAgent("service", "status", "--name", SERVICE);
    result["stop"] = await wmsAgent("service", "stop", "--name", SERVICE);
    result["stopped"] = await until(
      async () => existsSync(win32.join(markers, "stopped.json")) && /STOPPED/.test(await state()),
    );
    result["queryStopped"] = await sc("query", SERVICE);
    result["uninstall"] = await wmsAgent("service", "uninstall", "--name", SERVICE);
    result["queryRemoved"] = await sc("query", SERVICE);
    const agent = result["agent"] as { logFile?: unknown } | null;
    result["log"] =
      typeof agent?.logFile === "string" && existsSync(agent.logFile)
        ? readFileSync(agent.logFile, "utf8")
        : null;
  } catch (error) {
    result["fatal"] = error instanceof Error ? error.stack : String(error);
  } finally {
    writeFileSync(outFile, JSON.stringify(result, null, 2));
  }
}

if (args[0] === "control") {
  // The service's name comes from the test, so that concurrent runs never share one.
  await control(args[1] ?? "", args[2] ?? "", args[3] ?? "wmsfleet-test");
} else if (args[0] === "install") {
  // `install OUTPUT NAME LOGFILE AGENTARGS...`: this harness as the service, for another test.
  const [, outFile = "", name = "", logFile = "", ...agentArgs] = args;
  const lines: string[] = [];
  let exitCode = -1;
  const program = registerServiceCommands(new Command("wms-agent").exitOverride(), {
    runAgent: () => Promise.reject(new Error("the install role runs no agent")),
    scriptPath: process.argv[1] ?? "",
    runSc: (scArgs) =>
      WINE_LACKS.includes(scArgs[0] ?? "")
        ? Promise.resolve({ code: 0, output: "" })
        : sc(...scArgs),
    print: (line) => lines.push(line),
    printError: (line) => lines.push(`error: ${line}`),
    setExitCode: (code) => (exitCode = code),
  });
  await program.parseAsync(
    ["service", "install", "--name", name, "--log-file", logFile, "--", ...agentArgs],
    { from: "user" },
  );
  writeFileSync(outFile, JSON.stringify({ exitCode, lines }));
} else {
  const program = registerServiceCommands(new Command("wms-agent").exitOverride(), {
    runAgent: fakeAgent,
  });
  await program.parseAsync(args, { from: "user" });
}
