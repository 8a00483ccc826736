/**
 * The agent's configuration: flags, `WMSFLEET_*` environment variables and a JSON config file,
 * merged with the precedence flags > environment > file > defaults, then validated into one
 * resolved form. Every bad value is a {@link ConfigError} naming where it came from.
 */
import { parseBoolean, parseListen } from "../../common/config-values.js";
import {
  configFileEntries,
  parseLogLevel,
  settingPicker,
  settingsFromVariables,
  splitList,
  type LogLevel,
  type SettingSources as Sources,
} from "../../common/settings-sources.js";
import { hostname } from "node:os";
import { DEFAULT_AGENT_PORT } from "../../common/agent-port.js";
import { canonicalHostName, hostNameProblem } from "../../common/host-name.js";
import type { BackendName } from "../sessions/backend.js";

/** A configuration value that cannot be used; the agent exits with status 2 before binding. */
export class ConfigError extends TypeError {
  override readonly name = "ConfigError";
}

/** The roles of DESIGN section 5. */
export type Role = "reader" | "operator";

export { LOG_LEVELS, type LogLevel } from "../../common/settings-sources.js";

/** The agent's settings as given (flags, environment or file); every field optional. */
export interface AgentSettings {
  /** `HOST:PORT` to listen on. @default "0.0.0.0:50061"; "localhost:50061" with `insecureLoopback` */
  listen?: string;
  /** @default the machine's host name, lowercased */
  hostFqdn?: string;
  /** @default "wts" on Windows, "simulated" elsewhere */
  backend?: string;
  /** A JSON fixture for the simulated backend. @default the shipped classroom */
  simFixture?: string;
  /** Simulated people log on, work, lock, come back and log off. @default false */
  simActivity?: boolean | string;
  /** Seeds the simulated activity, to replay it (a uint32). @default a random seed, logged */
  simSeed?: number | string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  /** `IDENTITY=ROLE` entries. @default [] */
  allow?: string[];
  /** Run without TLS, on loopback addresses only. @default false */
  insecureLoopback?: boolean | string;
  /** A JSON-lines file that records every mutating call (disconnect, log off, message). */
  auditLog?: string;
  /** @default "info" */
  logLevel?: string;
  /** Seconds in-flight calls get to finish on SIGINT/SIGTERM. @default 10 */
  shutdownGrace?: number | string;
}

/** The configuration the agent runs with. */
export interface ResolvedAgentConfig {
  readonly listen: { readonly host: string; readonly port: number; readonly text: string };
  readonly hostFqdn: string;
  readonly backend: BackendName;
  readonly simFixture: string | undefined;
  /** The simulated activity model, when on; `seed` undefined: pick one (and log it). */
  readonly simActivity: { readonly seed: number | undefined } | undefined;
  readonly tls: { readonly cert: string; readonly key: string; readonly ca: string } | undefined;
  readonly allow: ReadonlyMap<string, Role>;
  readonly insecureLoopback: boolean;
  readonly auditLog: string | undefined;
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
}

/** Each setting's environment variable. */
export const ENVIRONMENT_VARIABLES: Readonly<Record<keyof AgentSettings, string>> = {
  listen: "WMSFLEET_LISTEN",
  hostFqdn: "WMSFLEET_HOST_FQDN",
  backend: "WMSFLEET_BACKEND",
  simFixture: "WMSFLEET_SIM_FIXTURE",
  simActivity: "WMSFLEET_SIM_ACTIVITY",
  simSeed: "WMSFLEET_SIM_SEED",
  tlsCert: "WMSFLEET_TLS_CERT",
  tlsKey: "WMSFLEET_TLS_KEY",
  tlsCa: "WMSFLEET_TLS_CA",
  allow: "WMSFLEET_ALLOW",
  insecureLoopback: "WMSFLEET_INSECURE_LOOPBACK",
  auditLog: "WMSFLEET_AUDIT_LOG",
  logLevel: "WMSFLEET_LOG_LEVEL",
  shutdownGrace: "WMSFLEET_SHUTDOWN_GRACE",
};

const SETTING_KEYS = Object.keys(ENVIRONMENT_VARIABLES) as (keyof AgentSettings)[];

/**
 * Splits a comma list of `IDENTITY=ROLE` entries (`--allow` and `WMSFLEET_ALLOW` take them):
 * trimmed, empty entries dropped. Each entry is then checked by {@link parseAllow}, so a list
 * that is not one (`eve=operator,mon`) is refused rather than read as one odd identity. An
 * identity that itself holds a comma (a subject CN such as `Smith, J.`) goes in the config
 * file's `allow` array, which is not split.
 */
export function splitAllowList(text: string): string[] {
  return splitList(text);
}

/** Reads the settings given by `WMSFLEET_*` variables (`WMSFLEET_ALLOW` is comma-separated). */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv): AgentSettings {
  return settingsFromVariables<AgentSettings>(env, ENVIRONMENT_VARIABLES, ["allow"]);
}

/**
 * Checks the parsed content of a config file: an object whose keys are setting names (the flags
 * in camelCase, e.g. `hostFqdn`), each of the right type.
 */
export function settingsFromFile(content: unknown, path: string): AgentSettings {
  const settings: AgentSettings = {};
  const refuse = (message: string) => new ConfigError(message);
  for (const [name, value] of configFileEntries(content, path, SETTING_KEYS, refuse)) {
    if (name === "allow") {
      if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
        throw new ConfigError(`${path}: "allow" must be an array of "IDENTITY=ROLE" strings`);
      }
      settings.allow = value;
    } else if (name === "insecureLoopback" || name === "simActivity") {
      if (typeof value !== "boolean") {
        throw new ConfigError(`${path}: "${name}" must be true or false`);
      }
      settings[name] = value;
    } else if (name === "simSeed") {
      if (typeof value !== "number") {
        throw new ConfigError(`${path}: "simSeed" must be a number (an integer 0..4294967295)`);
      }
      settings.simSeed = value;
    } else if (name === "shutdownGrace") {
      if (typeof value !== "number") {
        throw new ConfigError(`${path}: "shutdownGrace" must be a number of seconds`);
      }
      settings.shutdownGrace = value;
    } else {
      if (typeof value !== "string") {
        throw new ConfigError(`${path}: "${name}" must be a string`);
      }
      settings[name] = value;
    }
  }
  return settings;
}

/** Where each source of settings comes from, for error messages. */
export type SettingSources = Sources<AgentSettings>;

/**
 * Merges flags > environment > file > defaults and validates the result.
 * @throws ConfigError naming the flag, variable or file entry at fault.
 */
export function resolveAgentConfig(
  sources: SettingSources,
  platform: NodeJS.Platform = process.platform,
  machineHostName: string = hostname(),
): ResolvedAgentConfig {
  const pick = settingPicker(sources, ENVIRONMENT_VARIABLES);

  const insecureSetting = pick("insecureLoopback");
  const insecureLoopback =
    insecureSetting === undefined
      ? false
      : parseBoolean(
          insecureSetting.value,
          insecureSetting.source,
          (message) => new ConfigError(message),
        );

  const listenSetting = pick("listen");
  const listen = parseListen(
    listenSetting?.value ??
      (insecureLoopback ? `localhost:${DEFAULT_AGENT_PORT}` : `0.0.0.0:${DEFAULT_AGENT_PORT}`),
    listenSetting?.source ?? "default --listen",
    DEFAULT_AGENT_PORT,
    (message) => new ConfigError(message),
  );

  const hostSetting = pick("hostFqdn");
  const hostFqdn = parseHostName(
    hostSetting?.value ?? machineHostName,
    hostSetting?.source ?? "the machine's host name (set --host-fqdn)",
  );

  const backendSetting = pick("backend");
  const backendText = backendSetting?.value ?? (platform === "win32" ? "wts" : "simulated");
  if (backendText !== "wts" && backendText !== "simulated") {
    throw new ConfigError(
      `${backendSetting?.source ?? "--backend"}: "${backendText}" is not a backend (wts, simulated)`,
    );
  }
  if (backendText === "wts" && platform !== "win32") {
    throw new ConfigError(
      `${backendSetting?.source ?? "--backend"}: the wts backend needs Windows (Remote Desktop Services); use --backend simulated on ${platform}`,
    );
  }
  const simFixture = pick("simFixture");
  if (simFixture !== undefined && backendText !== "simulated") {
    throw new ConfigError(`${simFixture.source}: a fixture only applies to --backend simulated`);
  }
  const activitySetting = pick("simActivity");
  const activity =
    activitySetting !== undefined &&
    parseBoolean(
      activitySetting.value,
      activitySetting.source,
      (message) => new ConfigError(message),
    );
  if (activity && backendText !== "simulated") {
    throw new ConfigError(
      `${activitySetting?.source ?? "--sim-activity"}: simulated activity only applies to --backend simulated`,
    );
  }
  const seedSetting = pick("simSeed");
  let seed: number | undefined;
  if (seedSetting !== undefined) {
    seed = Number(seedSetting.value);
    if (
      String(seedSetting.value).trim() === "" ||
      !Number.isSafeInteger(seed) ||
      seed < 0 ||
      seed > 0xffffffff
    ) {
      throw new ConfigError(
        `${seedSetting.source}: "${String(seedSetting.value)}" is not a seed (an integer 0..4294967295)`,
      );
    }
    if (!activity) {
      throw new ConfigError(
        `${seedSetting.source}: a seed only applies with --sim-activity (it seeds the simulated activity)`,
      );
    }
  }

  const tlsCert = pick("tlsCert");
  const tlsKey = pick("tlsKey");
  const tlsCa = pick("tlsCa");
  const tlsGiven = [tlsCert, tlsKey, tlsCa].filter((s) => s !== undefined);
  let tls: ResolvedAgentConfig["tls"];
  if (tlsGiven.length > 0) {
    if (insecureLoopback) {
      throw new ConfigError(
        `${tlsGiven[0]?.source ?? "--tls-cert"} and ${insecureSetting?.source ?? "--insecure-loopback"} exclude each other: choose mutual TLS or insecure loopback`,
      );
    }
    if (tlsCert === undefined || tlsKey === undefined || tlsCa === undefined) {
      throw new ConfigError("mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca");
    }
    tls = { cert: tlsCert.value, key: tlsKey.value, ca: tlsCa.value };
  } else if (!insecureLoopback) {
    throw new ConfigError(
      "no transport security configured: give --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure-loopback to listen without TLS on loopback addresses only",
    );
  }

  const allowSetting = pick("allow");
  const allow = parseAllow(allowSetting?.value ?? [], allowSetting?.source ?? "--allow");
  if (allow.size > 0 && insecureLoopback) {
    throw new ConfigError(
      `${allowSetting?.source ?? "--allow"}: identities come from client certificates, and there are none with insecure loopback (${insecureSetting?.source ?? "--insecure-loopback"})`,
    );
  }

  const levelSetting = pick("logLevel");
  const logLevel = parseLogLevel(
    levelSetting?.value,
    levelSetting?.source ?? "--log-level",
    (message) => new ConfigError(message),
  );

  const graceSetting = pick("shutdownGrace");
  const graceSeconds = graceSetting === undefined ? 10 : Number(graceSetting.value);
  if (
    graceSetting !== undefined &&
    (String(graceSetting.value).trim() === "" ||
      !Number.isFinite(graceSeconds) ||
      graceSeconds < 0 ||
      graceSeconds > 3600)
  ) {
    throw new ConfigError(
      `${graceSetting.source}: "${String(graceSetting.value)}" is not a number of seconds within 0..3600`,
    );
  }

  return {
    listen,
    hostFqdn,
    backend: backendText,
    simFixture: simFixture?.value,
    simActivity: activity ? { seed } : undefined,
    tls,
    allow,
    insecureLoopback,
    auditLog: pick("auditLog")?.value,
    logLevel,
    shutdownGraceMs: Math.round(graceSeconds * 1000),
  };
}

/** Validates a host name (RFC 1123: labels of 1–63 letters, digits, hyphens; 253 in all). */
export function parseHostName(name: string, source: string): string {
  const canonical = canonicalHostName(name.trim());
  if (hostNameProblem(canonical) !== undefined) {
    throw new ConfigError(
      `${source}: "${name}" is not a valid host name (RFC 1123: letters, digits and hyphens, labels of at most 63, 253 in all)`,
    );
  }
  return canonical;
}

/** Parses `IDENTITY=ROLE` entries; a later entry for the same identity replaces an earlier one. */
export function parseAllow(entries: readonly string[], source: string): Map<string, Role> {
  const allow = new Map<string, Role>();
  for (const entry of entries) {
    const equals = entry.lastIndexOf("=");
    const identity = entry.slice(0, equals).trim();
    const role = entry.slice(equals + 1).trim();
    if (equals <= 0 || identity === "") {
      throw new ConfigError(`${source}: "${entry}" is not IDENTITY=ROLE (e.g. ops@lab=operator)`);
    }
    if (role !== "reader" && role !== "operator") {
      throw new ConfigError(`${source}: "${entry}": role "${role}" is not reader or operator`);
    }
    allow.set(identity, role);
  }
  return allow;
}
