/**
 * The Windows side of the permission checks inside Windows Node under Wine (bundled by
 * `wine-env.ts`): `OUTPUT KEY... [--install NODE SCRIPT]...` writes, for each key file, the SDDL
 * that `GetNamedSecurityInfoW` gives and what the agent makes of it (`null` when the key passes);
 * the SID of the process's account; and for each `--install` pair, what `service install` would
 * refuse.
 */
import { open } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { privateKeyAccessProblem } from "../../agent/security/key-permissions.js";
import { readProcessUserSid, readWindowsFileSddl } from "../../agent/security/windows-file-acl.js";
import {
  findWritableInstallPaths,
  windowsInstallSafetyDeps,
} from "../../agent/windows-service/install-safety.js";

const [, outFile = "", ...rest] = process.argv.slice(2);
const errorText = (error: unknown) =>
  error instanceof Error ? (error.stack ?? error.message) : String(error);

const keys: Record<string, { sddl?: string; problem?: string | null; error?: string }> = {};
const installs: { node: string; script: string; found?: unknown; error?: string }[] = [];
for (let i = 0; i < rest.length; i++) {
  const arg = rest[i] ?? "";
  if (arg === "--install") {
    const node = rest[++i] ?? "";
    const script = rest[++i] ?? "";
    try {
      const found = await findWritableInstallPaths(node, script, await windowsInstallSafetyDeps());
      installs.push({ node, script, found });
    } catch (error) {
      installs.push({ node, script, error: errorText(error) });
    }
    continue;
  }
  try {
    const sddl = await readWindowsFileSddl(arg);
    const handle = await open(arg, "r");
    try {
      keys[arg] = { sddl, problem: (await privateKeyAccessProblem(arg, handle)) ?? null };
    } finally {
      await handle.close();
    }
  } catch (error) {
    keys[arg] = { error: errorText(error) };
  }
}
let user: string;
try {
  user = await readProcessUserSid();
} catch (error) {
  user = `error: ${errorText(error)}`;
}
writeFileSync(outFile, JSON.stringify({ keys, user, installs }, null, 2));
