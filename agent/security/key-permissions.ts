/**
 * The agent's private key must be readable by the agent's account only: a key that every user of
 * a Remote Desktop host can read lets any of them impersonate the agent to every controller. The
 * agent refuses to start (exit 2) with such a key and prints the command that fixes it, as
 * OpenSSH (`UNPROTECTED PRIVATE KEY FILE!`) and PostgreSQL (`has group or world access`) do.
 *
 * - Linux and other POSIX systems: any group or other permission bit (`mode & 0o077`) refuses;
 *   the fix is `chmod 600 FILE`.
 * - Windows: the file's DACL, read as SDDL (`GetNamedSecurityInfoW`, then
 *   `ConvertSecurityDescriptorToStringSecurityDescriptorW`, in `common/native/advapi32.ts`),
 *   refuses when an allow entry that applies to the file gives Users (`S-1-5-32-545`), Everyone
 *   (`S-1-1-0`) or Authenticated Users (`S-1-5-11`) the right to read its data, or to change its
 *   permissions or owner (which is read access one step later). The fix is an `icacls` command
 *   that names accounts by SID, so it works on every language of Windows.
 *
 * The check is on the file as opened for reading (`fstat` of the same descriptor) on POSIX, so a
 * file swapped between the check and the read is not missed.
 */
import type { FileHandle } from "node:fs/promises";

/** A principal whose read access to the key refuses the start, with its SID and English name. */
export interface BroadPrincipal {
  readonly sid: string;
  readonly name: string;
}

/** The principals that must not read the key on Windows (SDDL aliases and SIDs). */
export const BROAD_PRINCIPALS: readonly (BroadPrincipal & { readonly alias: string })[] = [
  { alias: "BU", sid: "S-1-5-32-545", name: "Users" },
  { alias: "WD", sid: "S-1-1-0", name: "Everyone" },
  { alias: "AU", sid: "S-1-5-11", name: "Authenticated Users" },
];

/** Access-mask bits that read a file's data or lead to it (`FILE_READ_DATA`, `WRITE_DAC`, ...). */
const READ_OR_TAKE =
  0x1 | // FILE_READ_DATA
  0x40000 | // WRITE_DAC
  0x80000 | // WRITE_OWNER
  0x10000000 | // GENERIC_ALL
  0x80000000; // GENERIC_READ

/** SDDL's two-letter access rights (`[MS-DTYP]` 2.5.1.1), as mask bits. */
const SDDL_RIGHTS: Readonly<Record<string, number>> = {
  GA: 0x10000000,
  GR: 0x80000000,
  GW: 0x40000000,
  GX: 0x20000000,
  RC: 0x20000,
  SD: 0x10000,
  WD: 0x40000,
  WO: 0x80000,
  RP: 0x10,
  WP: 0x20,
  CC: 0x1,
  DC: 0x2,
  LC: 0x4,
  SW: 0x8,
  LO: 0x80,
  DT: 0x40,
  CR: 0x100,
  FA: 0x1f01ff,
  FR: 0x120089,
  FW: 0x120116,
  FX: 0x1200a0,
  KA: 0xf003f,
  KR: 0x20019,
  KW: 0x20006,
  KX: 0x20019,
};

/** One access entry of an SDDL DACL. */
export interface SddlAce {
  /** `A` allow, `D` deny, or another SDDL ACE type. */
  readonly type: string;
  /** The ACE flags, e.g. `OICIID`; `IO` (inherit only) does not apply to the object itself. */
  readonly flags: string;
  /** The access mask. */
  readonly mask: number;
  /** The trustee as written: an alias (`BU`) or a SID (`S-1-5-32-545`). */
  readonly trustee: string;
}

/**
 * The ACEs of the DACL of an SDDL string (`O:SYG:SYD:PAI(A;;FA;;;SY)(A;;FR;;;BU)`); an empty list
 * when there is no `D:` part. A DACL of `D:NO_ACCESS_CONTROL` (a null DACL) gives everyone
 * everything and comes back as one allow-all entry for Everyone.
 * @throws TypeError on an entry it cannot read, so that a format it does not know refuses rather
 *   than passes.
 */
export function parseSddlDacl(sddl: string): SddlAce[] {
  const start = sddl.indexOf("D:");
  if (start < 0) return [];
  const rest = sddl.slice(start + 2);
  const end = rest.search(/S:/);
  const dacl = end < 0 ? rest : rest.slice(0, end);
  if (dacl.includes("NO_ACCESS_CONTROL")) {
    return [{ type: "A", flags: "", mask: 0x10000000, trustee: "WD" }];
  }
  const aces: SddlAce[] = [];
  for (const match of dacl.matchAll(/\(([^)]*)\)/g)) {
    const fields = (match[1] ?? "").split(";");
    if (fields.length < 6)
      throw new TypeError(`an SDDL entry of ${fields.length} fields: ${match[0]}`);
    const [type = "", flags = "", rights = "", , , trustee = ""] = fields;
    aces.push({ type, flags, mask: parseSddlRights(rights), trustee: trustee.toUpperCase() });
  }
  return aces;
}

/** An SDDL access-rights field (`0x1200a9`, `FA`, `CCLCRC`) as a mask. */
export function parseSddlRights(rights: string): number {
  if (/^0x[0-9a-f]+$/i.test(rights)) return Number.parseInt(rights.slice(2), 16) >>> 0;
  if (/^\d+$/.test(rights)) return Number.parseInt(rights, 10) >>> 0;
  if (rights.length % 2 !== 0)
    throw new TypeError(`SDDL rights "${rights}" are not two-letter codes`);
  let mask = 0;
  for (let i = 0; i < rights.length; i += 2) {
    const code = rights.slice(i, i + 2).toUpperCase();
    const bits = SDDL_RIGHTS[code];
    if (bits === undefined) throw new TypeError(`unknown SDDL right "${code}" in "${rights}"`);
    mask |= bits;
  }
  return mask >>> 0;
}

/**
 * The broad principals an SDDL DACL lets read the file (its data, or its permissions and owner,
 * which is the same one step later). Entries that only children inherit (`IO`) are skipped; a deny
 * entry for the same principal that comes first removes the bits it denies.
 */
export function broadReadersOf(sddl: string): BroadPrincipal[] {
  const aces = parseSddlDacl(sddl).filter((ace) => !ace.flags.toUpperCase().includes("IO"));
  const readers: BroadPrincipal[] = [];
  for (const principal of BROAD_PRINCIPALS) {
    let denied = 0;
    for (const ace of aces) {
      if (ace.trustee !== principal.alias && ace.trustee !== principal.sid) continue;
      if (ace.type === "D") denied |= ace.mask;
      else if (ace.type === "A" && (ace.mask & READ_OR_TAKE & ~denied) !== 0) {
        readers.push({ sid: principal.sid, name: principal.name });
        break;
      }
    }
  }
  return readers;
}

/** The command that limits a key file to SYSTEM and Administrators on Windows, by SID. */
export function windowsKeyFixCommand(path: string): string {
  return `icacls "${path}" /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F /remove:g *S-1-5-32-545 *S-1-1-0 *S-1-5-11`;
}

/**
 * Why a POSIX key file of `mode` is too open, or `undefined` when only its owner has access.
 * Any group or other bit refuses, as OpenSSH does (`mode & 0o077`).
 */
export function posixKeyProblem(path: string, mode: number): string | undefined {
  const open = mode & 0o077;
  if (open === 0) return undefined;
  const who = [open & 0o070 ? "its group" : "", open & 0o007 ? "every other user" : ""]
    .filter((w) => w !== "")
    .join(" and ");
  return `the private key is accessible to ${who} (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); anyone who can read it can impersonate this agent. Make it private to the agent's account: chmod 600 ${shellQuote(path)}`;
}

/** Why a Windows key file with this SDDL is too open, or `undefined` when it is not. */
export function windowsKeyProblem(path: string, sddl: string): string | undefined {
  const readers = broadReadersOf(sddl);
  if (readers.length === 0) return undefined;
  return `the private key is readable by ${readers.map((r) => `${r.name} (${r.sid})`).join(", ")}; anyone in that group can impersonate this agent. From an elevated prompt: ${windowsKeyFixCommand(path)}`;
}

/** Reads the SDDL of a file's owner and DACL (Windows only). */
export type ReadFileSddl = (path: string) => Promise<string>;

/** Options of {@link checkPrivateKeyAccess}. */
export interface KeyAccessOptions {
  /** @default `process.platform` */
  readonly platform?: NodeJS.Platform;
  /** How the DACL is read on Windows. @default {@link readFileSddl} */
  readonly readSddl?: ReadFileSddl;
}

/**
 * Checks that the key open in `handle` (opened from `path`) is private to the agent's account.
 * Returns why it is not, or `undefined` when it is.
 */
export async function privateKeyAccessProblem(
  path: string,
  handle: FileHandle,
  options: KeyAccessOptions = {},
): Promise<string | undefined> {
  const platform = options.platform ?? process.platform;
  if (platform === "win32") {
    const readSddl = options.readSddl ?? readFileSddl;
    let sddl: string;
    try {
      sddl = await readSddl(path);
    } catch (error) {
      return `cannot read the file's permissions to check that only administrators can read it: ${(error as Error).message}`;
    }
    return windowsKeyProblem(path, sddl);
  }
  const { mode } = await handle.stat();
  return posixKeyProblem(path, mode);
}

/** `GetNamedSecurityInfoW` and its SDDL form, through koffi (`common/native/advapi32.ts`). */
export async function readFileSddl(path: string): Promise<string> {
  const { readWindowsFileSddl } = await import("./windows-file-acl.js");
  return readWindowsFileSddl(path);
}

function shellQuote(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}
