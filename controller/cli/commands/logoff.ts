/**
 * `wmsctl logoff`: Close-WmsSession (`logoff`) over the fleet, with the same selection, flags,
 * output and exit status as `disconnect` (see session-action.ts). The agent never logs off the
 * session wmsctl runs in, nor its own or the services session.
 */
import type { Command } from "commander";
import type { CliIo } from "../io.js";
import { LOGOFF_MAY_HAVE_ACTED } from "../report.js";
import { addSessionActionCommand } from "./session-action.js";

/** Adds `logoff` to the program; `done` receives the exit status. */
export function addLogoffCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
): void {
  addSessionActionCommand(program, io, done, {
    action: "logoff",
    name: "logoff",
    verb: "log off",
    description:
      "log off sessions on each host (Close-WmsSession): their programs are closed, unsaved work is lost",
    mayHaveActed: LOGOFF_MAY_HAVE_ACTED,
    examples: [
      "wmsctl logoff 3 5 -s h1.lab.example.com --what-if",
      "wmsctl logoff --all --state disconnected --min-idle 2h --inventory lab.txt",
      'wmsctl logoff --all --user "LAB\\\\student*" --warn "Save your work: you will be logged off in 10 minutes" --grace 10m',
      "wmsctl get -s h1.lab.example.com -o json | wmsctl logoff --stdin --confirm",
    ],
  });
}
