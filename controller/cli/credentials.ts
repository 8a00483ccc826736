/**
 * The credentials of `wmsctl`: the CA that signs agent certificates, the client certificate and
 * its key. Each of the three files comes from its flag (`--ca`, `--cert`, `--key`), else its
 * variable (`WMSCTL_CA`, `WMSCTL_CERT`, `WMSCTL_KEY`), else the config directory (`ca.pem`,
 * `client.pem`, `client.key`; see `config-dir.ts`). `--insecure-loopback` takes none.
 */
import { readFile } from "node:fs/promises";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import {
  CONFIG_FILES,
  describeConfigDir,
  findConfigDir,
  userConfigDir,
  type ConfigDir,
} from "../config-dir.js";
import { checkCredentials, fileLabel, type CredentialFile } from "./credential-check.js";
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

export type { CredentialFile };

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

async function readCredential(file: CredentialFile, role: "ca" | "cert" | "key"): Promise<Buffer> {
  try {
    return await readFile(file.path);
  } catch (error) {
    const message = (error as Error).message;
    const label = fileLabel(role, file);
    if (label.startsWith(file.source)) throw new UsageError(`${label}: ${message}`);
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new UsageError(
      `${label}: ${message}` +
        (missing ? "; wmsctl pki issue-client NAME --install writes it" : ""),
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
  const ca = await readCredential(files.ca, "ca");
  const cert = await readCredential(files.cert, "cert");
  const key = await readCredential(files.key, "key");
  // Named, described and matched here: a wrong file is never left to OpenSSL's words, nor to an
  // agent that drops the handshake (every host `unreachable`).
  checkCredentials(
    {
      ca: { file: files.ca, bytes: ca },
      cert: { file: files.cert, bytes: cert },
      key: { file: files.key, bytes: key },
    },
    now,
  );
  try {
    return { credentials: credentials.createSsl(ca, key, cert), files };
  } catch (error) {
    throw new UsageError(
      `${fileLabel("cert", files.cert)}, ${fileLabel("key", files.key)}, ${fileLabel("ca", files.ca)}: Node's TLS refuses them: ${(error as Error).message}`,
    );
  }
}
