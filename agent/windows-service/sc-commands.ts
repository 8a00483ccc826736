/**
 * The exact `sc.exe` invocations that install, remove, start, stop and query the agent as a
 * Windows service. `sc.exe` ships with every Windows and talks to the Service Control Manager
 * directly; building its argument lists here, as data, lets them be tested on any platform.
 *
 * `sc.exe` takes `name= value` as two arguments: the option name with its `=`, then the value.
 */

/**
 * The Windows programs the service commands run, each from `%SystemRoot%\System32` by its full
 * path: a bare `sc.exe` would be looked for in the current folder first (libuv's search, as
 * cmd.exe's), where anyone who can write there could put their own. `powershell` runs one command
 * of Windows PowerShell 5.1; `mkdir` creates a folder (done by the agent itself).
 */
export type SystemProgram = "sc" | "icacls" | "netsh" | "reg" | "powershell" | "mkdir";

/** The full path of a {@link SystemProgram} under `systemRoot` (`%SystemRoot%`, `C:\Windows`). */
export function systemProgramPath(
  program: Exclude<SystemProgram, "mkdir">,
  systemRoot: string,
): string {
  return program === "powershell"
    ? `${systemRoot}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`
    : `${systemRoot}\\System32\\${program}.exe`;
}

/** One run of `sc.exe` (or of another {@link SystemProgram}). */
export interface ScCommand {
  /** The program. @default "sc" */
  readonly program?: SystemProgram;
  /** The arguments after the program (for `powershell`, the one command; for `mkdir`, the folder). */
  readonly args: readonly string[];
  /**
   * Exit codes (Win32 errors) that mean "nothing to do" rather than failure, or `"any"` for a
   * best-effort step whose failure the next step reports better.
   */
  readonly tolerated: readonly number[] | "any";
}

/** What the service is and how it starts the agent. */
export interface ServiceSpec {
  /**
   * The service name (`sc query NAME`, `Get-Service NAME`).
   * @default "wms-agent"
   */
  readonly name: string;
  /** The name shown in `services.msc`. */
  readonly displayName: string;
  /** The description shown in `services.msc`. */
  readonly description: string;
  /** The program the service runs: `node.exe`. */
  readonly nodePath: string;
  /** The agent's entry script, `bin/wms-agent.js`. */
  readonly scriptPath: string;
  /** Agent flags appended after `service run`, e.g. `--config C:\ProgramData\wmsfleet\agent.json`. */
  readonly agentArgs: readonly string[];
  /** Where `service run` writes the agent's log. @default `%ProgramData%\wmsfleet\logs\agent.log` */
  readonly logFile?: string | undefined;
}

/** The default service name. */
export const DEFAULT_SERVICE_NAME = "wms-agent";

/** Win32 errors `sc.exe` exits with, used to tell "already so" from failure. */
export const ScExit = {
  ACCESS_DENIED: 5,
  SERVICE_ALREADY_RUNNING: 1056,
  SERVICE_DOES_NOT_EXIST: 1060,
  SERVICE_NOT_ACTIVE: 1062,
  SERVICE_MARKED_FOR_DELETE: 1072,
  SERVICE_EXISTS: 1073,
} as const;

/**
 * Restart after 5 s, again after 5 s, then every 60 s; the failure count resets after a day
 * without failures.
 */
export const FAILURE_ACTIONS = "restart/5000/restart/5000/restart/60000";
/** Seconds without failure after which the SCM forgets earlier failures. */
export const FAILURE_RESET_SECONDS = 86400;

/**
 * Quotes one element of a command line the way the Microsoft C runtime (and so `node.exe`)
 * splits it back: backslashes are literal unless they precede a quote.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let quoted = '"';
  let backslashes = 0;
  for (const char of arg) {
    if (char === "\\") {
      backslashes++;
      continue;
    }
    if (char === '"') quoted += "\\".repeat(backslashes * 2 + 1) + '"';
    else quoted += "\\".repeat(backslashes) + char;
    backslashes = 0;
  }
  return `${quoted}${"\\".repeat(backslashes * 2)}"`;
}

/**
 * Node's flags on the service's command line: V8's young generation capped at 16 MiB a
 * semi-space. Node 24's V8 sizes it by the machine's memory, larger than Node 22's 16 MiB, and an
 * agent keeps what it grew to: under load (one agent, 64 calls in flight over 8 connections,
 * twelve 2-second waves of ListSessions and what-if Disconnect) its RSS levelled at 317 MiB on
 * Node 24 against 217 MiB on Node 22; with this flag at 221 MiB on Node 24 (210 on Node 22), for
 * 109 against 113 µs of CPU a call on Node 24 (no cost). 8 MiB saved 14 MiB more for 6 % more CPU.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=16"];

/**
 * The service's command line (`binPath=`): node with {@link SERVICE_NODE_FLAGS}, the script,
 * `service run`, the agent's flags.
 */
export function serviceCommandLine(spec: ServiceSpec): string {
  const run = [
    spec.nodePath,
    ...SERVICE_NODE_FLAGS,
    spec.scriptPath,
    "service",
    "run",
    "--name",
    spec.name,
  ];
  const log = spec.logFile === undefined ? [] : ["--log-file", spec.logFile];
  return [...run, ...log, ...(spec.agentArgs.length > 0 ? ["--", ...spec.agentArgs] : [])]
    .map(quoteWindowsArg)
    .join(" ");
}

/**
 * Registers the service: LocalSystem, automatic start, restart on failure, and failure actions
 * also when the agent exits with an error (not only when it crashes); libuv's pool sized for it
 * ({@link SERVICE_THREAD_POOL_SIZE}).
 */
export function installCommands(spec: ServiceSpec): ScCommand[] {
  const { name } = spec;
  return [
    command(
      "create",
      name,
      "binPath=",
      serviceCommandLine(spec),
      "type=",
      "own",
      "start=",
      "auto",
      "obj=",
      "LocalSystem",
      "DisplayName=",
      spec.displayName,
    ),
    command("description", name, spec.description),
    command("failure", name, "reset=", String(FAILURE_RESET_SECONDS), "actions=", FAILURE_ACTIONS),
    {
      program: "reg",
      args: [
        "add",
        `HKLM\\SYSTEM\\CurrentControlSet\\Services\\${name}`,
        "/v",
        "Environment",
        "/t",
        "REG_MULTI_SZ",
        "/d",
        `UV_THREADPOOL_SIZE=${SERVICE_THREAD_POOL_SIZE}`,
        "/f",
      ],
      tolerated: [],
    },
    // Last: Wine's sc.exe lacks it (Windows' has it), so the Wine tier sees everything else done.
    command("failureflag", name, "1"),
  ];
}

/**
 * libuv's pool in the service (`UV_THREADPOOL_SIZE` in the service's environment, the
 * `Environment` value of its registry key, which the SCM reads at each start): the dispatcher
 * holds one thread for the service's life, the session-change wait one, WTS calls at most 12
 * (`agent/backends/wts.ts`), and audit and log writes, DNS and the TCP table keep the rest. Set
 * in the environment because libuv sizes the pool when it is first used, which on Node 20 is
 * before the agent's first line runs.
 */
export const SERVICE_THREAD_POOL_SIZE = 16;

/** The well-known SIDs of the data folder's ACL: SYSTEM and Administrators (never their names,
 * which are translated on a French or German Windows). */
export const SID_SYSTEM = "*S-1-5-18";
/** `BUILTIN\Administrators`, by SID. */
export const SID_ADMINISTRATORS = "*S-1-5-32-544";

/**
 * Prepares `%ProgramData%\wmsfleet` (configuration, keys, logs) before anything is placed in it:
 * creates it, makes Administrators its owner, and leaves SYSTEM and Administrators its only
 * entries, inherited by everything created in it (`(OI)(CI)`), with what `C:\ProgramData` would
 * pass down (Users: read) removed (`/inheritance:r`), on what it already holds too (`/T`). The
 * key goes in afterwards and inherits that.
 */
export function dataFolderCommands(folder: string): ScCommand[] {
  return [
    { program: "mkdir", args: [folder], tolerated: [] },
    { program: "icacls", args: [folder, "/setowner", SID_ADMINISTRATORS, "/T"], tolerated: [] },
    {
      program: "icacls",
      args: [
        folder,
        "/inheritance:r",
        "/grant:r",
        `${SID_SYSTEM}:(OI)(CI)F`,
        `${SID_ADMINISTRATORS}:(OI)(CI)F`,
        "/T",
      ],
      tolerated: [],
    },
  ];
}

/** The firewall rule's name (`New-NetFirewallRule -Name`) and display name (netsh's `name=`). */
export const FIREWALL_RULE = {
  name: "wmsfleet-agent",
  displayName: "wmsfleet agent (gRPC)",
} as const;

/**
 * Stops the service if it runs (best effort: not running, or not accepting a stop yet, must not
 * keep it installed), then removes it; the SCM deletes it once it has stopped. Then removes the
 * firewall rule of docs/windows.md, whichever way it was made: `Remove-NetFirewallRule -Name` and
 * `netsh ... delete rule name=` (best effort: there may be none).
 */
export function uninstallCommands(name: string): ScCommand[] {
  return [
    tolerant("any", "stop", name),
    command("delete", name),
    {
      program: "powershell",
      args: [`Remove-NetFirewallRule -Name ${FIREWALL_RULE.name} -ErrorAction SilentlyContinue`],
      tolerated: "any",
    },
    {
      program: "netsh",
      args: ["advfirewall", "firewall", "delete", "rule", `name=${FIREWALL_RULE.displayName}`],
      tolerated: "any",
    },
  ];
}

/**
 * A command as PowerShell runs it, the shell docs/windows.md uses. Windows PowerShell 5.1 passes
 * embedded double quotes to programs unescaped, which breaks `binPath=`; after `--%` (stop
 * parsing) it passes the rest of the line as written, so the line is the exact command line
 * cmd.exe would pass.
 */
export function powershellLine(command: ScCommand): string {
  const program = command.program ?? "sc";
  if (program === "mkdir") {
    return `New-Item -ItemType Directory -Force -Path '${(command.args[0] ?? "").replace(/'/g, "''")}' | Out-Null`;
  }
  if (program === "powershell") return command.args.join(" ");
  const path = systemProgramPath(program, "$env:SystemRoot");
  return `& "${path}" --% ${command.args.map(quoteWindowsArg).join(" ")}`;
}

/** Starts the service; one already running is not an error. */
export function startCommands(name: string): ScCommand[] {
  return [tolerant([ScExit.SERVICE_ALREADY_RUNNING], "start", name)];
}

/** Asks the service to stop (the agent drains in-flight calls); one not running is not an error. */
export function stopCommands(name: string): ScCommand[] {
  return [tolerant([ScExit.SERVICE_NOT_ACTIVE], "stop", name)];
}

/** The service's state, then its configuration and failure actions. */
export function statusCommands(name: string): ScCommand[] {
  return [command("query", name), command("qc", name), command("qfailure", name)];
}

/** A human explanation of an `sc.exe` exit code. */
export function explainScExit(code: number, name: string): string {
  switch (code) {
    case ScExit.ACCESS_DENIED:
      return "access denied: run it from an elevated prompt (Run as administrator)";
    case ScExit.SERVICE_DOES_NOT_EXIST:
      return `there is no service named ${name}: install it first (wms-agent service install)`;
    case ScExit.SERVICE_EXISTS:
      return `a service named ${name} already exists: uninstall it first, or choose --name`;
    case ScExit.SERVICE_MARKED_FOR_DELETE:
      return `${name} is marked for deletion: close services.msc and any handle to it, then retry`;
    default:
      return `sc.exe failed with Win32 error ${code}`;
  }
}

function command(...args: string[]): ScCommand {
  return { args, tolerated: [] };
}

function tolerant(tolerated: number[] | "any", ...args: string[]): ScCommand {
  return { args, tolerated };
}
