/**
 * `wmsctl`: the command line of the controller. `get`, `disconnect`, `logoff`, `message`,
 * `watch`, `health` and `pki` over a fleet of hosts named by FQDN; every side effect comes
 * through {@link CliIo}, so the whole command runs in-process in tests.
 *
 * Exit status: 0 everything succeeded; 1 some session or host failed; 2 usage or input error,
 * nothing sent; 3 the only failures were hosts that could not be reached or timed out; 130
 * interrupted (Ctrl-C); 143 stopped by SIGTERM.
 */
import { Command, CommanderError } from "commander";
import { WMSFLEET_VERSION } from "../../common/version.js";
import { addDisconnectCommand } from "./commands/disconnect.js";
import { addGetCommand } from "./commands/get.js";
import { addHealthCommand } from "./commands/health.js";
import { addLogoffCommand } from "./commands/logoff.js";
import { addMessageCommand } from "./commands/message.js";
import { addPkiCommand } from "./commands/pki.js";
import { addWatchCommand } from "./commands/watch.js";
import { interruptMessage, interruptStatus } from "./interrupt.js";
import type { CliIo } from "./io.js";
import { ExitStatus, InterruptedError, UsageError } from "./usage-error.js";

/** Builds the program; `done` receives each command's exit status. */
export function buildProgram(io: CliIo, done: (status: number) => void): Command {
  const program = new Command("wmsctl")
    .description(
      "Disconnect-WmsSession and its family for a fleet of Windows MultiPoint Server hosts: list, disconnect, log off, message and watch sessions through each host's wms-agent, named by FQDN. One result per host.",
    )
    .version(WMSFLEET_VERSION, "-V, --version", "print the version")
    .showHelpAfterError("(run wmsctl --help, or wmsctl COMMAND --help)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  wmsctl get -s h1.lab.example.com\n" +
        "  wmsctl disconnect 3 5 7 -s h1.lab.example.com --what-if\n" +
        "  wmsctl get --inventory lab.txt -o json | wmsctl disconnect --stdin --confirm\n" +
        '  wmsctl logoff --all --state disconnected --min-idle 2h --warn "Logging off in 5 minutes" --grace 5m\n' +
        '  wmsctl message "The lab closes at four" --all --inventory lab.txt\n' +
        "  wmsctl watch --inventory lab.txt\n" +
        "  wmsctl health --inventory lab.txt --rerun-file failed.txt\n" +
        "  wmsctl pki init && wmsctl pki issue-agent h1.lab.example.com\n" +
        "\nExit status: 0 everything succeeded; 1 some session or host failed; 2 usage or input\n" +
        "error (nothing sent); 3 the only failures were unreachable or timed-out hosts; 130 Ctrl-C;\n" +
        "143 SIGTERM.",
    );
  addGetCommand(program, io, done);
  addDisconnectCommand(program, io, done);
  addLogoffCommand(program, io, done);
  addMessageCommand(program, io, done);
  addWatchCommand(program, io, done);
  addHealthCommand(program, io, done);
  addPkiCommand(program, io, done);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
    command.showHelpAfterError(`(run wmsctl ${command.name()} --help)`);
  }
  return program;
}

/** Runs `wmsctl` with the given side effects; resolves to the exit status. */
export async function main(io: CliIo): Promise<number> {
  let status: number = ExitStatus.OK;
  const program = buildProgram(io, (code) => (status = code));
  try {
    if (io.argv.length === 0) {
      program.outputHelp({ error: true });
      return ExitStatus.USAGE;
    }
    await program.parseAsync([...io.argv], { from: "user" });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version"
        ? ExitStatus.OK
        : ExitStatus.USAGE;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`wmsctl: ${error.message}\n`);
      return ExitStatus.USAGE;
    }
    if (error instanceof InterruptedError || io.signal.aborted) {
      io.stderr.write(`wmsctl: ${interruptMessage(io.signal)}\n`);
      return interruptStatus(io.signal);
    }
    io.stderr.write(`wmsctl: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitStatus.FAILED;
  }
}
