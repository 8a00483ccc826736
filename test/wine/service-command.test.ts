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
  installCommands,
  quoteWindowsArg,
  serviceCommandLine,
  uninstallCommands,
} from "../../agent/windows-service/sc-commands.js";
import type { ScResult, ServiceCommandDeps } from "../../agent/windows-service/service-command.js";
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
  void it("runs node with the agent script and `service run`, agent flags after --", () => {
    assert.equal(
      serviceCommandLine(spec),
      '"C:\\Program Files\\nodejs\\node.exe" C:\\wmsfleet\\bin\\wms-agent.js service run --name wms-agent -- --config C:\\ProgramData\\wmsfleet\\agent.json',
    );
  });

  void it("passes a log file to `service run` before the agent's flags", () => {
    assert.equal(
      serviceCommandLine({ ...spec, agentArgs: ["--x"], logFile: "D:\\logs\\agent.log" }),
      '"C:\\Program Files\\nodejs\\node.exe" C:\\wmsfleet\\bin\\wms-agent.js service run --name wms-agent --log-file D:\\logs\\agent.log -- --x',
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
        ["failureflag", "wms-agent", "1"],
      ],
    );
  });

  void it("uninstalls by stopping (not running is fine) and deleting", () => {
    assert.deepEqual(uninstallCommands("wms-agent"), [
      { args: ["stop", "wms-agent"], tolerated: "any" },
      { args: ["delete", "wms-agent"], tolerated: [] },
    ]);
  });
});

/** A `wms-agent` with the service commands, fakes for the outside world, and what they saw. */
function harness(overrides: Partial<ServiceCommandDeps> & { scCodes?: number[] } = {}) {
  const seen = { sc: [] as string[][], out: [] as string[], err: [] as string[], exit: -1 };
  const codes = [...(overrides.scCodes ?? [])];
  const deps: ServiceCommandDeps = {
    runAgent: () => Promise.resolve(0),
    platform: "win32",
    nodePath: spec.nodePath,
    scriptPath: spec.scriptPath,
    runSc: (args): Promise<ScResult> => {
      seen.sc.push([...args]);
      return Promise.resolve({ code: codes.shift() ?? 0, output: `[SC] ${args[0]} SUCCESS` });
    },
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
  void it("install --dry-run prints the exact sc.exe commands and runs none", async () => {
    const { seen, run } = harness();
    await run("service", "install", "--dry-run", "--", "--config", spec.agentArgs[1] ?? "");
    assert.equal(seen.exit, 0);
    assert.deepEqual(seen.sc, []);
    assert.deepEqual(seen.out, [
      `sc.exe create wms-agent binPath= ${quoteWindowsArg(serviceCommandLine(spec))} type= own start= auto obj= LocalSystem DisplayName= "wmsfleet agent"`,
      'sc.exe description wms-agent "wmsfleet agent: lists and disconnects MultiPoint Server sessions for authorised gRPC clients (port 50061)."',
      "sc.exe failure wms-agent reset= 86400 actions= restart/5000/restart/5000/restart/60000",
      "sc.exe failureflag wms-agent 1",
    ]);
  });

  void it("install --start runs the four commands, then start", async () => {
    const { seen, run } = harness();
    await run("service", "install", "--start", "--name", "wms-test");
    assert.equal(seen.exit, 0);
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

  void it("run hands the agent its flags and log file, and turns an SCM stop into SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wms-service-"));
    try {
      const logFile = join(dir, "logs", "agent.log");
      let agentArgv: readonly string[] = [];
      const { seen, run } = harness({
        platform: "linux",
        runAsService: async (name, body) => {
          assert.equal(name, "wms-svc");
          const stop = new AbortController();
          const sigterm = new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
          const result = body({ stopSignal: stop.signal });
          stop.abort();
          await sigterm;
          return result;
        },
        runAgent: async (argv, io) => {
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
    assert.equal(run.out.stdout, "sc.exe stop wms-test\nsc.exe delete wms-test\n");
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
          runAsService: (_name, body) => body({ stopSignal: new AbortController().signal }),
        },
      );
      assert.equal(status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
