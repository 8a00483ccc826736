/**
 * The flags every `wmsctl` command shares (targets, fan-out, output, credentials) and what they
 * turn into: the targets, the controller options and the output format. All input is checked
 * here, before anything is sent.
 */
import { isIP } from "node:net";
import { Option, type Command } from "commander";
import { DEFAULT_AGENT_PORT } from "../../common/agent-port.js";
import {
  DEFAULT_RETRIES,
  DEFAULT_THROTTLE,
  DEFAULT_TIMEOUT_MS,
  type ControllerOptions,
} from "../controller-options.js";
import { TargetError, isLoopbackIp } from "../host-name.js";
import { readInventory, resolveTargets, type Target, type TargetSpec } from "../targets.js";
import { currentWindowsSessionId } from "../windows-session.js";
import { channelCredentials, type CredentialFiles } from "./credentials.js";
import type { CliIo } from "./io.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./printer.js";
import { UsageError } from "./usage-error.js";
import { TIMEOUT_FLAG, parseCount, parseDurationMs, parseSessionId } from "./values.js";

/** The shared flags as commander parses them. */
export interface FleetFlags {
  readonly server?: string[];
  readonly inventory?: string[];
  readonly resolve?: string[];
  readonly port?: string;
  readonly throttle?: string;
  readonly timeout?: string;
  readonly retries?: string;
  readonly output?: OutputFormat;
  readonly rerunFile?: string;
  readonly insecureLoopback?: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly configDir?: string;
  readonly progress?: boolean;
  readonly verbose?: boolean;
}

/** What the shared flags resolve to. */
export interface Fleet {
  /** Where names are dialled (inventories read, `--resolve`, `--port`). */
  readonly spec: TargetSpec;
  /** The hosts named by `-s`/`--inventory`, or `localhost`. */
  readonly targets: Target[];
  readonly controllerOptions: ControllerOptions;
  readonly format: OutputFormat;
  readonly progress: boolean;
  /** `--verbose`: each host's status, attempts and time on standard error as it answers. */
  readonly verbose: boolean;
  readonly rerunFile: string | undefined;
  readonly insecureLoopback: boolean;
  /** The credential files used, each with where its name came from; none under `--insecure-loopback`. */
  readonly credentialFiles: CredentialFiles | undefined;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * Adds the shared flags to a command. `message` gives its own `timeoutHelp`: there `--timeout`
 * is how long the message stays up (DESIGN section 8), and the command reads it itself.
 */
export function addFleetOptions(
  command: Command,
  options: { readonly timeoutHelp?: string } = {},
): Command {
  return (
    command
      .option(
        "-s, --server <fqdn>",
        "target host by FQDN; repeatable, comma lists (default localhost)",
        collect,
      )
      .addOption(
        new Option(
          "--computer-name <fqdn>",
          "alias of --server (PowerShell's -ComputerName)",
        ).argParser(collect),
      )
      .option(
        "--inventory <file>",
        "file of target hosts: one FQDN a line, optional ADDRESS:PORT, # comments; repeatable",
        collect,
      )
      .option(
        "--resolve <fqdn=address:port>",
        "dial FQDN at ADDRESS:PORT (TLS still checks the FQDN); repeatable",
        collect,
      )
      // The controller library fills these defaults (one place each); help shows them.
      .option(
        "--port <port>",
        `agent port when no address is given (default: ${DEFAULT_AGENT_PORT})`,
      )
      .option("--throttle <n>", `calls in flight at once (default: ${DEFAULT_THROTTLE})`)
      .option(
        "--timeout <seconds>",
        options.timeoutHelp ??
          `deadline per host, retries included: seconds, or a duration (90s, 2m) (default: ${DEFAULT_TIMEOUT_MS / 1000})`,
      )
      .option(
        "--retries <n>",
        `retries after UNAVAILABLE, with jittered backoff (default: ${DEFAULT_RETRIES})`,
      )
      .addOption(
        new Option(
          "-o, --output <format>",
          "output format (default: table on a terminal, json otherwise)",
        ).choices(OUTPUT_FORMATS),
      )
      .option(
        "--rerun-file <file>",
        "write the hosts that did not succeed, for --inventory next time",
      )
      .option("--no-progress", "no progress line on standard error")
      .option(
        "--verbose",
        "report each host (status, attempts, time) on standard error as it answers",
      )
      .option(
        "--insecure-loopback",
        "no TLS: talk to --insecure-loopback agents, on loopback addresses only",
      )
      .option("--ca <file>", "CA certificate (PEM) that signs agent certificates (env WMSCTL_CA)")
      .option("--cert <file>", "client certificate (PEM) (env WMSCTL_CERT)")
      .option("--key <file>", "client private key (PEM) (env WMSCTL_KEY)")
      .option(
        "--config-dir <dir>",
        "where ca.pem, client.pem and client.key are when not given above (env WMSCTL_CONFIG_DIR; default: the nearest .wmsctl/ upwards, else the user's config dir)",
      )
  );
}

/** Reads this process's Windows session; {@link currentWindowsSessionId} is the real one. */
export type WindowsSessionLookup = () => Promise<number>;

/**
 * The caller's session on this machine, sent as `caller_session_id` to targets that are this
 * machine (DESIGN section 3, rule 4). On Windows it is `ProcessIdToSessionId` of wmsctl itself;
 * elsewhere the simulated backend's convention, `WMSFLEET_SIM_SESSION` (none when unset).
 *
 * When Windows cannot say (koffi or kernel32 does not load, the call fails), wmsctl warns on
 * standard error and goes on without it rather than refusing every command, remote ones too:
 * rule 4 only adds to rule 3, by which an agent on this machine protects the session of its
 * loopback caller by itself.
 * @throws UsageError when `WMSFLEET_SIM_SESSION` is not a session id.
 */
export async function callerSessionId(
  io: CliIo,
  windowsSession: WindowsSessionLookup = currentWindowsSessionId,
): Promise<number | undefined> {
  if (io.platform === "win32") {
    try {
      return await windowsSession();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      io.stderr.write(
        `wmsctl: warning: cannot tell this process's Windows session (${reason}); ` +
          "caller_session_id is not sent, the agent still protects its loopback caller's session\n",
      );
      return undefined;
    }
  }
  const value = io.env["WMSFLEET_SIM_SESSION"];
  return value === undefined || value === ""
    ? undefined
    : parseSessionId(value, "WMSFLEET_SIM_SESSION");
}

/** Resolves the shared flags. @throws UsageError on any bad value, file or name. */
export async function prepareFleet(
  flags: FleetFlags & { computerName?: string[] },
  io: CliIo,
): Promise<Fleet> {
  try {
    const inventories = [];
    for (const path of flags.inventory ?? [])
      inventories.push(await readInventory(path, io.signal));
    const spec: TargetSpec = {
      servers: [...(flags.server ?? []), ...(flags.computerName ?? [])],
      inventories,
      resolve: flags.resolve ?? [],
      ...(flags.port === undefined
        ? {}
        : { defaultPort: parseCount(flags.port, "--port", 1, 65535) }),
    };
    const targets = resolveTargets(spec);
    const callerSession = await callerSessionId(io);
    const tls = await channelCredentials(flags, io);
    const controllerOptions: ControllerOptions = {
      credentials: tls.credentials,
      ...(flags.throttle === undefined
        ? {}
        : { throttle: parseCount(flags.throttle, "--throttle", 1, 100_000) }),
      ...(flags.timeout === undefined
        ? {}
        : { timeoutMs: parseDurationMs(flags.timeout, "--timeout", TIMEOUT_FLAG) }),
      ...(flags.retries === undefined
        ? {}
        : { retries: parseCount(flags.retries, "--retries", 0, 100) }),
      ...(callerSession === undefined ? {} : { callerSessionId: callerSession }),
    };
    return {
      spec,
      targets,
      controllerOptions,
      format: flags.output ?? (io.stdout.isTTY === true ? "table" : "json"),
      progress: flags.progress !== false,
      verbose: flags.verbose === true,
      rerunFile: flags.rerunFile,
      insecureLoopback: flags.insecureLoopback === true,
      credentialFiles: tls.files,
    };
  } catch (error) {
    if (error instanceof TargetError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * The targets of given names, dialled as the fleet's inventories and `--resolve` say; none for no
 * names (never the default `localhost`).
 */
export function targetsFor(names: readonly string[], spec: TargetSpec): Target[] {
  if (names.length === 0) return [];
  const wanted = new Set(names);
  return resolveTargets({
    ...spec,
    servers: [...wanted],
    inventories: (spec.inventories ?? []).map((list) =>
      list.filter((e) => wanted.has(e.fqdn) && e.address !== undefined),
    ),
  });
}

/**
 * `--insecure-loopback`: every target must be dialled at a loopback address (an override that is
 * one, or a name that resolves only to loopback addresses).
 * @throws UsageError naming the first target that is not.
 */
export async function checkLoopbackTargets(targets: readonly Target[], io: CliIo): Promise<void> {
  for (const target of targets) {
    const host = target.address.host;
    let addresses: string[];
    try {
      addresses = isIP(host) !== 0 ? [host] : await io.lookupAll(host);
    } catch (error) {
      throw new UsageError(
        `--insecure-loopback: cannot resolve ${host}: ${(error as Error).message}`,
      );
    }
    const outside = addresses.filter((address) => !isLoopbackIp(address));
    if (addresses.length === 0 || outside.length > 0) {
      throw new UsageError(
        `--insecure-loopback talks to loopback addresses only, but ${target.fqdn} is dialled at ${outside.join(", ") || host}; ` +
          `use --resolve ${target.fqdn}=127.0.0.1:PORT, or mutual TLS`,
      );
    }
  }
}
