/**
 * `wms-console`: with no command, runs the console service; `user …` and `token …` manage the
 * accounts and API tokens in the store of `--data-dir`. Settings come from flags, then
 * `WMSCONSOLE_*` variables, then the `--config` file, then defaults.
 *
 * Exit status: 0 stopped cleanly (or a command succeeded); 1 the console failed while running or
 * could not start (the port is taken); 2 a bad flag, variable, file or value, before anything is
 * opened or bound.
 */
import { Command, CommanderError, Option } from "commander";
import { pino, type Logger } from "pino";
import { readConfigFile } from "../common/settings-sources.js";
import { WMSFLEET_VERSION } from "../common/version.js";
import { addAccountCommands, UsageError } from "./cli/account-commands.js";
import type { ConsoleIo } from "./cli/io.js";
import {
  CONFIG_FILE_VARIABLE,
  ConsoleConfigError,
  DEFAULT_CONSOLE_LISTEN,
  ENVIRONMENT_VARIABLES,
  LOG_LEVELS,
  resolveConsoleConfig,
  resolveStoreConfig,
  settingsFromEnvironment,
  settingsFromFile,
  type ConsoleSettings,
  type LogLevel,
  type SettingSources,
} from "./config/options.js";
import { DEFAULT_AUDIT_DAYS } from "./audit/retention.js";
import { DEFAULT_HISTORY_DAYS } from "./history/retention.js";
import { startConsole } from "./service.js";
import { StoreOpenError, openSqliteStore } from "./store/sqlite-store.js";

/** What the service waits on to stop: resolves with the signal's name. */
export type StopSignal = () => Promise<string>;

/** The process's SIGINT and SIGTERM. */
export const processStopSignal: StopSignal = () =>
  new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });

type RawFlags = Omit<ConsoleSettings, "insecureLoopback"> & {
  config?: string;
  insecureLoopback?: boolean;
};

function buildProgram(io: ConsoleIo): Command {
  const env = (key: keyof ConsoleSettings) => `(env ${ENVIRONMENT_VARIABLES[key]})`;
  return new Command("wms-console")
    .description(
      "The wmsfleet console: the fleet kept live behind a secure JSON API, with accounts, audit and metrics.\n" +
        "With no command it runs the service; `user` and `token` manage the store of --data-dir.\n" +
        "Settings come from flags, then WMSCONSOLE_* environment variables, then the --config file, then defaults.",
    )
    .version(WMSFLEET_VERSION, "-V, --version", "print the version")
    .option(
      "--inventory <file>",
      `hosts to watch, one FQDN a line with an optional ADDRESS:PORT (the wmsctl format); repeatable; reloaded when a file changes and on SIGHUP ${env("inventory")}`,
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--ca <file>", `the CA that signs agent certificates (PEM) ${env("ca")}`)
    .option("--cert <file>", `the console's client certificate towards agents (PEM) ${env("cert")}`)
    .option("--key <file>", `the console's client key (PEM) ${env("key")}`)
    .option("--tls-cert <file>", `the HTTPS certificate (PEM) ${env("tlsCert")}`)
    .option("--tls-key <file>", `the HTTPS private key (PEM) ${env("tlsKey")}`)
    .option(
      "--listen <host:port>",
      `address to serve on; default ${DEFAULT_CONSOLE_LISTEN} ${env("listen")}`,
    )
    .option(
      "--data-dir <dir>",
      `the store's folder (console.db: accounts, tokens, audit trail) ${env("dataDir")}`,
    )
    .option(
      "--history-days <days>",
      `days of session history kept, pruned hourly; default ${DEFAULT_HISTORY_DAYS} ${env("historyDays")}`,
    )
    .option(
      "--audit-days <days>",
      `days of the console's audit trail kept, pruned hourly; default ${DEFAULT_AUDIT_DAYS} ${env("auditDays")}`,
    )
    .option(
      "--insecure-loopback",
      `plain HTTP on loopback addresses only, cookies without Secure: development ${env("insecureLoopback")}`,
    )
    .addOption(
      new Option("--log-level <level>", `log level; default info ${env("logLevel")}`).choices(
        LOG_LEVELS,
      ),
    )
    .option(
      "--config <file>",
      `JSON file whose keys are the flags in camelCase (env ${CONFIG_FILE_VARIABLE})`,
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  wms-console --data-dir /var/lib/wms-console --inventory lab.txt --ca ca.pem --cert console.pem --key console.key \\\n" +
        "              --tls-cert console-https.pem --tls-key console-https.key --listen 0.0.0.0:8443\n" +
        "  wms-console user add alice --role operator --data-dir /var/lib/wms-console\n" +
        "  wms-console token create --user alice --label nightly-report --data-dir /var/lib/wms-console\n" +
        "\nExit status: 0 stopped cleanly or done; 1 failed while running, or could not start; 2 bad configuration or usage.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
}

/** The three sources of settings, the config file read and checked. */
async function sourcesOf(flags: RawFlags, io: ConsoleIo): Promise<SettingSources> {
  const { config, ...settings } = flags;
  const filePath = config ?? io.env[CONFIG_FILE_VARIABLE];
  let file: ConsoleSettings = {};
  if (filePath !== undefined && filePath !== "") {
    const content = await readConfigFile(filePath, (message) => new ConsoleConfigError(message));
    file = settingsFromFile(content, filePath);
  }
  return { flags: settings, env: settingsFromEnvironment(io.env), file, filePath };
}

async function createLogger(level: LogLevel, io: ConsoleIo): Promise<Logger> {
  if (io.stdout.isTTY === true) {
    const { default: pretty } = await import("pino-pretty");
    return pino({ level }, pretty({ destination: 1, colorize: true }));
  }
  return pino({ level, base: { pid: process.pid } }, io.stdout as NodeJS.WritableStream);
}

/** Options of {@link main}. */
export interface MainOptions {
  /** Waits for the service to be asked to stop. @default {@link processStopSignal} */
  readonly stopSignal?: StopSignal;
}

/** Runs `wms-console`; resolves with the exit status. */
export async function main(io: ConsoleIo, options: MainOptions = {}): Promise<number> {
  const program = buildProgram(io);
  let service: Promise<number> | undefined;
  program.action(async () => {
    service = runService(program.opts<RawFlags>(), io, options.stopSignal ?? processStopSignal);
    await service;
  });
  addAccountCommands(program, io, async (command) => {
    const flags = command.optsWithGlobals<RawFlags>();
    const { dataDir } = resolveStoreConfig(await sourcesOf(flags, io));
    try {
      return openSqliteStore({ dataDir });
    } catch (error) {
      if (error instanceof StoreOpenError)
        throw new ConsoleConfigError(`--data-dir ${error.message}`);
      throw error;
    }
  });
  for (const command of program.commands) {
    command.exitOverride();
    command.configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
    for (const sub of command.commands) {
      sub.exitOverride();
      sub.configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
      });
    }
  }
  try {
    await program.parseAsync([...io.argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.code === "commander.help"
        ? 0
        : 2;
    }
    if (error instanceof ConsoleConfigError || error instanceof UsageError) {
      io.stderr.write(`wms-console: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`wms-console: ${(error as Error).message}\n`);
    return 1;
  }
  return service === undefined ? 0 : await service;
}

/** The service: configuration, start, wait for a stop signal, stop. */
async function runService(flags: RawFlags, io: ConsoleIo, stopSignal: StopSignal): Promise<number> {
  const config = resolveConsoleConfig(await sourcesOf(flags, io));
  const logger = await createLogger(config.logLevel, io);
  const stopping = stopSignal();
  let running;
  try {
    running = await startConsole({ config, logger });
  } catch (error) {
    if (error instanceof ConsoleConfigError) throw error;
    logger.fatal({ err: error }, "the console could not start");
    io.stderr.write(`wms-console: could not start: ${(error as Error).message}\n`);
    return 1;
  }
  logger.info(
    { url: running.url, dataDir: config.dataDir, hosts: running.fleet.hosts().length },
    "console serving",
  );
  const onHangUp = () => {
    logger.info({ signal: "SIGHUP" }, "reloading the inventory");
    void running.reload("SIGHUP");
  };
  if (process.platform !== "win32") process.on("SIGHUP", onHangUp);
  const signal = await stopping;
  process.off("SIGHUP", onHangUp);
  logger.info({ signal }, "stopping");
  await running.close();
  logger.info("stopped");
  return 0;
}
