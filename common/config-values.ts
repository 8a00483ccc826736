/**
 * Values of configuration shared by the agent's and the console's options (flags, environment
 * variables, config files): one spelling of a flag, one reading of a boolean.
 */

/** The flag of a settings key: `tlsCert` → `--tls-cert`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Reads a boolean given as one (a flag) or as text (`1/0`, `true/false`, `yes/no`, `on/off`).
 * @param refuse makes the caller's own error from the message, which names `source`.
 */
export function parseBoolean(
  value: boolean | string,
  source: string,
  refuse: (message: string) => Error,
): boolean {
  if (typeof value === "boolean") return value;
  const lower = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return true;
  if (["0", "false", "no", "off"].includes(lower)) return false;
  throw refuse(`${source}: "${value}" is not a boolean (true/false, 1/0, yes/no)`);
}
