/**
 * The Windows side of the key-permission check inside Windows Node under Wine (bundled by
 * `wine-env.ts`): `OUTPUT FILE...` writes, for each file, the SDDL that `GetNamedSecurityInfoW`
 * gives and what the agent makes of it (`undefined` when the key passes).
 */
import { open } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { privateKeyAccessProblem } from "../../agent/security/key-permissions.js";
import { readWindowsFileSddl } from "../../agent/security/windows-file-acl.js";

const [, outFile = "", ...files] = process.argv.slice(2);
const results: Record<string, { sddl?: string; problem?: string | null; error?: string }> = {};
for (const file of files) {
  try {
    const sddl = await readWindowsFileSddl(file);
    const handle = await open(file, "r");
    try {
      results[file] = { sddl, problem: (await privateKeyAccessProblem(file, handle)) ?? null };
    } finally {
      await handle.close();
    }
  } catch (error) {
    results[file] = {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
}
writeFileSync(outFile, JSON.stringify(results, null, 2));
