/**
 * `wmsctl pki`: the private PKI of a fleet, no `openssl` needed. `init` makes the CA,
 * `issue-agent FQDN...` an agent certificate per host (the FQDN as DNS SAN, serverAuth),
 * `issue-client NAME` a client certificate whose CN is the identity an agent's
 * `--allow NAME=ROLE` names (clientAuth), `issue-console NAME` the two of a `wms-console` on host
 * NAME: its HTTPS certificate (NAME as DNS SAN, serverAuth) and its client identity towards the
 * agents (CN NAME, clientAuth). Files go to `--dir` (default: the config dir's `pki/`);
 * keys are written 0600 and nothing is replaced without `--force`.
 */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { CONFIG_FILES, userConfigDir } from "../../config-dir.js";
import type { IssuedCertificate, PemFilePair } from "../../pki/index.js";
import { PkiError } from "../../pki/pki-error.js";
import { agentCertificateName, clientCertificateName } from "../../pki/pki-names.js";
import { configDirOf } from "../credentials.js";
import type { CliIo } from "../io.js";
import { UsageError } from "../usage-error.js";
import { parseCount } from "../values.js";

/**
 * The certificate and file code of `controller/pki`, loaded when a `pki` command runs: it is
 * built on `@peculiar/x509` (with `reflect-metadata`), whose loading would otherwise be most of
 * the start-up of every `wmsctl` command.
 */
const loadPki = () => import("../../pki/index.js");

/** The flags every `pki` command takes. */
interface PkiFlags {
  readonly dir?: string;
  readonly configDir?: string;
  readonly days?: string;
  readonly force?: boolean;
}

/** The config directory to use or create: the one found, else the user's. */
async function configDir(flags: PkiFlags, io: CliIo): Promise<string> {
  return (await configDirOf(flags, io))?.path ?? userConfigDir(io);
}

async function pkiDir(flags: PkiFlags, io: CliIo): Promise<string> {
  return flags.dir !== undefined
    ? resolve(io.cwd, flags.dir)
    : join(await configDir(flags, io), "pki");
}

function days(flags: PkiFlags): { days?: number } {
  return flags.days === undefined ? {} : { days: parseCount(flags.days, "--days", 1, 36_500) };
}

/**
 * What the `issue-*` commands start from: the PKI code, the PKI directory, and the CA there that
 * signs what they issue.
 * @throws PkiError when the CA's files are missing or unreadable (run `wmsctl pki init`).
 */
async function signingCa(flags: PkiFlags, io: CliIo) {
  const pki = await loadPki();
  const dir = await pkiDir(flags, io);
  const ca = await pki.loadCertificateAuthority(pki.caFiles(dir));
  return { pki, dir, ca };
}

/** The paths of certificates and keys, each key first, as `checkWritable` checks them. */
function pemPaths(...pairs: readonly PemFilePair[]): string[] {
  return pairs.flatMap((files) => [files.keyPath, files.certPath]);
}

/**
 * Writes an issued certificate and its key (replacing files only with `force`), then names the
 * two files on standard output: `what` the certificate is, and until when it is valid.
 */
async function writeAndReport(
  io: CliIo,
  files: PemFilePair,
  issued: IssuedCertificate,
  force: boolean,
  what: string,
): Promise<void> {
  const { writeIssued } = await loadPki();
  await writeIssued(files, issued, force);
  const validUntil = issued.certificate.notAfter.toISOString().slice(0, 10);
  io.stdout.write(
    `${files.certPath}  ${what}, valid until ${validUntil}\n${files.keyPath}  private key (mode 0600)\n`,
  );
}

/** Runs a pki action; a PkiError is a usage error (exit 2, nothing or nothing more written). */
function action<A extends unknown[]>(
  done: (status: number) => void,
  work: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await work(...args);
      done(0);
    } catch (error) {
      if (error instanceof PkiError) throw new UsageError(error.message);
      throw error;
    }
  };
}

function common(command: Command, defaultDays: number): Command {
  return command
    .option("--dir <dir>", "the PKI directory (default: the config dir's pki/)")
    .option("--config-dir <dir>", "the wmsctl config dir (env WMSCTL_CONFIG_DIR)")
    .option("--days <n>", `days of validity (default ${defaultDays})`)
    .option("--force", "replace files that exist");
}

/** Adds `pki init|issue-agent|issue-client|issue-console` to the program. */
export function addPkiCommand(program: Command, io: CliIo, done: (status: number) => void): void {
  const pki = program
    .command("pki")
    .description("make a private CA and the agent and client certificates it signs")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  wmsctl pki init\n" +
        "  wmsctl pki issue-agent h1.lab.example.com h2.lab.example.com\n" +
        "  wmsctl pki issue-client alice --install     # and wms-agent --allow alice=operator\n" +
        "  wmsctl pki issue-console console.lab.example.com",
    );

  common(pki.command("init").description("make the CA (ca.pem, ca.key)"), 3650)
    .option("--name <cn>", "the CA's common name", "wmsfleet CA")
    .action(
      action(done, async (flags: PkiFlags & { name: string }) => {
        const { caFiles, checkWritable, createCertificateAuthority } = await loadPki();
        const files = caFiles(await pkiDir(flags, io));
        await checkWritable(pemPaths(files), flags.force === true);
        const ca = await createCertificateAuthority({ commonName: flags.name, ...days(flags) });
        await writeAndReport(io, files, ca, flags.force === true, `CA "${flags.name}"`);
      }),
    );

  common(
    pki
      .command("issue-agent")
      .description("issue an agent certificate per FQDN (FQDN.pem, FQDN.key)")
      .argument("<fqdn...>", "the agents' host names, as wmsctl -s names them"),
    365,
  ).action(
    action(done, async (names: string[], flags: PkiFlags) => {
      const fqdns = [...new Set(names.map(agentCertificateName))];
      const { pki, dir, ca } = await signingCa(flags, io);
      const targets = fqdns.map((fqdn) => pki.pemFiles(dir, fqdn));
      await pki.checkWritable(pemPaths(...targets), flags.force === true);
      for (const [index, fqdn] of fqdns.entries()) {
        const issued = await pki.issueAgentCertificate(ca, fqdn, days(flags));
        const files = targets[index] as PemFilePair;
        await writeAndReport(io, files, issued, flags.force === true, `agent ${fqdn}`);
      }
      io.stdout.write(
        `Copy FQDN.pem, FQDN.key and ${join(dir, "ca.pem")} to each host, then run there:\n` +
          "  wms-agent --tls-cert FQDN.pem --tls-key FQDN.key --tls-ca ca.pem --allow NAME=operator\n",
      );
    }),
  );

  common(
    pki
      .command("issue-client")
      .description("issue a client certificate whose CN is NAME (NAME.pem, NAME.key)")
      .argument("<name>", "the identity agents know the client by (--allow NAME=ROLE)")
      .option(
        "--install",
        "also copy it into the config dir as client.pem/client.key, with ca.pem",
      ),
    365,
  ).action(
    action(done, async (input: string, flags: PkiFlags & { install?: boolean }) => {
      const name = clientCertificateName(input);
      const { pki, dir, ca } = await signingCa(flags, io);
      const { CERT_FILE_MODE, KEY_FILE_MODE } = pki;
      const files = pki.pemFiles(dir, name);
      const force = flags.force === true;
      const install = flags.install === true ? await configDir(flags, io) : undefined;
      const copies: [string, string, number][] =
        install === undefined
          ? []
          : [
              [join(install, CONFIG_FILES.key), "key", KEY_FILE_MODE],
              [join(install, CONFIG_FILES.cert), "cert", CERT_FILE_MODE],
              [join(install, CONFIG_FILES.ca), "ca", CERT_FILE_MODE],
            ];
      await pki.checkWritable([...pemPaths(files), ...copies.map(([p]) => p)], force);
      const issued = await pki.issueClientCertificate(ca, name, days(flags));
      await writeAndReport(io, files, issued, force, `client ${name}`);
      const pem = { key: issued.keyPem, cert: issued.certPem, ca: ca.certPem };
      for (const [path, part, mode] of copies) {
        await pki.writeFileWithMode(path, pem[part as keyof typeof pem], mode, force);
        io.stdout.write(`${path}  installed for wmsctl\n`);
      }
      io.stdout.write(`On each agent: --allow ${name}=operator (or ${name}=reader)\n`);
    }),
  );

  common(
    pki
      .command("issue-console")
      .description(
        "issue a wms-console's HTTPS certificate (NAME-https.pem, NAME-https.key) and its client identity towards the agents (NAME-console.pem, NAME-console.key)",
      )
      .argument("<name>", "the console host's FQDN, as browsers reach it")
      .option(
        "--alt-name <fqdn>",
        "another name browsers use (repeatable)",
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      )
      .option(
        "--ip <address>",
        "an address browsers use (repeatable)",
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    365,
  ).action(
    action(done, async (input: string, flags: PkiFlags & { altName?: string[]; ip?: string[] }) => {
      const name = agentCertificateName(input);
      const identity = clientCertificateName(name);
      const { pki, dir, ca } = await signingCa(flags, io);
      const httpsFiles = pki.pemFiles(dir, `${name}-https`);
      const clientFiles = pki.pemFiles(dir, `${name}-console`);
      const force = flags.force === true;
      await pki.checkWritable(pemPaths(httpsFiles, clientFiles), force);
      const https = await pki.issueAgentCertificate(ca, name, {
        altNames: (flags.altName ?? []).map(agentCertificateName),
        ipAddresses: pki.certificateIpAddresses(flags.ip ?? []),
        ...days(flags),
      });
      const client = await pki.issueClientCertificate(ca, identity, days(flags));
      await writeAndReport(io, httpsFiles, https, force, `console HTTPS ${name}`);
      await writeAndReport(io, clientFiles, client, force, `console client ${identity}`);
      const caPath = join(dir, "ca.pem");
      io.stdout.write(
        `Run the console with:\n  wms-console --ca ${caPath} --cert ${clientFiles.certPath} --key ${clientFiles.keyPath} \\\n` +
          `    --tls-cert ${httpsFiles.certPath} --tls-key ${httpsFiles.keyPath} --listen 0.0.0.0:8443 --data-dir DIR --inventory FILE\n` +
          `On each agent: --allow ${identity}=operator (or ${identity}=reader for a console that only watches).\n` +
          `Browsers trust the HTTPS certificate once they trust ${caPath} (or use a certificate of your organisation's CA).\n`,
      );
    }),
  );

  for (const command of pki.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
    command.showHelpAfterError(`(run wmsctl pki ${command.name()} --help)`);
  }
}
