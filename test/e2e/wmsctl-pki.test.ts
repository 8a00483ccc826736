/**
 * The fleet set-up of docs/security.md, all through spawned processes: `wmsctl pki` makes a CA, an
 * agent certificate and client certificates; a real `wms-agent` runs with them and an allow-list;
 * `wmsctl` connects as each client and gets what its role allows.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  spawnAgentWith,
  spawnWmsctl,
  type SpawnedAgent,
  type WmsctlExit,
} from "../helpers/controller-spawn.js";

const FQDN = "h1.lab.example.com";

void describe("certificates from wmsctl pki, used by wms-agent and wmsctl", () => {
  let root: string;
  let pki: string;
  let agent: SpawnedAgent;
  const run = (args: readonly string[], env: Record<string, string> = {}): Promise<WmsctlExit> =>
    spawnWmsctl(args, { cwd: root, env: { HOME: join(root, "home"), ...env } });
  const as = (name: string) => [
    "--ca",
    join(pki, "ca.pem"),
    "--cert",
    join(pki, `${name}.pem`),
    "--key",
    join(pki, `${name}.key`),
  ];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wmsfleet-pki-e2e-"));
    pki = join(root, "pki");
    for (const args of [
      ["pki", "init", "--dir", pki],
      ["pki", "issue-agent", FQDN, "--dir", pki],
      [
        "pki",
        "issue-client",
        "alice",
        "--dir",
        pki,
        "--config-dir",
        join(root, "conf"),
        "--install",
      ],
      ["pki", "issue-client", "carol", "--dir", pki],
      ["pki", "issue-client", "mallory", "--dir", pki],
    ]) {
      const made = await run(args);
      assert.equal(made.status, 0, `${args.join(" ")}: ${made.stderr}`);
    }
    agent = await spawnAgentWith(FQDN, [
      "--tls-cert",
      join(pki, `${FQDN}.pem`),
      "--tls-key",
      join(pki, `${FQDN}.key`),
      "--tls-ca",
      join(pki, "ca.pem"),
      "--allow",
      "alice=operator",
      "--allow",
      "carol=reader",
    ]);
  });
  after(async () => {
    await agent.stop();
    await rm(root, { recursive: true, force: true });
  });

  void it("an operator from the config dir lists and disconnects", async () => {
    const env = { WMSCTL_CONFIG_DIR: join(root, "conf") };
    const get = await run(["get", "-s", FQDN, agent.resolve, "-o", "json"], env);
    assert.equal(get.status, 0, get.stderr);
    const disconnect = await run(["disconnect", "3", "-s", FQDN, agent.resolve, "-o", "json"], env);
    assert.equal(disconnect.status, 0, disconnect.stderr);
  });

  void it("a reader lists but may not disconnect; an unknown identity gets nothing", async () => {
    const get = await run(["get", "-s", FQDN, agent.resolve, "-o", "json", ...as("carol")]);
    assert.equal(get.status, 0, get.stderr);
    const disconnect = await run([
      "disconnect",
      "5",
      "-s",
      FQDN,
      agent.resolve,
      "-o",
      "json",
      ...as("carol"),
    ]);
    assert.equal(disconnect.status, 1);
    const [denied] = JSON.parse(disconnect.stdout) as { status: string; code: string }[];
    assert.deepEqual([denied?.status, denied?.code], ["denied", "PERMISSION_DENIED"]);

    const stranger = await run(["get", "-s", FQDN, agent.resolve, "-o", "json", ...as("mallory")]);
    assert.equal(stranger.status, 1);
    const [report] = JSON.parse(stranger.stdout) as { status: string; error: string }[];
    assert.equal(report?.status, "denied");
    assert.match(report.error, /mallory/);
  });
});
