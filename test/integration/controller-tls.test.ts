import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ServerCredentials, credentials } from "@grpc/grpc-js";
import { startAgent, type Agent } from "../../agent/agent.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { createController, type HostResult } from "../../controller/index.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import { loopbackTarget } from "../helpers/controller-fleet.js";
import { makeTestPki, type TestPki } from "../helpers/controller-tls.js";

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
});
