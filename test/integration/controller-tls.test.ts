import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ServerCredentials, credentials } from "@grpc/grpc-js";
import { startAgent, type Agent } from "../../agent/server/agent.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { createController, type HostResult } from "../../controller/index.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import { loopbackTarget, startHost } from "../helpers/controller-fleet.js";
import { agentServerCredentials, makeTestPki, type TestPki } from "../helpers/controller-tls.js";
import { issueAgentCertificate } from "../../controller/pki/index.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";

const FQDN = "tls.lab.example.com";

async function collect<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>[]> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  return list;
}

void describe("mutual TLS behind an address override", () => {
  let pki: TestPki;
  let agent: Agent;
  before(async () => {
    pki = await makeTestPki(FQDN);
    agent = await startAgent({
      hostFqdn: FQDN,
      backend: createSimulatedBackend(),
      credentials: ServerCredentials.createSsl(
        pki.ca,
        [{ cert_chain: pki.agentCert, private_key: pki.agentKey }],
        true,
      ),
      graceMs: 0,
    });
  });
  after(async () => {
    await agent.shutdown({ graceMs: 0 });
    await pki.remove();
  });

  void it("verifies the agent certificate against the FQDN, not the address dialled", async () => {
    const controller = createController({
      credentials: credentials.createSsl(pki.ca, pki.clientKey, pki.clientCert),
      retries: 0,
    });
    const port = agent.ports[0] as number;
    try {
      const results = await collect(
        controller.getAgentInfo([
          loopbackTarget(FQDN, port),
          loopbackTarget("impostor.lab.example.com", port),
        ]),
      );
      const byHost = new Map(results.map((r) => [r.host, r]));
      const good = byHost.get(FQDN);
      assert.equal(good?.status, "ok");
      assert.equal(good.response.host, FQDN);
      const bad = byHost.get("impostor.lab.example.com");
      assert.equal(bad?.status, "denied", "a certificate for another name is refused");
      assert.equal(bad.code, "UNAVAILABLE");
      assert.equal(bad.attempts, 1, "a refused certificate is not retried");
      assert.match(bad.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
    } finally {
      controller.close();
    }
  });

  void it("wmsctl takes --ca --cert --key (and WMSCTL_* variables)", async () => {
    const target = ["-s", FQDN, `--resolve=${FQDN}=127.0.0.1:${agent.ports[0]}`, "-o", "json"];
    const flags = await runWmsctl([
      "health",
      ...target,
      "--ca",
      pki.caPath,
      "--cert",
      pki.clientCertPath,
      "--key",
      pki.clientKeyPath,
    ]);
    assert.equal(flags.status, 0, flags.stderr);
    const env = await runWmsctl(["get", "1", ...target], {
      env: {
        WMSCTL_CA: pki.caPath,
        WMSCTL_CERT: pki.clientCertPath,
        WMSCTL_KEY: pki.clientKeyPath,
      },
    });
    assert.equal(env.status, 0, env.stderr);
    const missing = await runWmsctl([
      "health",
      ...target,
      "--ca",
      `${pki.dir}/nope.pem`,
      "--cert",
      pki.clientCertPath,
      "--key",
      pki.clientKeyPath,
    ]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--ca .*nope\.pem: ENOENT/);
  });

  void it("an agent whose certificate names another host is denied, and nothing is sent to it", async () => {
    const disconnects: number[] = [];
    const impostor = await startHost({
      fqdn: "h1.lab.example.com",
      credentials: agentServerCredentials(
        pki.authority,
        await issueAgentCertificate(pki.authority, "other.lab.example.com", { days: 1 }),
      ),
      onDisconnect: (id) => disconnects.push(id),
    });
    try {
      const port = impostor.agent.ports[0] as number;
      const run = await runWmsctl(
        [
          "disconnect",
          "3",
          "-s",
          "h1.lab.example.com",
          `--resolve=h1.lab.example.com=127.0.0.1:${port}`,
          "-o",
          "json",
        ],
        {
          env: {
            WMSCTL_CA: pki.caPath,
            WMSCTL_CERT: pki.clientCertPath,
            WMSCTL_KEY: pki.clientKeyPath,
          },
        },
      );
      assert.equal(run.status, 1, run.stderr);
      const [report] = JSON.parse(run.stdout) as {
        host: string;
        status: string;
        attempts: number;
        code: string;
        error: string;
      }[];
      assert.equal(report?.host, "h1.lab.example.com");
      assert.equal(report.status, "denied");
      assert.equal(report.attempts, 1);
      assert.equal(report.code, "UNAVAILABLE");
      assert.match(report.error, /is not in the cert's altnames: DNS:other\.lab\.example\.com/);
      assert.match(run.stderr, /1 host: 1 denied/);
      assert.deepEqual(disconnects, [], "no Disconnect reached the agent");
      const sessions = await impostor.backend.listSessions();
      assert.ok(
        sessions.some(
          (session) => session.sessionId === 3 && session.state === SessionState.ACTIVE,
        ),
      );
    } finally {
      await impostor.agent.shutdown({ graceMs: 0 });
    }
  });

  void it("wmsctl reads ca.pem, client.pem and client.key from the project's .wmsctl/", async () => {
    const project = await mkdtemp(join(tmpdir(), "wmsfleet-project-"));
    try {
      await mkdir(join(project, ".wmsctl"));
      await mkdir(join(project, "src"));
      await copyFile(pki.caPath, join(project, ".wmsctl", "ca.pem"));
      await copyFile(pki.clientCertPath, join(project, ".wmsctl", "client.pem"));
      await copyFile(pki.clientKeyPath, join(project, ".wmsctl", "client.key"));
      const run = await runWmsctl(
        ["health", "-s", FQDN, `--resolve=${FQDN}=127.0.0.1:${agent.ports[0]}`, "-o", "json"],
        { cwd: join(project, "src") },
      );
      assert.equal(run.status, 0, run.stderr);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
