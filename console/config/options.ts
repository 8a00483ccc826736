/**
 * The console's configuration: flags, `WMSCONSOLE_*` environment variables and a JSON config
 * file, merged with the agent's precedence (flags > environment > file > defaults) and validated
 * into one resolved form. Every bad value is a {@link ConsoleConfigError} naming where it came
 * from; the command exits with status 2 before it opens the store or binds a port.
 */
import { parseBoolean, parseListen } from "../../common/config-values.js";
import {
  configFileEntries,
  parseLogLevel,
  settingPicker,
  settingsFromVariables,
  type LogLevel,
  type Picked,
  type SettingSources as Sources,
} from "../../common/settings-sources.js";
import { DEFAULT_AUDIT_DAYS, MAX_AUDIT_DAYS } from "../audit/retention.js";
import { DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS } from "../history/retention.js";

/** A configuration value that cannot be used: exit status 2, nothing opened or bound. */
export class ConsoleConfigError extends TypeError {
  override readonly name = "ConsoleConfigError";
}

export { LOG_LEVELS, type LogLevel } from "../../common/settings-sources.js";

/** The console's HTTPS port unless told otherwise (8443: HTTPS without root's port 443). */
export const DEFAULT_CONSOLE_PORT = 8443;
/** `--listen` unless told otherwise: loopback, so that nothing is exposed by accident. */
export const DEFAULT_CONSOLE_LISTEN = `127.0.0.1:${DEFAULT_CONSOLE_PORT}`;

/** The console's settings as given (flags, environment or file); every field optional. */
export interface ConsoleSettings {
  /** Inventory files (the wmsctl format). @default [] */
  inventory?: string[];
  /** The CA that signs agent certificates (PEM), to verify agents. */
  ca?: string;
  /** The console's client certificate (PEM), its identity towards agents. */
  cert?: string;
  /** The console's client key (PEM). */
  key?: string;
  /** The HTTPS server certificate (PEM). */
  tlsCert?: string;
  /** The HTTPS server key (PEM). */
  tlsKey?: string;
  /** `HOST:PORT`. @default {@link DEFAULT_CONSOLE_LISTEN} */
  listen?: string;
  /** The folder of the store (`console.db`). Required. */
  dataDir?: string;
  /** Plain HTTP on loopback addresses only, cookies without `Secure`: development. @default false */
  insecureLoopback?: boolean | string;
  /** @default "info" */
  logLevel?: string;
  /** Days of session history kept (1 to 3660). @default {@link DEFAULT_HISTORY_DAYS} */
  historyDays?: number | string;
  /** Days of audit trail kept (1 to 3660). @default {@link DEFAULT_AUDIT_DAYS} */
  auditDays?: number | string;
}

/** The store settings only: what `wms-console user` and `token` need. */
export type StoreSettings = Pick<ConsoleSettings, "dataDir" | "logLevel">;

/** The configuration the service runs with. */
export interface ResolvedConsoleConfig {
  readonly inventories: readonly string[];
  /** Agent credentials; undefined: agents are reached without TLS (loopback agents only). */
  readonly agentTls:
    { readonly ca: string; readonly cert: string; readonly key: string } | undefined;
  /** HTTPS; undefined under {@link insecureLoopback}. */
  readonly https: { readonly cert: string; readonly key: string } | undefined;
  readonly listen: { readonly host: string; readonly port: number; readonly text: string };
  readonly dataDir: string;
  readonly insecureLoopback: boolean;
  readonly logLevel: LogLevel;
  /** Days of session history kept. */
  readonly historyDays: number;
  /** Days of audit trail kept. */
  readonly auditDays: number;
}

/** Each setting's environment variable (`WMSCONSOLE_INVENTORY` is a comma list). */
export const ENVIRONMENT_VARIABLES: Readonly<Record<keyof ConsoleSettings, string>> = {
  inventory: "WMSCONSOLE_INVENTORY",
  ca: "WMSCONSOLE_CA",
  cert: "WMSCONSOLE_CERT",
  key: "WMSCONSOLE_KEY",
  tlsCert: "WMSCONSOLE_TLS_CERT",
  tlsKey: "WMSCONSOLE_TLS_KEY",
  listen: "WMSCONSOLE_LISTEN",
  dataDir: "WMSCONSOLE_DATA_DIR",
  insecureLoopback: "WMSCONSOLE_INSECURE_LOOPBACK",
  logLevel: "WMSCONSOLE_LOG_LEVEL",
  historyDays: "WMSCONSOLE_HISTORY_DAYS",
  auditDays: "WMSCONSOLE_AUDIT_DAYS",
};

/** The variable that names the config file when `--config` does not. */
export const CONFIG_FILE_VARIABLE = "WMSCONSOLE_CONFIG";

const SETTING_KEYS = Object.keys(ENVIRONMENT_VARIABLES) as (keyof ConsoleSettings)[];

/** Reads the settings given by `WMSCONSOLE_*` variables; empty values count as unset. */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv): ConsoleSettings {
  return settingsFromVariables<ConsoleSettings>(env, ENVIRONMENT_VARIABLES, ["inventory"]);
}

/**
 * Checks the parsed content of a config file: an object whose keys are the flags in camelCase
 * (`dataDir`, `tlsCert`), each of the right type.
 * @throws ConsoleConfigError naming the file and the key.
 */
export function settingsFromFile(content: unknown, path: string): ConsoleSettings {
  const settings: ConsoleSettings = {};
  const refuse = (message: string) => new ConsoleConfigError(message);
  for (const [name, value] of configFileEntries(content, path, SETTING_KEYS, refuse)) {
    if (name === "inventory") {
      if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
        throw new ConsoleConfigError(`${path}: "inventory" must be an array of file names`);
      }
      settings.inventory = value;
    } else if (name === "insecureLoopback") {
      if (typeof value !== "boolean") {
        throw new ConsoleConfigError(`${path}: "insecureLoopback" must be true or false`);
      }
      settings.insecureLoopback = value;
    } else if (name === "historyDays" || name === "auditDays") {
      if (typeof value !== "number" && typeof value !== "string") {
        throw new ConsoleConfigError(`${path}: "${name}" must be a whole number of days`);
      }
      settings[name] = value;
    } else {
      if (typeof value !== "string" || value === "") {
        throw new ConsoleConfigError(`${path}: "${name}" must be a non-empty string`);
      }
      settings[name] = value;
    }
  }
  return settings;
}

/** The three sources of settings, and the config file's path for messages. */
export type SettingSources<S = ConsoleSettings> = Sources<S>;

/**
 * The store's folder and log level alone, for the `user` and `token` commands.
 * @throws ConsoleConfigError when there is no data dir or the log level is unknown.
 */
export function resolveStoreConfig(sources: SettingSources): {
  dataDir: string;
  logLevel: LogLevel;
} {
  const pick = settingPicker(sources, ENVIRONMENT_VARIABLES);
  return { dataDir: dataDirOf(pick("dataDir")), logLevel: logLevelOf(pick("logLevel")) };
}

/**
 * Merges flags > environment > file > defaults and validates the result. Files are only named
 * here; reading them (and refusing unreadable or wrong ones) is the caller's next step.
 * @throws ConsoleConfigError naming the flag, variable or file entry at fault.
 */
export function resolveConsoleConfig(sources: SettingSources): ResolvedConsoleConfig {
  const pick = settingPicker(sources, ENVIRONMENT_VARIABLES);
  const insecure = pick("insecureLoopback");
  const insecureLoopback =
    insecure === undefined
      ? false
      : parseBoolean(insecure.value, insecure.source, (message) => new ConsoleConfigError(message));

  const listenSetting = pick("listen");
  const listen = parseListen(
    listenSetting?.value ?? DEFAULT_CONSOLE_LISTEN,
    listenSetting?.source ?? "default --listen",
    DEFAULT_CONSOLE_PORT,
    (message) => new ConsoleConfigError(message),
  );

  const tlsCert = pick("tlsCert");
  const tlsKey = pick("tlsKey");
  let https: ResolvedConsoleConfig["https"];
  if (tlsCert !== undefined || tlsKey !== undefined) {
    if (insecureLoopback) {
      throw new ConsoleConfigError(
        `${(tlsCert ?? tlsKey)?.source ?? "--tls-cert"} and ${insecure?.source ?? "--insecure-loopback"} exclude each other: choose HTTPS or plain HTTP on loopback`,
      );
    }
    if (tlsCert === undefined || tlsKey === undefined) {
      throw new ConsoleConfigError(
        "HTTPS needs both --tls-cert and --tls-key (wmsctl pki issue-console NAME makes them)",
      );
    }
    https = { cert: tlsCert.value, key: tlsKey.value };
  } else if (!insecureLoopback) {
    throw new ConsoleConfigError(
      "no HTTPS configured: give --tls-cert and --tls-key (wmsctl pki issue-console NAME makes them), or --insecure-loopback for plain HTTP on loopback addresses only (development)",
    );
  }

  const ca = pick("ca");
  const cert = pick("cert");
  const key = pick("key");
  const given = [ca, cert, key].filter((s) => s !== undefined);
  let agentTls: ResolvedConsoleConfig["agentTls"];
  if (given.length > 0) {
    if (ca === undefined || cert === undefined || key === undefined) {
      throw new ConsoleConfigError(
        `the console's agent credentials need all three of --ca, --cert and --key (${given.map((s) => s.source).join(", ")} given)`,
      );
    }
    agentTls = { ca: ca.value, cert: cert.value, key: key.value };
  } else if (!insecureLoopback) {
    throw new ConsoleConfigError(
      "no agent credentials: give --ca, --cert and --key (the console's client identity; wmsctl pki issue-console NAME makes them)",
    );
  }

  const inventorySetting = pick("inventory");
  const inventories = inventorySetting?.value ?? [];
  for (const path of inventories) {
    if (path.trim() === "") {
      throw new ConsoleConfigError(
        `${inventorySetting?.source ?? "--inventory"}: an empty file name`,
      );
    }
  }

  return {
    inventories,
    agentTls,
    https,
    listen,
    dataDir: dataDirOf(pick("dataDir")),
    insecureLoopback,
    logLevel: logLevelOf(pick("logLevel")),
    historyDays: daysOf(
      pick("historyDays"),
      DEFAULT_HISTORY_DAYS,
      MAX_HISTORY_DAYS,
      "session history",
    ),
    auditDays: daysOf(pick("auditDays"), DEFAULT_AUDIT_DAYS, MAX_AUDIT_DAYS, "audit trail"),
  };
}

/** A retention in whole days, 1..`max`; `what` is kept, as the message says. */
function daysOf(
  setting: Picked<number | string> | undefined,
  byDefault: number,
  max: number,
  what: string,
): number {
  if (setting === undefined) return byDefault;
  const text = String(setting.value).trim();
  const days = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(days) || days < 1 || days > max) {
    throw new ConsoleConfigError(
      `${setting.source}: "${String(setting.value)}" is not a number of days 1..${max} (whole days of ${what} to keep)`,
    );
  }
  return days;
}

function dataDirOf(setting: Picked<string> | undefined): string {
  if (setting === undefined || setting.value.trim() === "") {
    throw new ConsoleConfigError(
      `no store: give --data-dir DIR (or ${ENVIRONMENT_VARIABLES.dataDir}), the folder of the console's accounts, tokens and audit trail`,
    );
  }
  return setting.value;
}

function logLevelOf(setting: Picked<string> | undefined): LogLevel {
  return parseLogLevel(
    setting?.value,
    setting?.source ?? "--log-level",
    (message) => new ConsoleConfigError(message),
  );
}
