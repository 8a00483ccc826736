/**
 * An install that cannot be turned against the host. The service runs as LocalSystem whatever
 * `node.exe` and agent files ran `service install`: with nvm-windows, fnm, volta or a checkout in a
 * user profile, a user who is not an administrator could replace them and run code as SYSTEM at
 * the next start. So `service install` reads the DACL and owner (as SDDL, like the key check) of
 * `node.exe`, the agent's files and the folders above them, and refuses when anyone but SYSTEM,
 * Administrators, TrustedInstaller or the installing administrator could change them.
 *
 * - The files and the folders that hold them (node.exe and its folder; the package root, `bin`,
 *   `dist`, `node_modules`, `package.json`, the entry script): any right that changes content,
 *   adds or removes entries, or changes permissions or owner refuses.
 * - The folders above them, to the drive's root: only rights that let someone move or replace
 *   what is inside (delete a child, change permissions or owner, full control) refuse; creating
 *   a new folder in `C:\`, which Authenticated Users may, does not.
 * - An owner that is not trusted refuses too: an owner may always rewrite the DACL.
 */
import { win32 } from "node:path";
import { parseSddlDacl } from "../security/key-permissions.js";

/** SIDs (and their SDDL aliases) that may change what LocalSystem runs. */
const TRUSTED = new Map<string, string>([
  ["SY", "S-1-5-18"],
  ["BA", "S-1-5-32-544"],
  // NT SERVICE\TrustedInstaller, owner of what Windows itself installs.
  ["TI", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"],
  // CREATOR OWNER only ever appears as an inherit-only template.
  ["CO", "S-1-3-0"],
]);

/** Names of the SIDs a refusal is likely to name, for the message. */
const KNOWN_NAMES: Readonly<Record<string, string>> = {
  "S-1-1-0": "Everyone",
  "S-1-5-11": "Authenticated Users",
  "S-1-5-32-545": "Users",
  "S-1-5-32-547": "Power Users",
  "S-1-5-4": "INTERACTIVE",
  "S-1-5-32-546": "Guests",
};
const ALIASES: Readonly<Record<string, string>> = {
  WD: "S-1-1-0",
  AU: "S-1-5-11",
  BU: "S-1-5-32-545",
  PU: "S-1-5-32-547",
  IU: "S-1-5-4",
  BG: "S-1-5-32-546",
  SY: "S-1-5-18",
  BA: "S-1-5-32-544",
  CO: "S-1-3-0",
};

/**
 * Rights that change a file or a folder's entries: write and append data (add file and add
 * subfolder on a folder), write extended attributes, delete child, delete, write DAC, write
 * owner, generic write and all.
 */
const CHANGE_RIGHTS =
  0x2 | 0x4 | 0x10 | 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000;
/** Rights on a folder above that let someone move or replace what it holds. */
const TAKEOVER_RIGHTS = 0x40 | 0x40000 | 0x80000 | 0x10000000;

/** How strictly a path is judged. */
export type PathRole = "installed" | "ancestor";

/** One path `service install` refuses, and who could change it. */
export interface WritablePath {
  readonly path: string;
  /** `who (SID)` for each principal, or `owner who (SID)`. */
  readonly writers: readonly string[];
}

/** The SID an SDDL trustee stands for (aliases resolved). */
function sidOf(trustee: string): string {
  return ALIASES[trustee.toUpperCase()] ?? TRUSTED.get(trustee.toUpperCase()) ?? trustee;
}

function describeSid(sid: string): string {
  const name = KNOWN_NAMES[sid];
  return name === undefined ? sid : `${name} (${sid})`;
}

function isTrusted(sid: string, installer: string | undefined): boolean {
  return [...TRUSTED.values()].includes(sid) || (installer !== undefined && sid === installer);
}

/**
 * Who other than the trusted principals could change a path with this SDDL (`O:` owner and `D:`
 * DACL). `installer` is the SID of the administrator running the install, trusted as one.
 */
export function untrustedWriters(
  sddl: string,
  role: PathRole,
  installer: string | undefined,
): string[] {
  const rights = role === "installed" ? CHANGE_RIGHTS : TAKEOVER_RIGHTS;
  const writers: string[] = [];
  const owner = /O:((?:S-\d+(?:-\d+)+)|[A-Z]{2})/.exec(sddl)?.[1];
  if (owner !== undefined && !isTrusted(sidOf(owner), installer)) {
    writers.push(`owner ${describeSid(sidOf(owner))}`);
  }
  const denied = new Map<string, number>();
  for (const ace of parseSddlDacl(sddl)) {
    if (ace.flags.toUpperCase().includes("IO")) continue;
    const sid = sidOf(ace.trustee);
    if (ace.type === "D") {
      denied.set(sid, (denied.get(sid) ?? 0) | ace.mask);
      continue;
    }
    if (ace.type !== "A" || isTrusted(sid, installer)) continue;
    if ((ace.mask & rights & ~(denied.get(sid) ?? 0)) !== 0) {
      const who = describeSid(sid);
      if (!writers.includes(who)) writers.push(who);
    }
  }
  return writers;
}

/**
 * The paths `service install` judges, each with its role: `node.exe`, the agent's entry script,
 * the package's files and folders, and every folder above them to the drive's root.
 */
export function installPaths(
  nodePath: string,
  scriptPath: string,
): { path: string; role: PathRole }[] {
  const path = win32;
  const packageRoot = path.dirname(path.dirname(scriptPath));
  const installed = [
    nodePath,
    path.dirname(nodePath),
    scriptPath,
    path.dirname(scriptPath),
    packageRoot,
    path.join(packageRoot, "package.json"),
    path.join(packageRoot, "dist"),
    path.join(packageRoot, "node_modules"),
  ];
  const seen = new Set(installed.map((p) => p.toLowerCase()));
  const ancestors: string[] = [];
  for (const start of [path.dirname(nodePath), packageRoot]) {
    for (let folder = path.dirname(start); ; folder = path.dirname(folder)) {
      if (!seen.has(folder.toLowerCase())) {
        seen.add(folder.toLowerCase());
        ancestors.push(folder);
      }
      if (path.dirname(folder) === folder) break;
    }
  }
  return [
    ...installed.map((p) => ({ path: p, role: "installed" as const })),
    ...ancestors.map((p) => ({ path: p, role: "ancestor" as const })),
  ];
}

/** What {@link findWritableInstallPaths} needs from Windows. */
export interface InstallSafetyDeps {
  /** The SDDL of a path's owner and DACL; rejects with ENOENT-like errors for missing paths. */
  readonly readSddl: (path: string) => Promise<string>;
  /** The SID of the account running the install (an administrator), or `undefined`. */
  readonly installerSid: () => Promise<string | undefined>;
  /** Whether a path exists (`dist` and `node_modules` may be absent in odd layouts). */
  readonly exists: (path: string) => boolean;
}

/** The paths of an install that someone other than an administrator could change. */
export async function findWritableInstallPaths(
  nodePath: string,
  scriptPath: string,
  deps: InstallSafetyDeps,
): Promise<WritablePath[]> {
  const installer = await deps.installerSid();
  const found: WritablePath[] = [];
  for (const { path, role } of installPaths(nodePath, scriptPath)) {
    if (!deps.exists(path)) continue;
    const writers = untrustedWriters(await deps.readSddl(path), role, installer);
    if (writers.length > 0) found.push({ path, writers });
  }
  return found;
}

/** The refusal `service install` prints: what, who, why, and the fix. */
export function explainWritableInstall(found: readonly WritablePath[]): string {
  const lines = found.map((f) => `  ${f.path}: ${f.writers.join(", ")}`);
  return [
    "refusing to install: the service would run as LocalSystem files that accounts other than administrators can change:",
    ...lines,
    "Anyone of them could run code as SYSTEM at the next start. Install Node.js with its MSI (C:\\Program Files\\nodejs) and wmsfleet in a folder only administrators can write (e.g. C:\\Program Files\\wmsfleet, not a user profile, nvm-windows, fnm or volta), then run `service install` from there.",
  ].join("\n");
}

/** The default {@link InstallSafetyDeps}: koffi, advapi32 (Windows only). */
export async function windowsInstallSafetyDeps(): Promise<InstallSafetyDeps> {
  const { existsSync } = await import("node:fs");
  const { readWindowsFileSddl, readProcessUserSid } =
    await import("../security/windows-file-acl.js");
  return {
    readSddl: readWindowsFileSddl,
    installerSid: () => readProcessUserSid().catch(() => undefined),
    exists: existsSync,
  };
}

/** The folder `service install` prepares for configuration and keys. */
export function dataFolder(programData: string): string {
  return win32.join(programData, "wmsfleet");
}
