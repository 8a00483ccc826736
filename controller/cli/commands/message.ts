/**
 * `wmsctl message TEXT`: a message box in sessions across the fleet, as `msg` and
 * Send-RDUserMessage show it (SendMessage): by id, `--all` with its filter, or `--stdin`; with
 * `--title`, `--buttons`, `--timeout` (how long it stays up) and `--wait` (for the users'
 * answers), and `--what-if`.
 */
import { Option, type Command } from "commander";
import { MessageButtons } from "../../../proto/gen/wms/v1/wms_session.js";
import { MIN_MESSAGE_TIMEOUT_MS, messageFields, type MessageOptions } from "../../message.js";
import { addFleetOptions, prepareFleet, type FleetFlags } from "../fleet-flags.js";
import type { CliIo } from "../io.js";
import { MESSAGE_MAY_HAVE_ACTED } from "../report.js";
import { actionReports, printReports, withController } from "../run.js";
import { addSelectionOptions, planOf, type SelectionFlags } from "../selection.js";
import { UsageError } from "../usage-error.js";
import { TIMEOUT_FLAG, parseDurationMs } from "../values.js";

/** The `--buttons` choices, as `MB_*` styles. */
const BUTTONS: Readonly<Record<string, MessageButtons>> = {
  ok: MessageButtons.OK,
  "ok-cancel": MessageButtons.OK_CANCEL,
  "yes-no": MessageButtons.YES_NO,
  "yes-no-cancel": MessageButtons.YES_NO_CANCEL,
  "retry-cancel": MessageButtons.RETRY_CANCEL,
  "abort-retry-ignore": MessageButtons.ABORT_RETRY_IGNORE,
};

interface MessageFlags extends FleetFlags, SelectionFlags {
  readonly title?: string;
  readonly buttons?: string;
  readonly wait?: boolean;
  readonly whatIf?: boolean;
}

/**
 * The message of the flags, checked as the agent checks it.
 * @throws UsageError naming the flag at fault.
 */
function messageOf(
  text: string,
  timeout: string | undefined,
  flags: MessageFlags,
  signal: AbortSignal,
): MessageOptions {
  let timeoutMs: number | undefined;
  if (timeout !== undefined) {
    timeoutMs = parseDurationMs(timeout, "--timeout", TIMEOUT_FLAG);
    if (timeoutMs < MIN_MESSAGE_TIMEOUT_MS) {
      throw new UsageError(`--timeout: "${timeout}" is less than the 1 second a message stays up`);
    }
  }
  if (flags.wait === true && timeoutMs === undefined) {
    throw new UsageError(
      "--wait needs --timeout: how long the message stays up, and so how long to wait for answers",
    );
  }
  const message: MessageOptions = {
    text,
    ...(flags.title === undefined ? {} : { title: flags.title }),
    buttons: BUTTONS[flags.buttons ?? "ok"] ?? MessageButtons.OK,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    wait: flags.wait === true,
    whatIf: flags.whatIf === true,
    signal,
  };
  try {
    messageFields(message);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return message;
}

/** Adds `message` to the program; `done` receives the exit status. */
export function addMessageCommand(
  program: Command,
  io: CliIo,
  done: (status: number) => void,
): void {
  addFleetOptions(
    addSelectionOptions(
      program
        .command("message")
        .description("show a message box in sessions on each host (msg, Send-RDUserMessage)")
        .argument("<text>", "the message, 1 to 4096 characters")
        .argument("[session-ids...]", "the sessions to show it in (uint32)"),
      "message",
    )
      .option(
        "--title <title>",
        'the title, at most 256 characters (default "Message from your administrator")',
      )
      .addOption(
        new Option("--buttons <buttons>", "the buttons of the box")
          .choices(Object.keys(BUTTONS))
          .default("ok"),
      )
      .option(
        "--wait",
        "wait for each user's answer (or the --timeout); the answers are in the RESPONSE column",
      )
      .option("--what-if", "show who would get the message; show nothing"),
    {
      timeoutHelp:
        "how long the message stays up before it closes by itself (seconds, or 90s, 5m, 1h; at most 24h); default: until the user closes it. With --wait, each host's deadline is this plus 10 s",
    },
  )
    .addHelpText(
      "after",
      "\nSessions nobody is logged on to, the services session and listeners are not messaged: each\n" +
        "gets NOT_DISCONNECTABLE with the reason (with --all they are skipped, not failures).\n" +
        "Without --wait the call returns once each box is shown (RESPONSE NOT_WAITED).\n" +
        "\nExamples:\n" +
        '  wmsctl message "The lab closes in 10 minutes" --all -s h1.lab.example.com\n' +
        '  wmsctl message "Save your work now" --all --state active --inventory lab.txt --title "IT"\n' +
        '  wmsctl message "May I log you off?" 5 --buttons yes-no --wait --timeout 2m\n' +
        "\nExit status: 0 all shown (or would be); 1 a session or host failed; 2 bad input, nothing\n" +
        "sent; 3 only unreachable or timed-out hosts; 130 Ctrl-C; 143 SIGTERM.",
    )
    .action(async (text: string, idArgs: string[], flags: MessageFlags) => {
      // --timeout belongs to the message here; each host's deadline is the default one (plus
      // the message's timeout with --wait: the library adds it).
      const { timeout, ...fleetFlags } = flags;
      const message = messageOf(text, timeout, flags, io.signal);
      const fleet = await prepareFleet(fleetFlags, io);
      const plan = await planOf(idArgs, flags, fleet, io);
      done(
        await withController(fleet, plan.targets, io, (controller) =>
          printReports(
            io,
            fleet,
            plan.targets,
            actionReports(controller.sendMessage(plan.targets, plan.selection, message)),
            { kind: "results", skips: plan.skips, mayHaveActed: MESSAGE_MAY_HAVE_ACTED },
          ),
        ),
      );
    });
}
