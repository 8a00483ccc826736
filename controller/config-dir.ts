/**
 * Where `wmsctl` keeps its credentials when no flag or variable names them: a config directory
 * holding `ca.pem` (the CA that signs agent certificates), `client.pem` and `client.key` (this
 * controller's client certificate and key), and `pki/` (the CA itself, for `wmsctl pki`).
 *
 * The directory is, first found: `--config-dir DIR`; `WMSCTL_CONFIG_DIR`; the nearest `.wmsctl/`
 * folder from the current directory upwards (project-local, e.g. the development PKI `npm start`
 * makes in a checkout); the user's: `%APPDATA%\wmsctl` on Windows, else
 * `$XDG_CONFIG_HOME/wmsctl`, else `~/.config/wmsctl`.
 */
import { stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve, win32 } from "node:path";

/** The files of a config directory. */
export const CONFIG_FILES = {
  ca: "ca.pem",
  cert: "client.pem",
  key: "client.key",
} as const;

/** The name of a project-local config directory. */
export const LOCAL_CONFIG_DIR_NAME = ".wmsctl";

/** How a config directory was chosen, for messages. */
export type ConfigDirSource = "--config-dir" | "WMSCTL_CONFIG_DIR" | "project" | "user";

/** A config directory and how it was found. */
export interface ConfigDir {
  readonly path: string;
  readonly source: ConfigDirSource;
  /** Whether the directory is there (an explicit one may not be). */
  readonly exists: boolean;
}

/** What the search looks at. */
export interface ConfigDirContext {
  /** `--config-dir`, when given. */
  readonly flag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the upward search for `.wmsctl/` starts. */
  readonly cwd: string;
  readonly homeDir: string;
  readonly platform: NodeJS.Platform;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The user's config directory for wmsctl (whether or not it exists). */
export function userConfigDir(context: Omit<ConfigDirContext, "flag" | "cwd">): string {
  if (context.platform === "win32") {
    const appData = context.env["APPDATA"];
    const base =
      appData !== undefined && appData !== ""
        ? appData
        : win32.join(context.homeDir, "AppData", "Roaming");
    return win32.join(base, "wmsctl");
  }
  const xdg = context.env["XDG_CONFIG_HOME"];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(context.homeDir, ".config");
  return join(base, "wmsctl");
}

/**
 * Finds the config directory. An explicit one (flag or variable) is returned even when it does
 * not exist, so that its missing files can be named; the project and user directories only when
 * they exist. `undefined` when there is none.
 */
export async function findConfigDir(context: ConfigDirContext): Promise<ConfigDir | undefined> {
  const explicit: [string | undefined, ConfigDirSource][] = [
    [context.flag, "--config-dir"],
    [context.env["WMSCTL_CONFIG_DIR"], "WMSCTL_CONFIG_DIR"],
  ];
  for (const [value, source] of explicit) {
    if (value !== undefined && value !== "") {
      const path = resolve(context.cwd, value);
      return { path, source, exists: await isDirectory(path) };
    }
  }
  for (let dir = resolve(context.cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, LOCAL_CONFIG_DIR_NAME);
    if (await isDirectory(candidate)) return { path: candidate, source: "project", exists: true };
    if (dirname(dir) === dir) break;
  }
  const user = userConfigDir(context);
  return (await isDirectory(user)) ? { path: user, source: "user", exists: true } : undefined;
}

/** Describes a config directory for messages: `.wmsctl (project) /work/x/.wmsctl`. */
export function describeConfigDir(dir: ConfigDir): string {
  switch (dir.source) {
    case "--config-dir":
    case "WMSCTL_CONFIG_DIR":
      return `${dir.source} ${dir.path}`;
    case "project":
      return `project config dir ${dir.path}`;
    case "user":
      return `user config dir ${dir.path}`;
  }
}
