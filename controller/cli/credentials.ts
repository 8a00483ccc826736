/**
 * The credentials of `wmsctl`: the CA that signs agent certificates, the client certificate and
 * its key. Each of the three files comes from its flag (`--ca`, `--cert`, `--key`), else its
 * variable (`WMSCTL_CA`, `WMSCTL_CERT`, `WMSCTL_KEY`), else the config directory (`ca.pem`,
 * `client.pem`, `client.key`; see `config-dir.ts`). `--insecure-loopback` takes none.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import {
  CONFIG_FILES,
  describeConfigDir,
  findConfigDir,
  userConfigDir,
  type ConfigDir,
} from "../config-dir.js";
import type { CliIo } from "./io.js";
import { UsageError } from "./usage-error.js";

/** The credential flags as commander parses them. */
export interface CredentialFlags {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly configDir?: string;
  readonly insecureLoopback?: boolean;
}

/** One credential file and where its name came from (`--ca`, `WMSCTL_CA`, a config dir). */
export interface CredentialFile {
  readonly path: string;
  readonly source: string;
}

/** The three files, each with its source. */
export interface CredentialFiles {
  readonly ca: CredentialFile;
  readonly cert: CredentialFile;
  readonly key: CredentialFile;
}

const PARTS = [
  ["ca", "--ca", "WMSCTL_CA"],
  ["cert", "--cert", "WMSCTL_CERT"],
  ["key", "--key", "WMSCTL_KEY"],
] as const;

/** The config directory as the CLI sees it: `--config-dir`, the environment, cwd, home. */
export function configDirOf(
  flags: { configDir?: string },
  io: CliIo,
): Promise<ConfigDir | undefined> {
  return findConfigDir({
    flag: flags.configDir,
    env: io.env,
    cwd: io.cwd,
    homeDir: io.homeDir,
    platform: io.platform,
  });
}

/**
 * Works out which files to read, in the order flag > variable > config dir, for each file.
 * `undefined` under `--insecure-loopback`.
 * @throws UsageError when a file is named nowhere (saying what to do), or when
 *   `--insecure-loopback` is combined with a flag or variable.
 */
export async function findCredentialFiles(
  flags: CredentialFlags,
  io: CliIo,
): Promise<CredentialFiles | undefined> {
  const given = PARTS.map(([part, flag, variable]) => {
    const fromFlag = flags[part];
    if (fromFlag !== undefined) return { path: fromFlag, source: flag };
    const fromEnv = io.env[variable];
    return fromEnv === undefined || fromEnv === ""
      ? undefined
      : { path: fromEnv, source: variable };
  });
  if (flags.insecureLoopback === true) {
    if (given.some((file) => file !== undefined)) {
      throw new UsageError("--insecure-loopback cannot be combined with --ca, --cert or --key");
    }
    return undefined;
  }
  const [ca, cert, key] = given;
  if (ca !== undefined && cert !== undefined && key !== undefined) return { ca, cert, key };
  const dir = await configDirOf(flags, io);
  if (dir === undefined) {
    throw new UsageError(
      "no credentials for mutual TLS: give --ca, --cert and --key (or WMSCTL_CA, WMSCTL_CERT, " +
        "WMSCTL_KEY), or put ca.pem, client.pem and client.key in a config dir (--config-dir, " +
        `WMSCTL_CONFIG_DIR, a .wmsctl folder here or above, or ${userConfigDir(io)}); ` +
        "make them with wmsctl pki (see docs/wmsctl.md), or run npm start in a checkout for a " +
        "development set; --insecure-loopback talks to --insecure-loopback agents on this machine",
    );
  }
  const fromDir = (part: (typeof PARTS)[number][0]): CredentialFile => ({
    path: `${dir.path}${io.platform === "win32" ? "\\" : "/"}${CONFIG_FILES[part]}`,
    source: describeConfigDir(dir),
  });
  return { ca: ca ?? fromDir("ca"), cert: cert ?? fromDir("cert"), key: key ?? fromDir("key") };
}

async function readCredential(file: CredentialFile, what: string): Promise<Buffer> {
  try {
    return await readFile(file.path);
  } catch (error) {
    const message = (error as Error).message;
    if (/^(--|WMSCTL_)/.test(file.source)) {
      throw new UsageError(`${file.source} ${file.path}: ${message}`);
    }
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new UsageError(
      `${what} ${file.path} (${file.source}): ${message}` +
        (missing ? "; wmsctl pki issue-client NAME --install writes it" : ""),
    );
  }
}

/**
 * Refuses a client certificate that is expired or not yet valid: agents would drop the TLS
 * handshake, which the controller could only report as every host `unreachable`.
 */
function checkValidity(pem: Buffer, file: CredentialFile, now: Date): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return; // not a certificate: createSsl says so, naming the files
  }
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  const subject = certificate.subject.replace(/\n/g, ", ");
  if (now > to || now < from) {
    throw new UsageError(
      `client certificate ${file.path} (${file.source}, ${subject}) is valid from ${from.toISOString()} to ${to.toISOString()}, not now; ` +
        "issue a new one (wmsctl pki issue-client NAME --force)",
    );
  }
}

/**
 * The channel credentials of a run: mutual TLS from the files, or insecure for
 * `--insecure-loopback`.
 * @throws UsageError naming a file that is missing or unreadable, or when there are none.
 */
export async function channelCredentials(
  flags: CredentialFlags,
  io: CliIo,
  now = new Date(),
): Promise<{ credentials: ChannelCredentials; files: CredentialFiles | undefined }> {
  const files = await findCredentialFiles(flags, io);
  if (files === undefined) return { credentials: credentials.createInsecure(), files };
  const ca = await readCredential(files.ca, "CA certificate");
  const cert = await readCredential(files.cert, "client certificate");
  const key = await readCredential(files.key, "client key");
  checkValidity(cert, files.cert, now);
  try {
    return { credentials: credentials.createSsl(ca, key, cert), files };
  } catch (error) {
    throw new UsageError(
      `bad credentials (${files.ca.path}, ${files.cert.path}, ${files.key.path}): ${(error as Error).message}`,
    );
  }
}
