/**
 * Where the agent's and the console's settings come from, and how they are merged: command-line
 * flags, then environment variables (`WMSFLEET_*`, `WMSCONSOLE_*`), then a JSON config file, then
 * the program's defaults. Each program keeps its own settings, variable names and error class;
 * what is the same for both (reading a variable or a file, the precedence, the log level) is here,
 * so that the two cannot drift apart.
 */
import { readFile } from "node:fs/promises";
import { flagName } from "./config-values.js";

/** pino's levels, as `--log-level` takes them (agent and console alike). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Checks a log level; `undefined` (not given anywhere) is `info`.
 * @param source the flag, variable or file entry it came from, for the message.
 * @param refuse makes the caller's own error from the message, which names `source`.
 */
export function parseLogLevel(
  level: string | undefined,
  source: string,
  refuse: (message: string) => Error,
): LogLevel {
  const value = level ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw refuse(`${source}: "${value}" is not a level (${LOG_LEVELS.join(", ")})`);
  }
  return value as LogLevel;
}

/**
 * Splits a comma list given in one environment variable or flag (`WMSFLEET_ALLOW`,
 * `WMSCONSOLE_INVENTORY`): entries trimmed, empty ones dropped.
 */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/**
 * Reads the settings given by environment variables; an empty variable counts as unset.
 * @param variables each setting's variable.
 * @param listKeys the settings that take a comma list (see {@link splitList}); every other one
 * is kept as the text given, for the program to check when it resolves its configuration.
 */
export function settingsFromVariables<S extends object>(
  env: NodeJS.ProcessEnv,
  variables: Readonly<Record<keyof S & string, string>>,
  listKeys: readonly (keyof S & string)[],
): S {
  const settings: Record<string, string | string[]> = {};
  for (const key of Object.keys(variables) as (keyof S & string)[]) {
    const value = env[variables[key]];
    if (value === undefined || value === "") continue;
    settings[key] = listKeys.includes(key) ? splitList(value) : value;
  }
  return settings as S;
}

/**
 * Reads a config file as JSON (a UTF-8 byte order mark allowed: Windows PowerShell 5.1 writes
 * one); what it holds is checked by the caller, with {@link configFileEntries}.
 * @param refuse makes the caller's own error from the message, which names the file.
 */
export async function readConfigFile(
  path: string,
  refuse: (message: string) => Error,
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw refuse(`${path}: cannot read the config file: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw refuse(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The entries of a config file's content, in the file's order: it must be a JSON object whose keys
 * are all settings (the flags in camelCase, e.g. `tlsCert`). The type of each value is the
 * caller's to check as it takes the entry, so that the first fault in the file is the one named.
 * @param keys the settings a file may hold, in the order the message lists them.
 * @param refuse makes the caller's own error from the message, which names the file.
 * @throws what `refuse` makes, when the content is no object (at the first step) or when the
 * iteration reaches a key that is no setting.
 */
export function* configFileEntries<K extends string>(
  content: unknown,
  path: string,
  keys: readonly K[],
  refuse: (message: string) => Error,
): Generator<[K, unknown], void, undefined> {
  if (typeof content !== "object" || content === null || Array.isArray(content)) {
    throw refuse(`${path}: the config file must hold a JSON object`);
  }
  for (const [key, value] of Object.entries(content)) {
    if (!(keys as readonly string[]).includes(key)) {
      throw refuse(`${path}: unknown setting "${key}" (known: ${keys.join(", ")})`);
    }
    yield [key as K, value];
  }
}

/** The three sources of settings, and the config file's path for messages. */
export interface SettingSources<S> {
  readonly flags: S;
  readonly env: S;
  readonly file: S;
  /** The config file's path, when there is one. */
  readonly filePath?: string | undefined;
}

/** A setting's value and where it came from (`--listen`, `WMSCONSOLE_LISTEN`, `FILE: listen`). */
export interface Picked<T> {
  readonly value: T;
  /** The flag, variable or file entry, as error messages name it. */
  readonly source: string;
}

/**
 * Makes the function that picks one setting by precedence: the flag, else the variable, else the
 * file's entry; `undefined` when none gives it (the caller's default applies).
 * @param variables each setting's environment variable, to name the source.
 */
export function settingPicker<S extends object>(
  sources: SettingSources<S>,
  variables: Readonly<Record<keyof S & string, string>>,
): <K extends keyof S & string>(key: K) => Picked<NonNullable<S[K]>> | undefined {
  return (key) => {
    for (const [source, settings] of [
      [flagName(key), sources.flags],
      [variables[key], sources.env],
      [`${sources.filePath ?? "config file"}: ${key}`, sources.file],
    ] as const) {
      const value = settings[key];
      if (value !== undefined) return { value: value as NonNullable<S[typeof key]>, source };
    }
    return undefined;
  };
}
