/**
 * The auth context kept per TLS connection (`agent/security/auth-context-cache.ts`): grpc-js's internals
 * still lead from a call to its socket (else the cache would silently fall back to a certificate
 * object per call), and connections with different certificates, open together and called in
 * turn, each keep their own identity.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TLSSocket } from "node:tls";
import {
  credentials,
  Server,
  ServerCredentials,
  status as Status,
  type ServiceError,
} from "@grpc/grpc-js";
import { startAgent } from "../../agent/server/agent.js";
import { callSocket, connectionAuthContext } from "../../agent/security/auth-context-cache.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import {
  ListSessionsRequest,
  ListSessionsResponse,
  WmsSessionServiceClient,
  WmsSessionServiceService,
  type WmsSessionServiceServer,
} from "../../proto/gen/wms/v1/wms_session.js";
import { promisifyClient, TEST_FIXTURE, TEST_HOST } from "../helpers/agent-harness.js";
import { createTestCa, type IssuedCertificate, type TestCa } from "../helpers/test-pki.js";

const CHANNEL_OPTIONS = {
  "grpc.ssl_target_name_override": TEST_HOST,
  "grpc.default_authority": TEST_HOST,
};

const pki = (async () => {
  const ca = await createTestCa("wmsfleet test CA");
  const agentCert = await ca.issueServer([TEST_HOST], ["127.0.0.1"]);
  return { ca, agentCert };
})();

function serverCredentials(ca: TestCa, agentCert: IssuedCertificate): ServerCredentials {
  return ServerCredentials.createSsl(
    Buffer.from(ca.cert),
    [{ private_key: Buffer.from(agentCert.key), cert_chain: Buffer.from(agentCert.cert) }],
    true,
  );
}

function client(address: string, ca: TestCa, certificate: IssuedCertificate) {
  return new WmsSessionServiceClient(
    address,
    credentials.createSsl(
      Buffer.from(ca.cert),
      Buffer.from(certificate.key),
      Buffer.from(certificate.cert),
    ),
    CHANNEL_OPTIONS,
  );
}

describe("auth context per connection", () => {
  it("finds each call's TLS socket through grpc-js, and reads the certificate once per socket", async (t) => {
    const { ca, agentCert } = await pki;
    const seen: { socket: TLSSocket | undefined; cn: unknown; cached: boolean }[] = [];
    const server = new Server();
    const implementation: WmsSessionServiceServer = {
      listSessions(call, callback) {
        const first = connectionAuthContext(call);
        seen.push({
          socket: callSocket(call),
          cn: first.sslPeerCertificate?.subject.CN,
          cached: connectionAuthContext(call) === first,
        });
        callback(null, ListSessionsResponse.create());
      },
      disconnect: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
      disconnectAll: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
      getAgentInfo: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
      logoff: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
      logoffAll: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
      sendMessage: (_call, callback) => callback({ code: Status.UNIMPLEMENTED }),
      watchSessions: (call) => call.emit("error", { code: Status.UNIMPLEMENTED }),
    };
    server.addService(WmsSessionServiceService, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", serverCredentials(ca, agentCert), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      ),
    );
    const a = client(`127.0.0.1:${port}`, ca, await ca.issueClient("client-a"));
    const b = client(`127.0.0.1:${port}`, ca, await ca.issueClient("client-b"));
    t.after(async () => {
      a.close();
      b.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    });
    const list = (c: WmsSessionServiceClient) =>
      new Promise<void>((resolve, reject) =>
        c.listSessions(ListSessionsRequest.create(), (error: ServiceError | null) =>
          error === null ? resolve() : reject(error),
        ),
      );
    for (const c of [a, b, a, b]) await list(c);
    assert.deepEqual(
      seen.map((s) => [s.cn, s.cached]),
      [
        ["client-a", true],
        ["client-b", true],
        ["client-a", true],
        ["client-b", true],
      ],
    );
    assert.ok(seen.every((s) => s.socket instanceof TLSSocket));
    assert.equal(seen[0]?.socket, seen[2]?.socket);
    assert.equal(seen[1]?.socket, seen[3]?.socket);
    assert.notEqual(seen[0]?.socket, seen[1]?.socket);
  });

  it("judges each of two open connections by its own certificate, calls interleaved", async (t) => {
    const { ca, agentCert } = await pki;
    const agent = await startAgent({
      hostFqdn: TEST_HOST,
      backend: createSimulatedBackend({
        fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
        env: {},
      }),
      healthIntervalMs: 60_000,
      credentials: serverCredentials(ca, agentCert),
      authorize: createAccessPolicy(new Map([["kiosk-7", "reader"]])).authorize,
    });
    const address = `127.0.0.1:${agent.ports[0]}`;
    const reader = client(address, ca, await ca.issueClient("kiosk-7"));
    const stranger = client(address, ca, await ca.issueClient("stranger"));
    t.after(async () => {
      reader.close();
      stranger.close();
      await agent.shutdown({ graceMs: 1000 });
    });
    const asReader = promisifyClient(reader);
    const asStranger = promisifyClient(stranger);
    for (let round = 0; round < 3; round++) {
      const [allowed, refused] = await Promise.allSettled([
        asReader.listSessions(),
        asStranger.listSessions(),
      ]);
      assert.equal(allowed.status, "fulfilled");
      assert.equal(refused.status, "rejected");
      assert.match((refused.reason as ServiceError).details, /^identity "stranger" is not allowed/);
    }
  });
});
