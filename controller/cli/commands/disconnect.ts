/**
 * `wmsctl disconnect`: Disconnect-WmsSession over the fleet (see session-action.ts for what every
 * verb shares).
 */
import type { Command } from "commander";
import type { CliIo } from "../io.js";
import { DISCONNECT_MAY_HAVE_ACTED } from "../report.js";
import { addSessionActionCommand } from "./session-action.js";

/** Adds `disconnect` to the program; `done` receives the exit status. */
export function addDisconnectCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
): void {
  addSessionActionCommand(program, io, done, {
    action: "disconnect",
    name: "disconnect",
    verb: "disconnect",
    description: "disconnect sessions on each host (Disconnect-WmsSession)",
    mayHaveActed: DISCONNECT_MAY_HAVE_ACTED,
    examples: [
      "wmsctl disconnect 3 5 7 -s h1.lab.example.com",
      "wmsctl disconnect --all --state disconnected,idle --min-idle 30m --inventory lab.txt --what-if",
      "wmsctl get -s h1.lab.example.com -o json | wmsctl disconnect --stdin --confirm",
      'wmsctl disconnect --all --state idle --min-idle 30m --warn "Idle sessions end in 5 minutes" --grace 5m',
    ],
  });
}
