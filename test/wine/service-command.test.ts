/**
 * `wms-agent service ...`: the exact `sc.exe` command lines, and the subcommands run in-process
 * with `sc.exe` and the Service Control Manager replaced by fakes (any platform).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Command } from "commander";
import {
  dataFolderCommands,
  installCommands,
  quoteWindowsArg,
  serviceCommandLine,
  systemProgramPath,
  uninstallCommands,
} from "../../agent/windows-service/sc-commands.js";
import type { ScResult, ServiceCommandDeps } from "../../agent/windows-service/service-command.js";
import type { ServiceHooks } from "../../agent/windows-service/service-hooks.js";
import {
  registerServiceCommands,
  runServiceCli,
} from "../../agent/windows-service/service-command.js";

const spec = {
  name: "wms-agent",
  displayName: "wmsfleet agent",
  description: "the agent",
  nodePath: "C:\\Program Files\\nodejs\\node.exe",
  scriptPath: "C:\\wmsfleet\\bin\\wms-agent.js",
  agentArgs: ["--config", "C:\\ProgramData\\wmsfleet\\agent.json"],
};

void describe("quoteWindowsArg", () => {
  void it("leaves plain arguments alone and quotes spaces", () => {
    assert.equal(quoteWindowsArg("run"), "run");
    assert.equal(quoteWindowsArg("C:\\Program Files\\x"), '"C:\\Program Files\\x"');
    assert.equal(quoteWindowsArg(""), '""');
  });

  void it("escapes quotes and the backslashes before them as the C runtime expects", () => {
    assert.equal(quoteWindowsArg('a "b"'), '"a \\"b\\""');
    assert.equal(quoteWindowsArg("C:\\dir with space\\"), '"C:\\dir with space\\\\"');
  });
});

void describe("sc.exe command lines", () => {
  void it("runs node (its young generation capped) with the agent script and `service run`, agent flags after --", () => {
    assert.equal(
      serviceCommandLine(spec),
      '"C:\\Program Files\\nodejs\\node.exe" --max-semi-space-size=16 C:\\wmsfleet\\bin\\wms-agent.js service run --name wms-agent -- --config C:\\ProgramData\\wmsfleet\\agent.json',
    );
  });

  void it("passes a log file to `service run` before the agent's flags", () => {
    assert.equal(
      serviceCommandLine({ ...spec, agentArgs: ["--x"], logFile: "D:\\logs\\agent.log" }),
      '"C:\\Program Files\\nodejs\\node.exe" --max-semi-space-size=16 C:\\wmsfleet\\bin\\wms-agent.js service run --name wms-agent --log-file D:\\logs\\agent.log -- --x',
    );
  });

  void it("installs as LocalSystem, automatic start, restart on failure and on error exits", () => {
    assert.deepEqual(
      installCommands(spec).map((command) => command.args),
      [
        [
          "create",
          "wms-agent",
          "binPath=",
          serviceCommandLine(spec),
          "type=",
          "own",
          "start=",
          "auto",
          "obj=",
          "LocalSystem",
          "DisplayName=",
          "wmsfleet agent",
        ],
        ["description", "wms-agent", "the agent"],
        [
          "failure",
          "wms-agent",
          "reset=",
          "86400",
          "actions=",
          "restart/5000/restart/5000/restart/60000",
        ],
        [
          "add",
          "HKLM\\SYSTEM\\CurrentControlSet\\Services\\wms-agent",
          "/v",
          "Environment",
          "/t",
          "REG_MULTI_SZ",
          "/d",
          "UV_THREADPOOL_SIZE=16",
          "/f",
        ],
        ["failureflag", "wms-agent", "1"],
      ],
    );
  });

  void it("uninstalls by stopping (not running is fine) and deleting, then removes both firewall rules", () => {
    assert.deepEqual(uninstallCommands("wms-agent"), [
      { args: ["stop", "wms-agent"], tolerated: "any" },
      { args: ["delete", "wms-agent"], tolerated: [] },
      {
        program: "powershell",
        args: ["Remove-NetFirewallRule -Name wmsfleet-agent -ErrorAction SilentlyContinue"],
        tolerated: "any",
      },
      {
        program: "netsh",
        args: ["advfirewall", "firewall", "delete", "rule", "name=wmsfleet agent (gRPC)"],
        tolerated: "any",
      },
    ]);
  });

  void it("prepares the data folder by SID before anything is placed in it", () => {
    assert.deepEqual(dataFolderCommands("C:\\ProgramData\\wmsfleet"), [
      { program: "mkdir", args: ["C:\\ProgramData\\wmsfleet"], tolerated: [] },
      {
        program: "icacls",
        args: ["C:\\ProgramData\\wmsfleet", "/setowner", "*S-1-5-32-544", "/T"],
        tolerated: [],
      },
      {
        program: "icacls",
        args: [
          "C:\\ProgramData\\wmsfleet",
          "/inheritance:r",
          "/grant:r",
          "*S-1-5-18:(OI)(CI)F",
          "*S-1-5-32-544:(OI)(CI)F",
          "/T",
        ],
        tolerated: [],
      },
    ]);
  });

  void it("runs every program from %SystemRoot%\\System32 by its full path", () => {
    assert.equal(systemProgramPath("sc", "C:\\Windows"), "C:\\Windows\\System32\\sc.exe");
    assert.equal(systemProgramPath("icacls", "D:\\WIN"), "D:\\WIN\\System32\\icacls.exe");
    assert.equal(
      systemProgramPath("powershell", "C:\\Windows"),
      "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    );
  });
});

/** Service hooks that no SCM drives. */
function fakeHooks(): ServiceHooks {
  return {
    stopSignal: new AbortController().signal,
    serving: () => undefined,
    draining: () => undefined,
    setStopGrace: () => undefined,
    onSessionChange: () => () => undefined,
  };
}

/** A `wms-agent` with the service commands, fakes for the outside world, and what they saw. */
function harness(overrides: Partial<ServiceCommandDeps> & { scCodes?: number[] } = {}) {
  const seen = {
    sc: [] as string[][],
    programs: [] as string[][],
    out: [] as string[],
    err: [] as string[],
    exit: -1,
  };
  const codes = [...(overrides.scCodes ?? [])];
  const deps: ServiceCommandDeps = {
    runAgent: () => Promise.resolve(0),
    platform: "win32",
    nodePath: spec.nodePath,
    scriptPath: spec.scriptPath,
    programData: "C:\\ProgramData",
    runSc: (args): Promise<ScResult> => {
      seen.sc.push([...args]);
      return Promise.resolve({ code: codes.shift() ?? 0, output: `[SC] ${args[0]} SUCCESS` });
    },
    runProgram: (program, args): Promise<ScResult> => {
      seen.programs.push([program, ...args]);
      return Promise.resolve({ code: 0, output: "" });
    },
    // An install from C:\Program Files: administrators only.
    installSafety: () =>
      Promise.resolve({
        readSddl: () => Promise.resolve("O:BAD:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)"),
        installerSid: () => Promise.resolve("S-1-5-21-1-2-3-500"),
        exists: () => true,
      }),
    print: (line) => seen.out.push(line),
    printError: (line) => seen.err.push(line),
    setExitCode: (code) => (seen.exit = code),
    ...overrides,
  };
  const program = registerServiceCommands(new Command("wms-agent").exitOverride(), deps);
  const run = (...argv: string[]) => program.parseAsync(argv, { from: "user" });
  return { seen, run };
}

void describe("wms-agent service", () => {
  void it("install --dry-run prints the exact commands for an elevated PowerShell and runs none", async () => {
    const { seen, run } = harness();
    await run("service", "install", "--dry-run", "--", "--config", spec.agentArgs[1] ?? "");
    assert.equal(seen.exit, 0);
    assert.deepEqual(seen.sc, []);
    assert.deepEqual(seen.programs, []);
    const sc = '& "$env:SystemRoot\\System32\\sc.exe" --%';
    const icacls = '& "$env:SystemRoot\\System32\\icacls.exe" --%';
    assert.deepEqual(seen.out, [
      "# PowerShell, elevated (Run as administrator):",
      `# service install first checks that only administrators can change ${spec.nodePath} and the agent's files (${spec.scriptPath}).`,
      "# Place keys in the data folder after these commands: they inherit its ACL.",
      "New-Item -ItemType Directory -Force -Path 'C:\\ProgramData\\wmsfleet' | Out-Null",
      `${icacls} C:\\ProgramData\\wmsfleet /setowner *S-1-5-32-544 /T`,
      `${icacls} C:\\ProgramData\\wmsfleet /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F /T`,
      `${sc} create wms-agent binPath= ${quoteWindowsArg(serviceCommandLine(spec))} type= own start= auto obj= LocalSystem DisplayName= "wmsfleet agent"`,
      `${sc} description wms-agent "wmsfleet agent: lists and disconnects MultiPoint Server sessions for authorised gRPC clients (port 50061)."`,
      `${sc} failure wms-agent reset= 86400 actions= restart/5000/restart/5000/restart/60000`,
      '& "$env:SystemRoot\\System32\\reg.exe" --% add HKLM\\SYSTEM\\CurrentControlSet\\Services\\wms-agent /v Environment /t REG_MULTI_SZ /d UV_THREADPOOL_SIZE=16 /f',
      `${sc} failureflag wms-agent 1`,
    ]);
  });

  void it("install refuses, with the reason and the fix, when non-administrators can change node.exe", async () => {
    const userSid = "S-1-5-21-1-2-3-1001";
    const { seen, run } = harness({
      nodePath: "C:\\Users\\bob\\AppData\\Roaming\\nvm\\v22.12.0\\node.exe",
      installSafety: () =>
        Promise.resolve({
          readSddl: (path) =>
            Promise.resolve(
              path.startsWith("C:\\Users\\bob")
                ? `O:${userSid}D:(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;${userSid})`
                : "O:BAD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;BU)",
            ),
          installerSid: () => Promise.resolve("S-1-5-21-1-2-3-500"),
          exists: () => true,
        }),
    });
    await run("service", "install");
    assert.equal(seen.exit, 2);
    assert.deepEqual(seen.sc, [], "nothing is installed");
    assert.deepEqual(seen.programs, []);
    const message = seen.err.join("\n");
    assert.match(
      message,
      /^wms-agent service install: refusing to install: the service would run as LocalSystem files that accounts other than administrators can change:/,
    );
    assert.match(
      message,
      /\n {2}C:\\Users\\bob\\AppData\\Roaming\\nvm\\v22\.12\.0\\node\.exe: owner S-1-5-21-1-2-3-1001, S-1-5-21-1-2-3-1001\n/,
    );
    assert.match(message, /Install Node\.js with its MSI \(C:\\Program Files\\nodejs\)/);
  });

  void it("install --start prepares the data folder, registers, sizes the pool, then starts", async () => {
    const { seen, run } = harness();
    await run("service", "install", "--start", "--name", "wms-test");
    assert.equal(seen.exit, 0);
    assert.deepEqual(
      seen.programs.map((args) => args.slice(0, 3)),
      [
        ["mkdir", "C:\\ProgramData\\wmsfleet"],
        ["icacls", "C:\\ProgramData\\wmsfleet", "/setowner"],
        ["icacls", "C:\\ProgramData\\wmsfleet", "/inheritance:r"],
        ["reg", "add", "HKLM\\SYSTEM\\CurrentControlSet\\Services\\wms-test"],
      ],
    );
    assert.deepEqual(
      seen.sc.map((args) => args.slice(0, 2)),
      [
        ["create", "wms-test"],
        ["description", "wms-test"],
        ["failure", "wms-test"],
        ["failureflag", "wms-test"],
        ["start", "wms-test"],
      ],
    );
  });

  void it("stops at the first failure and says why (1073: the service exists)", async () => {
    const { seen, run } = harness({ scCodes: [1073] });
    await run("service", "install");
    assert.equal(seen.exit, 1);
    assert.equal(seen.sc.length, 1);
    assert.match(seen.err.join("\n"), /already exists/);
  });

  void it("explains access denied as the need for an elevated prompt", async () => {
    const { seen, run } = harness({ scCodes: [5] });
    await run("service", "start");
    assert.equal(seen.exit, 1);
    assert.match(seen.err.join("\n"), /elevated prompt/);
  });

  void it("uninstall deletes even when the stop fails (1062: it was not running)", async () => {
    const { seen, run } = harness({ scCodes: [1062, 0] });
    await run("service", "uninstall");
    assert.equal(seen.exit, 0);
    assert.deepEqual(seen.sc, [
      ["stop", "wms-agent"],
      ["delete", "wms-agent"],
    ]);
    assert.deepEqual(
      seen.programs.map((args) => args[0]),
      ["powershell", "netsh"],
    );
  });

  void it("status queries state, configuration and failure actions", async () => {
    const { seen, run } = harness();
    await run("service", "status");
    assert.deepEqual(seen.sc, [
      ["query", "wms-agent"],
      ["qc", "wms-agent"],
      ["qfailure", "wms-agent"],
    ]);
    assert.equal(seen.out.length, 3);
  });

  void it("refuses off Windows without --dry-run", async () => {
    const { seen, run } = harness({ platform: "linux" });
    await run("service", "stop");
    assert.equal(seen.exit, 2);
    assert.deepEqual(seen.sc, []);
    assert.match(seen.err.join("\n"), /Windows only/);
  });

  void it("run hands the agent its flags, log file and the SCM's hooks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wms-service-"));
    try {
      const logFile = join(dir, "logs", "agent.log");
      let agentArgv: readonly string[] = [];
      const hooks = fakeHooks();
      const { seen, run } = harness({
        platform: "linux",
        runAsService: (name, body) => {
          assert.equal(name, "wms-svc");
          return body(hooks);
        },
        runAgent: async (argv, io) => {
          assert.equal(io.service, hooks);
          agentArgv = argv;
          await new Promise<void>((resolve) =>
            io.stdout.write("agent log line\n", () => resolve()),
          );
          return 3;
        },
      });
      await run("service", "run", "--name", "wms-svc", "--log-file", logFile, "--", "--x", "1");
      assert.equal(seen.exit, 3);
      assert.deepEqual(agentArgv, ["--x", "1"]);
      assert.equal(readFileSync(logFile, "utf8"), "agent log line\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it("run says an error before the agent's log is open in the Event Log (or a file), exit 1", async () => {
    const reported: string[][] = [];
    const { seen, run } = harness({
      platform: "linux",
      runAsService: () => Promise.reject(new Error("koffi: cannot load advapi32.dll")),
      reportEarlyError: (source, message, file) => {
        reported.push([source, message, file]);
        return Promise.resolve("event-log");
      },
    });
    await run("service", "run", "--name", "wms-svc", "--log-file", "D:\\logs\\agent.log");
    assert.equal(seen.exit, 1);
    assert.deepEqual(reported, [
      [
        "wms-svc",
        "wms-agent service run: koffi: cannot load advapi32.dll",
        "D:\\logs\\service-errors.log",
      ],
    ]);
  });

  void it("run outside the Service Control Manager exits 2 with an explanation", async () => {
    const { seen, run } = harness({
      runAsService: () =>
        Promise.reject(Object.assign(new Error("not started by the SCM"), { code: 1063 })),
    });
    await run("service", "run");
    assert.equal(seen.exit, 2);
    assert.match(seen.err.join("\n"), /not started by the SCM/);
  });
});

void describe("runServiceCli (what the wms-agent entry point calls)", () => {
  function io(...argv: string[]) {
    const out = { stdout: "", stderr: "" };
    return {
      out,
      io: {
        argv,
        stdout: { write: (text: string) => ((out.stdout += text), true) },
        stderr: { write: (text: string) => ((out.stderr += text), true) },
      } as unknown as Parameters<typeof runServiceCli>[0],
    };
  }
  const noAgent = () => Promise.reject(new Error("no agent here"));

  void it("prints the exact commands of a dry run and returns 0", async () => {
    const run = io("service", "uninstall", "--dry-run", "--name", "wms-test");
    assert.equal(await runServiceCli(run.io, noAgent), 0);
    assert.equal(
      run.out.stdout,
      [
        "# PowerShell, elevated (Run as administrator):",
        '& "$env:SystemRoot\\System32\\sc.exe" --% stop wms-test',
        '& "$env:SystemRoot\\System32\\sc.exe" --% delete wms-test',
        "Remove-NetFirewallRule -Name wmsfleet-agent -ErrorAction SilentlyContinue",
        '& "$env:SystemRoot\\System32\\netsh.exe" --% advfirewall firewall delete rule "name=wmsfleet agent (gRPC)"',
        "",
      ].join("\n"),
    );
  });

  void it("returns 0 for --help and 2 for an unknown subcommand, printing to its streams", async () => {
    const help = io("service", "--help");
    assert.equal(await runServiceCli(help.io, noAgent), 0);
    assert.match(help.out.stdout, /install/);
    const bad = io("service", "reinstall");
    assert.equal(await runServiceCli(bad.io, noAgent), 2);
    assert.match(bad.out.stderr, /unknown command/);
  });

  void it("runs the agent under `service run` and returns its status", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wms-service-"));
    try {
      const run = io("service", "run", "--log-file", join(dir, "agent.log"), "--", "--x");
      const status = await runServiceCli(
        run.io,
        (argv) => Promise.resolve(argv.length === 1 && argv[0] === "--x" ? 0 : 9),
        {
          platform: "linux",
          runAsService: (_name, body) => body(fakeHooks()),
        },
      );
      assert.equal(status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
