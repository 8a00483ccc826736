/**
 * The agent under mutual TLS (DESIGN section 5), with real certificates made in the test: who gets
 * through the handshake, which identity may call what, the audit record of every mutating call
 * (refused ones included, none lost under concurrency), and certificates and allow-list replaced
 * while calls are open.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { credentials, status as Status, type Client, type ServiceError } from "@grpc/grpc-js";
import type { AuditRecord, AuditSink, ResultRecord } from "../../agent/audit/audit-record.js";
import { startAgent, type Agent } from "../../agent/server/agent.js";
import type { SessionBackend } from "../../agent/sessions/backend.js";
import { createAccessPolicy, type AccessPolicy } from "../../agent/security/authorization.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import type { Role } from "../../agent/config/options.js";
import {
  createTlsCredentials,
  type ReloadableTlsCredentials,
} from "../../agent/security/tls-credentials.js";
import { agentTlsMaterial } from "../helpers/tls-agent.js";
import { Outcome, WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import {
  gate,
  promisifyClient,
  TEST_FIXTURE,
  TEST_HOST,
  type TestClient,
} from "../helpers/agent-harness.js";
import { checkHealth, healthClient } from "../helpers/health-client.js";
import {
  createTestCa,
  validityWindows,
  type IssuedCertificate,
  type TestCa,
} from "../helpers/test-pki.js";

/** An audit sink that keeps records in memory: all of them, and the result records alone. */
function memoryAudit(): AuditSink & { records: AuditRecord[]; readonly results: ResultRecord[] } {
  const records: AuditRecord[] = [];
  return {
    records,
    get results() {
      return records.filter((record): record is ResultRecord => record.kind === "result");
    },
    write(json) {
      records.push(JSON.parse(json) as AuditRecord);
      return Promise.resolve();
    },
  };
}

/** A CA, the agent's certificate for TEST_HOST and 127.0.0.1, shared by the tests of this file. */
const pki = (async () => {
  const ca = await createTestCa("wmsfleet test CA");
  const agentCert = await ca.issueServer([TEST_HOST], ["127.0.0.1"]);
  return { ca, agentCert };
})();

/** Reach 127.0.0.1 but verify the agent as TEST_HOST, as wmsctl does behind --resolve. */
const CHANNEL_OPTIONS = {
  "grpc.ssl_target_name_override": TEST_HOST,
  "grpc.default_authority": TEST_HOST,
};

interface SecureHarness {
  readonly agent: Agent;
  readonly backend: SimulatedBackend;
  readonly address: string;
  readonly policy: AccessPolicy;
  readonly tls: ReloadableTlsCredentials;
  readonly audit: ReturnType<typeof memoryAudit>;
  /** A session client presenting `client` (or no certificate), trusting `trust` (default the test CA). */
  client(client: IssuedCertificate | undefined, trust?: TestCa): TestClient;
  /** A health client presenting `client`. */
  health(client: IssuedCertificate): (service?: string) => Promise<string>;
}

/** Starts an agent under mutual TLS with `allow`; it and every client are closed after the test. */
async function startSecureAgent(
  t: TestContext,
  allow: Record<string, Role>,
  options: {
    audit?: AuditSink;
    /** Wraps the simulated backend, e.g. to hold a disconnect. */
    wrap?: (backend: SimulatedBackend) => SessionBackend;
  } = {},
): Promise<SecureHarness> {
  const { ca, agentCert } = await pki;
  const material = await agentTlsMaterial(t, ca, agentCert);
  const tls = createTlsCredentials(material);
  const policy = createAccessPolicy(new Map(Object.entries(allow)));
  const audit = memoryAudit();
  const backend = createSimulatedBackend({
    fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
    env: {},
  });
  const agent = await startAgent({
    hostFqdn: TEST_HOST,
    backend: options.wrap?.(backend) ?? backend,
    healthIntervalMs: 60_000,
    credentials: tls.credentials,
    authorize: policy.authorize,
    audit: options.audit ?? audit,
  });
  const address = `127.0.0.1:${agent.ports[0]}`;
  const clients: Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await agent.shutdown({ graceMs: 1000 });
  });
  const channelCredentials = (client: IssuedCertificate | undefined, trust: TestCa) =>
    client === undefined
      ? credentials.createSsl(Buffer.from(trust.cert))
      : credentials.createSsl(
          Buffer.from(trust.cert),
          Buffer.from(client.key),
          Buffer.from(client.cert),
        );
  return {
    agent,
    backend,
    address,
    policy,
    tls,
    audit,
    client(client, trust = ca) {
      const raw = new WmsSessionServiceClient(
        address,
        channelCredentials(client, trust),
        CHANNEL_OPTIONS,
      );
      clients.push(raw);
      return promisifyClient(raw);
    },
    health(client) {
      const raw = healthClient(address, channelCredentials(client, ca), CHANNEL_OPTIONS);
      clients.push(raw);
      return (service = "") => checkHealth(raw, service);
    },
  };
}

/** Asserts that a call failed with `code` and a message matching `message`. */
async function rejectsWith(call: Promise<unknown>, code: Status, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: ServiceError) => {
    assert.equal(Status[error.code], Status[code], error.details);
    if (message !== undefined) assert.match(error.details, message);
    return true;
  });
}

describe("mutual TLS handshake", () => {
  it("refuses a client without a certificate (the client sees UNAVAILABLE)", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    await rejectsWith(agent.client(undefined).listSessions(), Status.UNAVAILABLE);
    await rejectsWith(agent.client(undefined).disconnect({ sessionIds: [2] }), Status.UNAVAILABLE);
    assert.deepEqual(agent.backend.disconnectCalls(), []);
    assert.deepEqual(agent.audit.records, [], "nothing reached the service");
  });

  it("refuses a certificate from another CA, even with an allowed CN", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    const rogue = await createTestCa("rogue CA");
    const client = agent.client(await rogue.issueClient("ops"));
    await rejectsWith(client.disconnect({ sessionIds: [2] }), Status.UNAVAILABLE);
    assert.deepEqual(agent.backend.disconnectCalls(), []);
    assert.deepEqual(agent.audit.records, []);
  });

  it("refuses an expired client certificate and one not valid yet", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    const { ca } = await pki;
    const expired = agent.client(await ca.issueClient("ops", validityWindows.expired));
    await rejectsWith(expired.listSessions(), Status.UNAVAILABLE);
    const early = agent.client(await ca.issueClient("ops", validityWindows.notYetValid));
    await rejectsWith(early.listSessions(), Status.UNAVAILABLE);
    assert.deepEqual(agent.audit.records, []);
  });

  it("refuses a client that does not trust the agent's CA (the agent is verified too)", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    const { ca } = await pki;
    const other = await createTestCa("another CA");
    const client = agent.client(await ca.issueClient("ops"), other);
    await rejectsWith(client.listSessions(), Status.UNAVAILABLE);
  });
});

describe("roles", () => {
  it("answers an unknown identity PERMISSION_DENIED, naming it and the RPC", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    const { ca } = await pki;
    const stranger = await ca.issueClient("stranger");
    const client = agent.client(stranger);
    await rejectsWith(
      client.listSessions(),
      Status.PERMISSION_DENIED,
      /^identity "stranger" is not allowed to call wms\.v1\.WmsSessionService\/ListSessions \(no --allow entry\)$/,
    );
    await rejectsWith(
      agent.health(stranger)(),
      Status.PERMISSION_DENIED,
      /^identity "stranger" is not allowed to call grpc\.health\.v1\.Health/,
    );
    await rejectsWith(
      client.disconnectAll({ whatIf: true }),
      Status.PERMISSION_DENIED,
      /"stranger".*DisconnectAll/,
    );
    assert.deepEqual(
      agent.audit.results.map((r) => [r.rpc, r.identity, r.status?.code]),
      [["DisconnectAll", "stranger", "PERMISSION_DENIED"]],
    );
  });

  it("lets a reader list sessions, read agent info and ask health", async (t) => {
    const agent = await startSecureAgent(t, { "kiosk-7": "reader" });
    const { ca } = await pki;
    const reader = await ca.issueClient("kiosk-7");
    const client = agent.client(reader);
    assert.equal((await client.listSessions()).sessions.length, 13);
    assert.equal((await client.getAgentInfo()).host, TEST_HOST);
    assert.equal(await agent.health(reader)(), "SERVING");
    assert.equal(await agent.health(reader)("wms.v1.WmsSessionService"), "SERVING");
  });

  it("refuses a reader's Disconnect and DisconnectAll, audits both, touches no session", async (t) => {
    const agent = await startSecureAgent(t, { "kiosk-7": "reader" });
    const { ca } = await pki;
    const client = agent.client(await ca.issueClient("kiosk-7"));
    await rejectsWith(
      client.disconnect({ sessionIds: [2], expectedHost: TEST_HOST }),
      Status.PERMISSION_DENIED,
      /^identity "kiosk-7" may not call wms\.v1\.WmsSessionService\/Disconnect \(role reader\)$/,
    );
    await rejectsWith(
      client.disconnectAll({ whatIf: true }),
      Status.PERMISSION_DENIED,
      /kiosk-7.*DisconnectAll \(role reader\)/,
    );
    assert.deepEqual(agent.backend.disconnectCalls(), []);
    const listed = await client.listSessions({ sessionIds: [2] });
    assert.equal(listed.sessions[0]?.userName, "amelia");
    assert.deepEqual(
      agent.audit.results.map((r) => [r.rpc, r.identity, r.status?.code, r.results]),
      [
        ["Disconnect", "kiosk-7", "PERMISSION_DENIED", undefined],
        ["DisconnectAll", "kiosk-7", "PERMISSION_DENIED", undefined],
      ],
    );
    assert.match(agent.audit.results[0]?.peer ?? "", /^127\.0\.0\.1:\d+$/);
    assert.match(agent.audit.results[0]?.status?.message ?? "", /role reader/);
  });

  it("lets an operator disconnect, and audits the results", async (t) => {
    const agent = await startSecureAgent(t, { "kiosk-7": "reader", ops: "operator" });
    const { ca } = await pki;
    const client = agent.client(await ca.issueClient("ops"));
    const response = await client.disconnect({ sessionIds: [2, 0], expectedHost: TEST_HOST });
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome]]),
      [
        [2, "DISCONNECTED"],
        [0, "PROTECTED"],
      ],
    );
    assert.deepEqual(agent.backend.disconnectCalls(), [{ sessionId: 2, wait: true }]);
    const [record] = agent.audit.results;
    assert.equal(record?.identity, "ops");
    assert.equal(record?.status, undefined);
    assert.deepEqual(
      record?.results?.map((r) => ({ ...r, message: typeof r.message })),
      [
        {
          sessionId: 2,
          outcome: "DISCONNECTED",
          message: "string",
          win32Error: 0,
          user: "LAB\\amelia",
        },
        {
          sessionId: 0,
          outcome: "PROTECTED",
          message: "string",
          win32Error: 0,
          protection: "SERVICES_SESSION",
        },
      ],
    );
  });

  it("takes the identity from a SAN (email, URI, DNS in any case) and the strongest role", async (t) => {
    const agent = await startSecureAgent(t, {
      "laptop-17": "reader",
      "ops@lab.example.com": "operator",
      "spiffe://lab.example.com/monitor": "reader",
      "Console.Lab.Example.com": "operator",
    });
    const { ca } = await pki;
    const byEmail = agent.client(
      await ca.issueClient("laptop-17", {
        sans: [{ type: "email", value: "ops@lab.example.com" }],
      }),
    );
    assert.equal((await byEmail.disconnect({ sessionIds: [3], whatIf: true })).results.length, 1);
    const byUri = agent.client(
      await ca.issueClient("monitor", {
        sans: [{ type: "url", value: "spiffe://lab.example.com/monitor" }],
      }),
    );
    assert.equal((await byUri.listSessions()).sessions.length, 13);
    await rejectsWith(
      byUri.disconnect({ sessionIds: [3] }),
      Status.PERMISSION_DENIED,
      /^identity "spiffe:\/\/lab\.example\.com\/monitor" may not call .*Disconnect \(role reader\)$/,
    );
    const byDns = agent.client(
      await ca.issueClient("console", {
        sans: [{ type: "dns", value: "CONSOLE.lab.example.com" }],
      }),
    );
    assert.equal((await byDns.disconnect({ sessionIds: [4], whatIf: true })).results.length, 1);
    const unknown = agent.client(
      await ca.issueClient("kiosk-9", {
        sans: [{ type: "email", value: "kiosk9@lab.example.com" }],
      }),
    );
    await rejectsWith(
      unknown.listSessions(),
      Status.PERMISSION_DENIED,
      /^identity "kiosk-9" \(also "kiosk9@lab\.example\.com"\) is not allowed/,
    );
    assert.deepEqual(
      agent.audit.results.map((r) => [r.identity, r.status?.code ?? "OK"]),
      [
        ["ops@lab.example.com", "OK"],
        ["spiffe://lab.example.com/monitor", "PERMISSION_DENIED"],
        ["console.lab.example.com", "OK"],
      ],
    );
  });
});

describe("changes while running", () => {
  it("replaces certificates for new connections and keeps open ones working", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    const { ca } = await pki;
    const before = agent.client(await ca.issueClient("ops"));
    assert.equal((await before.listSessions()).sessions.length, 13);

    const next = await createTestCa("wmsfleet test CA 2");
    const nextAgentCert = await next.issueServer([TEST_HOST], ["127.0.0.1"]);
    agent.tls.update(await agentTlsMaterial(t, next, nextAgentCert));

    // The open connection keeps the context it was made with.
    assert.equal((await before.listSessions()).sessions.length, 13);
    // New connections see the new agent certificate and CA.
    const after = agent.client(await next.issueClient("ops"), next);
    assert.equal((await after.disconnect({ sessionIds: [2], whatIf: true })).results.length, 1);
    const stale = agent.client(await ca.issueClient("ops"));
    await rejectsWith(stale.listSessions(), Status.UNAVAILABLE);
  });

  it("lets a call in flight finish while certificates and allow-list are replaced", async (t) => {
    const entered = gate();
    const held = gate();
    const agent = await startSecureAgent(
      t,
      { ops: "operator" },
      {
        wrap: (inner) => ({
          name: inner.name,
          listSessions: () => inner.listSessions(),
          disconnectSession: async (id, options) => {
            entered.open();
            await held.promise;
            return inner.disconnectSession(id, options);
          },
          logoffSession: (id, options) => inner.logoffSession(id, options),
          sendMessage: (id, box) => inner.sendMessage(id, box),
          sessionOfProcess: (pid) => inner.sessionOfProcess(pid),
          agentSessionId: () => inner.agentSessionId(),
          isHealthy: () => inner.isHealthy(),
          close: () => inner.close(),
        }),
      },
    );
    const { ca } = await pki;
    const client = agent.client(await ca.issueClient("ops"));
    const call = client.disconnect({ sessionIds: [2] });
    await entered.promise;

    const next = await createTestCa("wmsfleet test CA 3");
    const nextAgentCert = await next.issueServer([TEST_HOST]);
    agent.tls.update(await agentTlsMaterial(t, next, nextAgentCert));
    agent.policy.update(new Map([["ops", "reader"]]));
    held.open();

    const response = await call;
    assert.deepEqual(
      response.results.map((r) => [r.sessionId, Outcome[r.outcome]]),
      [[2, "DISCONNECTED"]],
    );
    assert.deepEqual(
      agent.audit.results.map((r) => [r.identity, r.status?.code ?? "OK"]),
      [["ops", "OK"]],
    );
    // The next call on the same connection is judged by the new allow-list.
    await rejectsWith(
      client.disconnect({ sessionIds: [3] }),
      Status.PERMISSION_DENIED,
      /role reader/,
    );
  });

  it("judges calls by a replaced allow-list at once, on open connections too", async (t) => {
    const agent = await startSecureAgent(t, { ops: "operator" });
    const { ca } = await pki;
    const client = agent.client(await ca.issueClient("ops"));
    assert.equal((await client.disconnect({ sessionIds: [2], whatIf: true })).results.length, 1);
    agent.policy.update(new Map([["ops", "reader"]]));
    await rejectsWith(
      client.disconnect({ sessionIds: [2], whatIf: true }),
      Status.PERMISSION_DENIED,
      /role reader/,
    );
    agent.policy.update(new Map());
    await rejectsWith(client.listSessions(), Status.PERMISSION_DENIED, /no --allow entry/);
  });
});
