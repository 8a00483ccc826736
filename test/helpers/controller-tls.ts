/**
 * Certificates made in the test with the `openssl` command: a private CA, an agent certificate
 * whose SAN is the agent's FQDN, and a client certificate. Tests that need them skip where
 * `openssl` is missing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether the `openssl` command is there. */
export const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

/** PEM files (paths) and their contents. */
export interface TestPki {
  readonly dir: string;
  readonly caPath: string;
  readonly agentCertPath: string;
  readonly agentKeyPath: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly ca: Buffer;
  readonly agentCert: Buffer;
  readonly agentKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  remove(): Promise<void>;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Makes a CA and an agent certificate for `agentFqdn` (SAN), and a client certificate. */
export async function makeTestPki(agentFqdn: string): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=wmsfleet test CA",
    ],
    dir,
  );
  const issue = async (name: string, subject: string, extensions: string) => {
    await writeFile(join(dir, `${name}.ext`), extensions);
    openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
    openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        `${name}.pem`,
        "-extfile",
        `${name}.ext`,
      ],
      dir,
    );
  };
  await issue(
    "agent",
    `/CN=${agentFqdn}`,
    `subjectAltName=DNS:${agentFqdn}\nextendedKeyUsage=serverAuth\n`,
  );
  await issue("client", "/CN=ops", "extendedKeyUsage=clientAuth\n");
  const path = (file: string) => join(dir, file);
  return {
    dir,
    caPath: path("ca.pem"),
    agentCertPath: path("agent.pem"),
    agentKeyPath: path("agent.key"),
    clientCertPath: path("client.pem"),
    clientKeyPath: path("client.key"),
    ca: await readFile(path("ca.pem")),
    agentCert: await readFile(path("agent.pem")),
    agentKey: await readFile(path("agent.key")),
    clientCert: await readFile(path("client.pem")),
    clientKey: await readFile(path("client.key")),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
