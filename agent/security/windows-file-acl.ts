/**
 * A file's owner and DACL as SDDL on Windows (`GetNamedSecurityInfoW`, then
 * `ConvertSecurityDescriptorToStringSecurityDescriptorW`): what `key-permissions.ts` and the
 * service install's check (`windows-service/install-safety.ts`) judge; and the SID of the
 * process's own account.
 * SDDL names well-known accounts by alias or SID, never by their localized names.
 */
import { loadAdvapi32 } from "../../common/native/advapi32.js";
import { loadKernel32 } from "../../common/native/kernel32.js";

const SE_FILE_OBJECT = 1;
const OWNER_SECURITY_INFORMATION = 0x1;
const DACL_SECURITY_INFORMATION = 0x4;
const SDDL_REVISION_1 = 1;

/**
 * The SDDL of `path`'s owner and DACL, e.g. `O:BAD:PAI(A;;FA;;;SY)(A;;FA;;;BA)`.
 * @throws Error with the Win32 error when the file's security cannot be read.
 */
export async function readWindowsFileSddl(path: string): Promise<string> {
  const [advapi32, kernel32] = await Promise.all([loadAdvapi32(), loadKernel32()]);
  const information = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
  const descriptor: unknown[] = [null];
  const error = advapi32.GetNamedSecurityInfoW(
    path,
    SE_FILE_OBJECT,
    information,
    null,
    null,
    null,
    null,
    descriptor,
  ) as number;
  if (error !== 0) throw new Error(`GetNamedSecurityInfoW failed with Win32 error ${error}`);
  try {
    const text: unknown[] = [null];
    const length = [0];
    const ok = advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
      descriptor[0],
      SDDL_REVISION_1,
      information,
      text,
      length,
    ) as number;
    if (ok === 0) {
      throw new Error(
        `ConvertSecurityDescriptorToStringSecurityDescriptorW failed with Win32 error ${kernel32.GetLastError() as number}`,
      );
    }
    try {
      const chars = kernel32.lstrlenW(text[0]) as number;
      return chars > 0 ? (advapi32.koffi.decode(text[0], "char16_t", chars) as string) : "";
    } finally {
      kernel32.LocalFree(text[0]);
    }
  } finally {
    kernel32.LocalFree(descriptor[0]);
  }
}

const TOKEN_QUERY = 0x8;
const TOKEN_USER = 1;
/** `TOKEN_USER` with its SID: a SID is at most 68 bytes; room to spare. */
const TOKEN_USER_BYTES = 256;

/**
 * The SID of the account this process runs as (`S-1-5-21-...`), from its token
 * (`GetTokenInformation(TokenUser)`, `ConvertSidToStringSidW`).
 * @throws Error with the Win32 error when the token cannot be read.
 */
export async function readProcessUserSid(): Promise<string> {
  const [advapi32, kernel32] = await Promise.all([loadAdvapi32(), loadKernel32()]);
  const token: unknown[] = [null];
  if (
    (advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), TOKEN_QUERY, token) as number) === 0
  ) {
    throw new Error(
      `OpenProcessToken failed with Win32 error ${kernel32.GetLastError() as number}`,
    );
  }
  try {
    const buffer = Buffer.alloc(TOKEN_USER_BYTES);
    const length = [0];
    if (
      (advapi32.GetTokenInformation(
        token[0],
        TOKEN_USER,
        buffer,
        buffer.length,
        length,
      ) as number) === 0
    ) {
      throw new Error(
        `GetTokenInformation failed with Win32 error ${kernel32.GetLastError() as number}`,
      );
    }
    // TOKEN_USER starts with the SID's address, which points into the same buffer.
    const sid: unknown = advapi32.koffi.decode(buffer, "void *");
    const text: unknown[] = [null];
    if ((advapi32.ConvertSidToStringSidW(sid, text) as number) === 0) {
      throw new Error(
        `ConvertSidToStringSidW failed with Win32 error ${kernel32.GetLastError() as number}`,
      );
    }
    try {
      const chars = kernel32.lstrlenW(text[0]) as number;
      return advapi32.koffi.decode(text[0], "char16_t", chars) as string;
    } finally {
      kernel32.LocalFree(text[0]);
    }
  } finally {
    kernel32.CloseHandle(token[0]);
  }
}
