/**
 * `wms-agent service install|uninstall|start|stop|status|run`: the agent as a Windows service
 * (LocalSystem, automatic start, restarted on failure), driven through `sc.exe`. See
 * `docs/windows.md`.
 */
import { execFile } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, win32 } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { DEFAULT_AGENT_PORT } from "../../common/agent-port.js";
import {
  dataFolder,
  explainWritableInstall,
  findWritableInstallPaths,
  windowsInstallSafetyDeps,
  type InstallSafetyDeps,
} from "./install-safety.js";
import {
  DEFAULT_SERVICE_NAME,
  dataFolderCommands,
  explainScExit,
  installCommands,
  powershellLine,
  startCommands,
  statusCommands,
  stopCommands,
  systemProgramPath,
  uninstallCommands,
  type ScCommand,
  type SystemProgram,
} from "./sc-commands.js";
import {
  ERROR_FAILED_SERVICE_CONTROLLER_CONNECT,
  runAsService,
} from "./service-control-manager.js";
import type { ServiceHooks } from "./service-hooks.js";
import { earlyErrorsFile, reportEarlyError } from "./event-log.js";

/** The result of one `sc.exe` run. */
export interface ScResult {
  /** The exit code: 0, or the Win32 error `sc.exe` reports. */
  readonly code: number;
  /** What `sc.exe` printed. */
  readonly output: string;
}

/** The agent's output streams while it runs as a service, and its hooks into the SCM. */
export interface ServiceAgentIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Stop requests, RUNNING, the drain's progress and session changes (`service-hooks.ts`). */
  readonly service: ServiceHooks;
}

/** What the service commands need from the outside, injectable for tests. */
export interface ServiceCommandDeps {
  /**
   * Runs the agent with these flags until it stops; resolves its exit status. While it runs as a
   * service, a stop request from the SCM aborts `io.service.stopSignal`, and the agent drains
   * exactly as it does on SIGTERM; it calls `io.service.serving()` once it serves.
   */
  readonly runAgent: (argv: readonly string[], io: ServiceAgentIo) => Promise<number>;
  /** Records the command's exit status. @default sets `process.exitCode` */
  readonly setExitCode?: (code: number) => void;
  /** Runs `sc.exe`. @default `%SystemRoot%\System32\sc.exe` */
  readonly runSc?: (args: readonly string[]) => Promise<ScResult>;
  /**
   * Runs `icacls`, `netsh` or one PowerShell command; `mkdir` creates a folder.
   * @default the program from `%SystemRoot%\System32`; `mkdir` with `fs.mkdirSync`
   */
  readonly runProgram?: (
    program: Exclude<SystemProgram, "sc">,
    args: readonly string[],
  ) => Promise<ScResult>;
  /** `%SystemRoot%`. @default `process.env.SystemRoot`, else `C:\Windows` */
  readonly systemRoot?: string;
  /**
   * What the install's check of node.exe and the agent's files reads from Windows.
   * @default {@link windowsInstallSafetyDeps} (advapi32 through koffi)
   */
  readonly installSafety?: () => Promise<InstallSafetyDeps>;
  /** Prints a line for the user. @default `process.stdout` */
  readonly print?: (line: string) => void;
  /** Prints an error line. @default `process.stderr` */
  readonly printError?: (line: string) => void;
  /** @default `process.platform` */
  readonly platform?: NodeJS.Platform;
  /** The `node.exe` the service runs. @default `process.execPath` */
  readonly nodePath?: string;
  /** The agent's entry script. @default `bin/wms-agent.js` of this checkout */
  readonly scriptPath?: string;
  /** `%ProgramData%`, where the service's log goes. @default `process.env.ProgramData` */
  readonly programData?: string;
  /**
   * Reports an error of `service run` before the agent's log is open.
   * @default {@link reportEarlyError}: the Event Log, else `service-errors.log` beside the log
   */
  readonly reportEarlyError?: typeof reportEarlyError;
  /** Connects to the Service Control Manager. @default {@link runAsService} */
  readonly runAsService?: typeof runAsService;
}

const DESCRIPTION = `wmsfleet agent: lists and disconnects MultiPoint Server sessions for authorised gRPC clients (port ${DEFAULT_AGENT_PORT}).`;

/** The default log file of the service: `%ProgramData%\wmsfleet\logs\agent.log`. */
export function defaultServiceLogFile(programData: string): string {
  return win32.join(programData, "wmsfleet", "logs", "agent.log");
}

/** Adds the `service` command and its subcommands to `program` (the `wms-agent` command). */
export function registerServiceCommands(program: Command, deps: ServiceCommandDeps): Command {
  const setExitCode = deps.setExitCode ?? ((code: number) => (process.exitCode = code));
  const print = deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = deps.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const platform = deps.platform ?? process.platform;
  const systemRoot = deps.systemRoot ?? process.env["SystemRoot"] ?? "C:\\Windows";
  const runSc = deps.runSc ?? ((args) => execSystem(systemProgramPath("sc", systemRoot), args));
  const runProgram =
    deps.runProgram ??
    ((program, args) =>
      program === "mkdir"
        ? makeFolder(args[0] ?? "")
        : execSystem(
            systemProgramPath(program, systemRoot),
            program === "powershell"
              ? ["-NoProfile", "-NonInteractive", "-Command", ...args]
              : args,
          ));
  const nodePath = deps.nodePath ?? process.execPath;
  const scriptPath =
    deps.scriptPath ?? fileURLToPath(new URL("../../bin/wms-agent.js", import.meta.url));
  const programData = () => deps.programData ?? process.env["ProgramData"] ?? "C:\\ProgramData";

  /** Runs the commands in order; stops at the first real failure. */
  async function runAll(
    commands: ScCommand[],
    name: string,
    dryRun: boolean,
    notes: readonly string[] = [],
  ): Promise<number> {
    if (dryRun) {
      print("# PowerShell, elevated (Run as administrator):");
      for (const note of notes) print(`# ${note}`);
      for (const command of commands) print(powershellLine(command));
      return 0;
    }
    if (platform !== "win32") {
      printError("wms-agent service: Windows services exist on Windows only (try --dry-run)");
      return 2;
    }
    for (const command of commands) {
      const program = command.program ?? "sc";
      const { code, output } =
        program === "sc" ? await runSc(command.args) : await runProgram(program, command.args);
      if (output.trim() !== "") print(output.trimEnd());
      if (code !== 0 && command.tolerated !== "any" && !command.tolerated.includes(code)) {
        printError(
          program === "sc"
            ? `sc.exe ${command.args[0] ?? ""} ${name}: ${explainScExit(code, name)}`
            : `${program} ${command.args.join(" ")}: failed with ${code}`,
        );
        return 1;
      }
    }
    return 0;
  }

  /** Refuses (exit 2) an install whose node.exe or agent files non-administrators can change. */
  async function checkInstallSafety(): Promise<number> {
    const safety = await (deps.installSafety ?? windowsInstallSafetyDeps)();
    let found;
    try {
      found = await findWritableInstallPaths(nodePath, scriptPath, safety);
    } catch (error) {
      printError(
        `wms-agent service install: cannot check who may change node.exe and the agent's files: ${(error as Error).message}`,
      );
      return 2;
    }
    if (found.length === 0) return 0;
    printError(`wms-agent service install: ${explainWritableInstall(found)}`);
    return 2;
  }

  // Created through program.command() so that it inherits exitOverride() and configureOutput().
  const service = program
    .command("service")
    .description(
      "install, remove, start, stop or query the agent as a Windows service (needs an elevated prompt)",
    );
  const nameOption = (command: Command) =>
    command.option("--name <name>", "service name", DEFAULT_SERVICE_NAME);
  const dryRunOption = (command: Command) =>
    command.option(
      "--dry-run",
      "print the commands as an elevated PowerShell runs them, instead of running them",
    );

  dryRunOption(
    nameOption(
      service
        .command("install")
        .description(
          "register the agent as a service: LocalSystem, automatic start, restart on failure; agent flags follow --",
        )
        .argument("[agentArgs...]", "flags the service passes to the agent, after --")
        .option("--display-name <text>", "name shown in services.msc", "wmsfleet agent")
        .option(
          "--log-file <file>",
          "where the service writes the agent's log; default %ProgramData%\\wmsfleet\\logs\\agent.log",
        )
        .option("--start", "start the service once it is installed"),
    ),
  ).action(
    async (
      agentArgs: string[],
      options: {
        name: string;
        displayName: string;
        logFile?: string;
        start?: true;
        dryRun?: true;
      },
    ) => {
      const spec = {
        name: options.name,
        displayName: options.displayName,
        description: DESCRIPTION,
        nodePath,
        scriptPath,
        agentArgs,
        logFile: options.logFile,
      };
      const commands = [
        ...dataFolderCommands(dataFolder(programData())),
        ...installCommands(spec),
        ...(options.start === true ? startCommands(spec.name) : []),
      ];
      if (options.dryRun !== true && platform === "win32") {
        const refused = await checkInstallSafety();
        if (refused !== 0) return setExitCode(refused);
      }
      setExitCode(
        await runAll(commands, spec.name, options.dryRun === true, [
          `service install first checks that only administrators can change ${nodePath} and the agent's files (${scriptPath}).`,
          "Place keys in the data folder after these commands: they inherit its ACL.",
        ]),
      );
    },
  );

  const simple: [string, string, (name: string) => ScCommand[]][] = [
    ["uninstall", "stop the service if it runs, then remove it", uninstallCommands],
    ["start", "start the service", startCommands],
    ["stop", "stop the service (in-flight calls drain first)", stopCommands],
    ["status", "show the service's state, configuration and failure actions", statusCommands],
  ];
  for (const [verb, description, commands] of simple) {
    dryRunOption(nameOption(service.command(verb).description(description))).action(
      async (options: { name: string; dryRun?: true }) => {
        setExitCode(await runAll(commands(options.name), options.name, options.dryRun === true));
      },
    );
  }

  nameOption(
    service
      .command("run")
      .description(
        "run as the service (the Service Control Manager starts this); agent flags follow --",
      )
      .argument("[agentArgs...]", "the agent's flags")
      .option(
        "--log-file <file>",
        "where the agent's log goes; default %ProgramData%\\wmsfleet\\logs\\agent.log",
      ),
  ).action(async (agentArgs: string[], options: { name: string; logFile?: string }) => {
    const logFile = options.logFile ?? defaultServiceLogFile(programData());
    try {
      setExitCode(await runService(options.name, agentArgs, logFile));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = `wms-agent service run: ${(error as Error).message}`;
      printError(message);
      if (code === ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) return setExitCode(2);
      // Started by the SCM, which discards standard error: the Event Log, or a file, says it.
      await (deps.reportEarlyError ?? reportEarlyError)(
        options.name,
        message,
        earlyErrorsFile(logFile),
      );
      setExitCode(1);
    }
  });

  async function runService(name: string, agentArgs: string[], logFile: string): Promise<number> {
    const connect = deps.runAsService ?? runAsService;
    return connect(name, async (service) => {
      mkdirSync(platform === "win32" ? win32.dirname(logFile) : dirname(logFile), {
        recursive: true,
      });
      const log = createWriteStream(logFile, { flags: "a" });
      try {
        return await deps.runAgent(agentArgs, { stdout: log, stderr: log, service });
      } finally {
        await new Promise<void>((resolve) => log.end(resolve));
      }
    });
  }

  return program;
}

/** The arguments and streams of one `wms-agent service ...` run (part of the agent's `MainIo`). */
export interface ServiceCliIo {
  /** The arguments after `wms-agent`, starting with `service`. */
  readonly argv: readonly string[];
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * Runs `wms-agent service ...` and resolves its exit status: what the agent's entry point calls
 * when its first argument is `service`. `runAgent` runs the agent itself (for `service run`).
 */
export async function runServiceCli(
  io: ServiceCliIo,
  runAgent: ServiceCommandDeps["runAgent"],
  deps: Omit<ServiceCommandDeps, "runAgent" | "setExitCode"> = {},
): Promise<number> {
  let status = 0;
  const program = new Command("wms-agent").exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
  registerServiceCommands(program, {
    print: (line) => io.stdout.write(`${line}\n`),
    printError: (line) => io.stderr.write(`${line}\n`),
    ...deps,
    runAgent,
    setExitCode: (code) => (status = code),
  });
  try {
    await program.parseAsync([...io.argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return status;
}

/** Runs a program of `%SystemRoot%\System32` by its full path; resolves its exit code. */
function execSystem(path: string, args: readonly string[]): Promise<ScResult> {
  return new Promise((resolve, reject) => {
    execFile(path, [...args], { windowsHide: true }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error === null) return resolve({ code: 0, output });
      if (typeof error.code === "number") return resolve({ code: error.code, output });
      reject(new Error(`${path} could not run: ${error.message}`, { cause: error }));
    });
  });
}

function makeFolder(path: string): Promise<ScResult> {
  mkdirSync(path, { recursive: true });
  return Promise.resolve({ code: 0, output: "" });
}
