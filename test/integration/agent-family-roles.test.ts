/**
 * The roles of the session family under mutual TLS (DESIGN sections 5 and 8): a `reader` may watch
 * but neither log off nor message, and each refusal is audited; an `operator` may do all of it.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { credentials, status as Status, type ServiceError } from "@grpc/grpc-js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import type { AuditRecord, ResultRecord } from "../../agent/audit/audit-record.js";
import { startAgent } from "../../agent/server/agent.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createTlsCredentials } from "../../agent/security/tls-credentials.js";
import { agentTlsMaterial } from "../helpers/tls-agent.js";
import { Outcome, WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient, TEST_FIXTURE, TEST_HOST } from "../helpers/agent-harness.js";
import { createTestCa } from "../helpers/test-pki.js";
import { isSnapshot, startWatch } from "../helpers/watch-client.js";

const pki = (async () => {
  const ca = await createTestCa("wmsfleet family roles CA");
  return {
    ca,
    agentCert: await ca.issueServer([TEST_HOST], ["127.0.0.1"]),
    reader: await ca.issueClient("kiosk-7"),
    operator: await ca.issueClient("ops"),
  };
})();

async function startSecured(t: TestContext) {
  const { ca, agentCert } = await pki;
  const material = await agentTlsMaterial(t, ca, agentCert);
  const records: AuditRecord[] = [];
  const backend: SimulatedBackend = createSimulatedBackend({
    fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
    env: {},
  });
  const agent = await startAgent({
    hostFqdn: TEST_HOST,
    backend,
    credentials: createTlsCredentials(material).credentials,
    authorize: createAccessPolicy(
      new Map([
        ["kiosk-7", "reader"],
        ["ops", "operator"],
      ]),
    ).authorize,
    audit: { write: (json) => Promise.resolve(void records.push(JSON.parse(json) as AuditRecord)) },
    healthIntervalMs: 60_000,
  });
  const clients: WmsSessionServiceClient[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await agent.shutdown({ graceMs: 1000 });
  });
  const clientAs = (who: { key: string; cert: string }) => {
    const raw = new WmsSessionServiceClient(
      `127.0.0.1:${agent.ports[0]}`,
      credentials.createSsl(Buffer.from(ca.cert), Buffer.from(who.key), Buffer.from(who.cert)),
      { "grpc.ssl_target_name_override": TEST_HOST },
    );
    clients.push(raw);
    return raw;
  };
  const results = () => records.filter((r): r is ResultRecord => r.kind === "result");
  return { backend, records, results, clientAs };
}

async function deniedAs(call: Promise<unknown>, rpc: string): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], "PERMISSION_DENIED");
    assert.equal(
      error.details,
      `identity "kiosk-7" may not call wms.v1.WmsSessionService/${rpc} (role reader)`,
    );
    return true;
  });
}

describe("the session family's roles", () => {
  it("lets a reader watch, and refuses its log-offs and messages, auditing each", async (t) => {
    const { backend, results, clientAs } = await startSecured(t);
    const { reader } = await pki;
    const raw = clientAs(reader);
    const client = promisifyClient(raw);
    const watch = startWatch(raw, { expectedHost: TEST_HOST }, t);
    await watch.next(isSnapshot());
    await deniedAs(client.logoff({ sessionIds: [2] }), "Logoff");
    await deniedAs(client.logoffAll({ whatIf: true }), "LogoffAll");
    await deniedAs(client.sendMessage({ sessionIds: [2], text: "hello" }), "SendMessage");
    assert.deepEqual(backend.logoffCalls(), []);
    assert.deepEqual(backend.messageCalls(), []);
    assert.deepEqual(
      results().map((r) => [r.rpc, r.identity, r.status?.code]),
      [
        ["Logoff", "kiosk-7", "PERMISSION_DENIED"],
        ["LogoffAll", "kiosk-7", "PERMISSION_DENIED"],
        ["SendMessage", "kiosk-7", "PERMISSION_DENIED"],
      ],
    );
  });

  it("lets an operator log off, message and watch", async (t) => {
    const { results, clientAs } = await startSecured(t);
    const { operator } = await pki;
    const raw = clientAs(operator);
    const client = promisifyClient(raw);
    const watch = startWatch(raw, {}, t);
    const snapshot = await watch.next(isSnapshot());
    const logoff = await client.logoff({ sessionIds: [2], expectedHost: TEST_HOST });
    assert.equal(logoff.results[0]?.outcome, Outcome.LOGGED_OFF);
    const message = await client.sendMessage({ sessionIds: [3], text: "hello" });
    assert.equal(message.results[0]?.outcome, Outcome.MESSAGE_SENT);
    await watch.next((m) => m.revision === snapshot.revision + 1);
    assert.deepEqual(
      results().map((r) => [r.rpc, r.identity, r.results?.map((x) => x.outcome)]),
      [
        ["Logoff", "ops", ["LOGGED_OFF"]],
        ["SendMessage", "ops", ["MESSAGE_SENT"]],
      ],
    );
  });
});
