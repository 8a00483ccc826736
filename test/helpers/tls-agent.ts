/**
 * An in-process agent under mutual TLS with certificates made in the test (an operator `ops`, a
 * reader `kiosk-7`, and `stranger`, issued by the fleet CA but given no role), its log lines
 * captured, for the tests of the interceptor chain and the limits.
 */
import { Writable } from "node:stream";
import type { TestContext } from "node:test";
import { credentials, type ChannelCredentials, type Client } from "@grpc/grpc-js";
import { pino } from "pino";
import { startAgent, type Agent, type AgentOptions } from "../../agent/server/agent.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createTlsCredentials } from "../../agent/security/tls-credentials.js";
import { loadTlsMaterial, type TlsMaterial } from "../../agent/security/tls.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { WmsSessionServiceClient } from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient, TEST_FIXTURE, TEST_HOST, type TestClient } from "./agent-harness.js";
import { checkHealth, healthClient } from "./health-client.js";
import { createTestCa, pemFolder, type IssuedCertificate, type TestCa } from "./test-pki.js";

/** The test PKI, made once per test file. */
export const testPki = (async () => {
  const ca = await createTestCa("wmsfleet test CA");
  return {
    ca,
    agentCert: await ca.issueServer([TEST_HOST], ["127.0.0.1"]),
    operator: await ca.issueClient("ops"),
    reader: await ca.issueClient("kiosk-7"),
    stranger: await ca.issueClient("stranger"),
  };
})();

/**
 * An agent's TLS material as the agent loads it: `certificate` and its key, and `ca`'s certificate,
 * written to files in a folder removed after the test.
 */
export async function agentTlsMaterial(
  t: TestContext,
  ca: TestCa,
  certificate: IssuedCertificate,
): Promise<TlsMaterial> {
  const folder = await pemFolder(t);
  return loadTlsMaterial({
    cert: await folder.write("agent.pem", certificate.cert),
    key: await folder.write("agent.key", certificate.key),
    ca: await folder.write("ca.pem", ca.cert),
  });
}

/** Reach 127.0.0.1 but verify the agent as TEST_HOST, as wmsctl does behind --resolve. */
export const CHANNEL_OPTIONS = {
  "grpc.ssl_target_name_override": TEST_HOST,
  "grpc.default_authority": TEST_HOST,
};

/** One JSON line of the agent's log. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A running agent under mutual TLS and what the tests need around it. */
export interface TlsAgent {
  readonly agent: Agent;
  readonly backend: SimulatedBackend;
  readonly port: number;
  readonly address: string;
  readonly ca: TestCa;
  /** The agent's log lines so far (level debug and up). */
  readonly logs: LogLine[];
  /** A session client presenting `certificate` (its own connection); closed after the test. */
  client(certificate: IssuedCertificate): TestClient;
  /** Asks health over a new connection presenting `certificate` (default: the operator's). */
  health(certificate?: IssuedCertificate): Promise<string>;
  /** The channel credentials of `certificate`. */
  channelCredentials(certificate: IssuedCertificate): ChannelCredentials;
}

/**
 * Starts an agent with `allow` (default: `ops` operator, `kiosk-7` reader), the simulated test
 * fixture and `options`; it and its clients are closed after the test.
 */
export async function startTlsAgent(
  t: TestContext,
  options: Partial<AgentOptions> & {
    handshakeTimeoutMs?: number;
    allow?: Record<string, "reader" | "operator">;
  } = {},
): Promise<TlsAgent> {
  const { ca, agentCert, operator } = await testPki;
  const material = await agentTlsMaterial(t, ca, agentCert);
  const { handshakeTimeoutMs, allow, ...agentOptions } = options;
  const logs: LogLine[] = [];
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString("utf8").split("\n")) {
          if (line !== "") logs.push(JSON.parse(line) as LogLine);
        }
        callback();
      },
    }),
  );
  const backend = createSimulatedBackend({
    fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
    env: {},
  });
  const agent = await startAgent({
    hostFqdn: TEST_HOST,
    backend,
    logger,
    healthIntervalMs: 60_000,
    credentials: createTlsCredentials(
      material,
      handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs },
    ).credentials,
    authorize: createAccessPolicy(
      new Map(Object.entries(allow ?? { ops: "operator", "kiosk-7": "reader" })),
    ).authorize,
    ...agentOptions,
  });
  const port = agent.ports[0] ?? 0;
  const address = `127.0.0.1:${port}`;
  const clients: Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
    await agent.shutdown({ graceMs: 1000 });
  });
  const channelCredentials = (certificate: IssuedCertificate) =>
    credentials.createSsl(
      Buffer.from(ca.cert),
      Buffer.from(certificate.key),
      Buffer.from(certificate.cert),
    );
  return {
    agent,
    backend,
    port,
    address,
    ca,
    logs,
    channelCredentials,
    client(certificate) {
      const raw = new WmsSessionServiceClient(address, channelCredentials(certificate), {
        ...CHANNEL_OPTIONS,
        // Its own connection, not one shared with the test's other clients.
        "grpc.use_local_subchannel_pool": 1,
      });
      clients.push(raw);
      return promisifyClient(raw);
    },
    async health(certificate = operator) {
      const client = healthClient(address, channelCredentials(certificate), {
        ...CHANNEL_OPTIONS,
        "grpc.use_local_subchannel_pool": 1,
      });
      try {
        return await checkHealth(client);
      } finally {
        client.close();
      }
    },
  };
}
