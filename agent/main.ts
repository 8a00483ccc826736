/**
 * `wms-agent`: the command line of the agent daemon. Parses flags, merges them with the
 * environment and a config file, builds the backend, starts the server and turns SIGINT/SIGTERM
 * into a graceful shutdown; SIGHUP reloads what can change at run time (see `config-reload.ts`).
 *
 * Exit status: 0 after a clean drain; 1 when the grace period ran out and calls were cut, or the
 * agent could not start (e.g. the port is taken); 2 for any bad flag, variable, file or value,
 * before anything is bound.
 *
 * A closed standard output or error (`wms-agent --help | head -1`, a log reader that went away) is
 * not an error: see {@link outliveClosedPipe}.
 */
import { randomInt } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Command, CommanderError, Option } from "commander";
import { pino, type Logger } from "pino";
import { startAgent, type Agent } from "./server/agent.js";
import type { ServiceHooks } from "./windows-service/service-hooks.js";
import { ListenError } from "./server/listener.js";
import { openFileAuditSink, type FileAuditSink } from "./audit/audit-file.js";
import { createAccessPolicy } from "./security/authorization.js";
import type { SessionBackend } from "./sessions/backend.js";
import { isLoopbackAddress } from "../common/ip-address.js";
import { createConfigReloader } from "./config/config-reload.js";
import {
  ConfigError,
  ENVIRONMENT_VARIABLES,
  LOG_LEVELS,
  resolveAgentConfig,
  settingsFromEnvironment,
  settingsFromFile,
  splitAllowList,
  type AgentSettings,
  type ResolvedAgentConfig,
} from "./config/options.js";
import { createTlsCredentials } from "./security/tls-credentials.js";
import { hostNameWarning, loadTlsMaterial, type TlsMaterial } from "./security/tls.js";
import { DEFAULT_AGENT_PORT } from "../common/agent-port.js";
import { outliveClosedPipe } from "../common/closed-pipe.js";
import { readConfigFile } from "../common/settings-sources.js";
import { WMSFLEET_VERSION } from "../common/version.js";

/** The side effects of the command, injectable for tests. */
export interface MainIo {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  /** Set when the agent runs as a Windows service (`wms-agent service run`). */
  readonly service?: ServiceHooks | undefined;
}

function buildCommand(io: MainIo): Command {
  const envHelp = (key: keyof AgentSettings) => `(env ${ENVIRONMENT_VARIABLES[key]})`;
  return new Command("wms-agent")
    .description(
      "The wmsfleet agent: lists, watches, disconnects, logs off and messages the user sessions of this Windows MultiPoint Server host over gRPC.\n" +
        "Settings come from flags, then WMSFLEET_* environment variables, then the --config file, then defaults.",
    )
    .version(WMSFLEET_VERSION, "-V, --version", "print the agent version")
    .option(
      "--listen <host:port>",
      `address to listen on; default 0.0.0.0:${DEFAULT_AGENT_PORT}, or localhost:${DEFAULT_AGENT_PORT} with --insecure-loopback ${envHelp("listen")}`,
    )
    .option(
      "--host-fqdn <name>",
      `this host's fully qualified name, checked against each request's expected_host; default: the machine's host name ${envHelp("hostFqdn")}`,
    )
    .addOption(
      new Option(
        "--backend <name>",
        `session backend: wts (Remote Desktop Services; default on Windows) or simulated (default elsewhere) ${envHelp("backend")}`,
      ),
    )
    .option(
      "--sim-fixture <file>",
      `JSON fixture of sessions for the simulated backend; default: a classroom ${envHelp("simFixture")}`,
    )
    .option(
      "--sim-activity",
      `simulated people log on, work, go idle, lock, come back and log off (simulated backend) ${envHelp("simActivity")}`,
    )
    .option(
      "--sim-seed <n>",
      `seed of --sim-activity, to replay a run (an integer 0..4294967295; default random, logged) ${envHelp("simSeed")}`,
    )
    .option(
      "--tls-cert <file>",
      `the agent's certificate (PEM) for mutual TLS ${envHelp("tlsCert")}`,
    )
    .option("--tls-key <file>", `the agent's private key (PEM) ${envHelp("tlsKey")}`)
    .option(
      "--tls-ca <file>",
      `the private CA that signs client certificates (PEM) ${envHelp("tlsCa")}`,
    )
    .option(
      "--allow <identity=role>",
      `give a client certificate's name (subject CN, or a DNS, email or URI SAN) the role reader (ListSessions, WatchSessions, GetAgentInfo, health, reflection) or operator (everything: also disconnect, log off, message); repeatable, or a comma list ${envHelp("allow")}`,
      (value: string, previous: string[] | undefined) => [
        ...(previous ?? []),
        ...splitAllowList(value),
      ],
    )
    .option(
      "--insecure-loopback",
      `no TLS: listen on loopback addresses only, for development and local tools ${envHelp("insecureLoopback")}`,
    )
    .option(
      "--audit-log <file>",
      `append JSON lines for every Disconnect, DisconnectAll, Logoff, LogoffAll and SendMessage: an intent before acting (nothing is done if it cannot be written), the result before answering ${envHelp("auditLog")}`,
    )
    .addOption(
      new Option("--log-level <level>", `log level ${envHelp("logLevel")}`).choices(LOG_LEVELS),
    )
    .option(
      "--shutdown-grace <seconds>",
      `seconds in-flight calls get to finish on SIGINT/SIGTERM; default 10 ${envHelp("shutdownGrace")}`,
    )
    .option(
      "--config <file>",
      "JSON config file whose keys are the flags in camelCase (env WMSFLEET_CONFIG)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        `  wms-agent --insecure-loopback                       # simulated classroom on localhost:${DEFAULT_AGENT_PORT}\n` +
        "  wms-agent --tls-cert agent.pem --tls-key agent.key --tls-ca ca.pem --allow ops=operator\n" +
        "\nSignals: SIGINT/SIGTERM drain in-flight calls, then stop. SIGHUP reloads the allow-list, the TLS files, the audit log (reopened), the log level and the grace period from the same flags, variables and config file; a bad reload changes nothing.\n" +
        "\nOn Windows: wms-agent service install|uninstall|start|stop|status (see wms-agent service --help).\n" +
        "\nExit status: 0 stopped after draining; 1 calls were cut at the end of the grace period, or start-up failed; 2 bad configuration.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
}

/** Parses and resolves the configuration; `number` is an exit status for --help/--version. */
export async function loadConfig(io: MainIo): Promise<ResolvedAgentConfig | number> {
  const command = buildCommand(io);
  try {
    command.parse([...io.argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : 2;
    }
    throw error;
  }
  const raw = command.opts<AgentSettings & { config?: string; insecureLoopback?: boolean }>();
  const { config, ...flags } = raw;
  const filePath = config ?? io.env["WMSFLEET_CONFIG"];
  let file: AgentSettings = {};
  if (filePath !== undefined && filePath !== "") {
    const content = await readConfigFile(filePath, (message) => new ConfigError(message));
    file = settingsFromFile(content, filePath);
  }
  return resolveAgentConfig({ flags, env: settingsFromEnvironment(io.env), file, filePath });
}

/** Refuses a non-loopback listen address under --insecure-loopback (names are resolved). */
export async function checkLoopbackListen(host: string): Promise<void> {
  const addresses =
    isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  const outside = addresses.filter((address) => !isLoopbackAddress(address));
  if (addresses.length === 0 || outside.length > 0) {
    throw new ConfigError(
      `--insecure-loopback listens on loopback addresses only, but "${host}" is ${outside.join(", ") || "not an address"}; use --listen 127.0.0.1:PORT or [::1]:PORT, or mutual TLS`,
    );
  }
}

async function createBackend(config: ResolvedAgentConfig): Promise<SessionBackend> {
  if (config.backend === "wts") {
    const { createWtsBackend } = await import("./backends/wts.js");
    return createWtsBackend();
  }
  const { createSimulatedBackend } = await import("./backends/simulated.js");
  const { loadSimFixture } = await import("./backends/sim-fixture.js");
  const fixture =
    config.simFixture === undefined ? undefined : await loadSimFixture(config.simFixture);
  const activity =
    config.simActivity === undefined
      ? undefined
      : { seed: config.simActivity.seed ?? randomInt(0x1_0000_0000) };
  return createSimulatedBackend({
    ...(fixture === undefined ? {} : { fixture }),
    ...(activity === undefined ? {} : { activity }),
  });
}

/** The seed of the simulated backend's activity model, when it has one. */
function simulatedActivitySeed(backend: SessionBackend): number | undefined {
  const activity = (backend as { activity?: { seed?: unknown } }).activity;
  return typeof activity?.seed === "number" ? activity.seed : undefined;
}

async function createLogger(config: ResolvedAgentConfig, io: MainIo): Promise<Logger> {
  if (io.stdout.isTTY === true) {
    const { default: pretty } = await import("pino-pretty");
    return pino({ level: config.logLevel }, pretty({ destination: 1, colorize: true }));
  }
  return pino({ level: config.logLevel, base: { pid: process.pid } }, io.stdout);
}

/** Runs the agent until a signal stops it; resolves to the exit status. */
export async function main(io: MainIo): Promise<number> {
  outliveClosedPipe(io.stdout);
  outliveClosedPipe(io.stderr);
  if (io.argv[0] === "service") {
    // `wms-agent service install|uninstall|start|stop|status|run`: the Windows service (sc.exe).
    const { runServiceCli } = await import("./windows-service/service-command.js");
    return runServiceCli(io, (argv, out) =>
      main({ ...io, argv, stdout: out.stdout, stderr: out.stderr, service: out.service }),
    );
  }
  let config: ResolvedAgentConfig;
  let backend: SessionBackend | undefined;
  let audit: FileAuditSink | undefined;
  let tls: TlsMaterial | undefined;
  let logger: Logger;
  try {
    const loaded = await loadConfig(io);
    if (typeof loaded === "number") return loaded;
    config = loaded;
    logger = await createLogger(config, io);
    if (config.tls !== undefined) tls = await loadTlsMaterial(config.tls);
    if (config.insecureLoopback) await checkLoopbackListen(config.listen.host);
    backend = await createBackend(config);
    if (config.auditLog !== undefined) {
      try {
        // The logger hears of a file that was deleted or moved away and reopened, or a repaired write.
        audit = await openFileAuditSink(config.auditLog, { logger });
      } catch (error) {
        throw new ConfigError(`--audit-log ${config.auditLog}: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    await backend?.close();
    io.stderr.write(`wms-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const { service } = io;
  if (service !== undefined && stopAsked(service)) {
    // The SCM asked for a stop while the agent started: it stops without serving.
    logger.info(
      { reason: stopReason(service) },
      "stopped before serving, as the service was asked",
    );
    await backend.close();
    await audit?.close();
    logger.flush();
    return 0;
  }
  if (service !== undefined) {
    const problem = service.setStopGrace(config.shutdownGraceMs);
    logger.info(
      {
        threadPoolSize: io.env["UV_THREADPOOL_SIZE"] ?? "4 (libuv's default)",
        preshutdownTimeout: problem ?? "the grace period and a margin",
      },
      "running as a Windows service",
    );
  }
  const activitySeed =
    config.simActivity === undefined ? undefined : simulatedActivitySeed(backend);
  if (activitySeed !== undefined) {
    logger.info({ seed: activitySeed }, "simulated activity on (replay it with --sim-seed)");
  }
  // Said on standard error, so that an operator looking for the logs learns where they went.
  const noteLogLost = (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") {
      io.stderr.write("wms-agent: standard output closed (EPIPE); logs are lost, still serving\n");
    }
  };
  io.stdout.once("error", noteLogLost);
  const credentials = tls === undefined ? undefined : createTlsCredentials(tls);
  const policy = tls === undefined ? undefined : createAccessPolicy(config.allow);
  if (tls !== undefined) {
    logger.info(
      {
        certificate: tls.summary.subject,
        subjectAltName: tls.summary.subjectAltName,
        notAfter: tls.summary.notAfter,
        fingerprint: tls.summary.fingerprint256,
        clientCa: tls.summary.caSubjects,
        allow: [...config.allow].map(([identity, role]) => `${identity}=${role}`),
      },
      "mutual TLS",
    );
    for (const warning of tls.warnings) logger.warn(warning);
    const mismatch = hostNameWarning(tls, config.hostFqdn);
    if (mismatch !== undefined) logger.warn(mismatch);
    if (config.allow.size === 0) {
      logger.warn(
        "no --allow entries: every call will be refused with PERMISSION_DENIED; add e.g. --allow ops=operator",
      );
    }
  }
  let graceMs = config.shutdownGraceMs;
  let agent: Agent;
  try {
    agent = await startAgent({
      hostFqdn: config.hostFqdn,
      backend,
      listen: [config.listen.text],
      logger,
      graceMs,
      ...(credentials === undefined ? {} : { credentials: credentials.credentials }),
      ...(policy === undefined ? {} : { authorize: policy.authorize }),
      ...(audit === undefined ? {} : { audit }),
    });
  } catch (error) {
    // An address that cannot be bound is said in one line, as for a bad flag; anything else is
    // unexpected and its stack goes to the log.
    if (!(error instanceof ListenError)) logger.fatal({ err: error }, "agent could not start");
    io.stderr.write(`wms-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    await audit?.close();
    return 1;
  }

  const reloader = createConfigReloader(config, {
    load: async () => {
      const loaded = await loadConfig(io);
      if (typeof loaded === "number") throw new ConfigError("the command line asks for no agent");
      return loaded;
    },
    policy,
    tls: credentials,
    audit,
    logger,
    setGraceMs: (ms) => {
      graceMs = ms;
      const problem = service?.setStopGrace(ms);
      if (problem !== undefined)
        logger.warn({ problem }, "the preshutdown timeout was not changed");
    },
  });
  const reload = () => {
    logger.info({ signal: "SIGHUP" }, "reloading the configuration");
    void reloader.reload();
  };
  process.on("SIGHUP", reload);

  // The SCM's session changes (a lock, say) are news for the watch, through the backend.
  const unsubscribeSessions = service?.onSessionChange((change) => {
    logger.debug({ change }, "session change from the Service Control Manager");
    backend.reportSessionChange?.(change);
  });
  let stopSignalListener: (() => void) | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const outcome = await new Promise<"drained" | "forced">((resolve) => {
    let stopping = false;
    const stop = (why: Record<string, unknown>) => {
      if (stopping) return;
      stopping = true;
      logger.info({ ...why, graceMs }, "shutting down");
      service?.draining(graceMs);
      void agent.shutdown({ graceMs }).then(resolve);
    };
    onSignal = (signal: NodeJS.Signals) => stop({ signal });
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    if (service !== undefined) {
      stopSignalListener = () => stop({ service: stopReason(service) });
      // A stop that came while the agent bound its ports is honoured now.
      if (stopAsked(service)) stopSignalListener();
      else service.stopSignal.addEventListener("abort", stopSignalListener, { once: true });
      if (!stopping) service.serving();
    }
  });
  if (stopSignalListener !== undefined) {
    service?.stopSignal.removeEventListener("abort", stopSignalListener);
  }
  unsubscribeSessions?.();
  if (onSignal !== undefined) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  process.off("SIGHUP", reload);
  io.stdout.off("error", noteLogLost);
  await audit?.close();
  if (outcome === "forced" && service !== undefined && stopAsked(service)) {
    // The Service Control Manager asked for this stop: success, or its failure actions would
    // restart the agent. The calls cut are in the log above.
    logger.info(
      { reason: stopReason(service) },
      "stopped as the service was asked, with calls cut at the end of the grace period: exit 0",
    );
    logger.flush();
    return 0;
  }
  logger.flush();
  return outcome === "drained" ? 0 : 1;
}

/** Whether the SCM asked for a stop (a function: the signal changes behind TypeScript's back). */
function stopAsked(service: ServiceHooks): boolean {
  return service.stopSignal.aborted;
}

function stopReason(service: ServiceHooks): string {
  const reason: unknown = service.stopSignal.reason;
  return reason instanceof Error ? reason.message : String(reason);
}
