/**
 * Every connection belongs to the controller that made it: closing the controller ends a TLS
 * handshake the peer never answers, and a handshake is bounded by `handshakeTimeoutMs`. A
 * connection that fails says why in words a person can act on: a plaintext agent reached with
 * TLS, a TLS agent reached without it, a client certificate from another CA, a port that never
 * answers TLS. This also pins the grpc-js hook `OwnedCredentials` wraps
 * (`ChannelCredentials._createSecureConnector`): without it, none of these messages appear.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ServerCredentials, credentials } from "@grpc/grpc-js";
import { createController, type HostResult } from "../../controller/index.js";
import {
  loopbackTarget,
  startHost,
  startSilentServer,
  stopFleet,
  type FleetHost,
  type SilentServer,
} from "../helpers/controller-fleet.js";
import { makeTestPki, type TestPki } from "../helpers/controller-tls.js";

const FQDN = "owned.lab.example.com";

async function only<T>(results: AsyncIterable<HostResult<T>>): Promise<HostResult<T>> {
  const list: HostResult<T>[] = [];
  for await (const result of results) list.push(result);
  assert.equal(list.length, 1);
  return list[0] as HostResult<T>;
}

void describe("connections owned by the controller", () => {
  let pki: TestPki;
  let stranger: TestPki;
  let tlsHost: FleetHost;
  let plainHost: FleetHost;
  before(async () => {
    [pki, stranger] = await Promise.all([makeTestPki(FQDN), makeTestPki(FQDN)]);
    [tlsHost, plainHost] = await Promise.all([
      startHost({
        fqdn: FQDN,
        credentials: ServerCredentials.createSsl(
          pki.ca,
          [{ cert_chain: pki.agentCert, private_key: pki.agentKey }],
          true,
        ),
      }),
      startHost({ fqdn: FQDN }),
    ]);
  });
  after(async () => {
    await stopFleet([tlsHost, plainHost]);
    await Promise.all([pki.remove(), stranger.remove()]);
  });

  const mutualTls = () => credentials.createSsl(pki.ca, pki.clientKey, pki.clientCert);

  void it("close() ends a TLS handshake the peer never answers", async () => {
    const silent: SilentServer = await startSilentServer();
    const controller = createController({
      credentials: mutualTls(),
      timeoutMs: 1000,
      retries: 0,
      handshakeTimeoutMs: 600_000,
    });
    try {
      const result = await only(controller.getAgentInfo([loopbackTarget(FQDN, silent.port)]));
      assert.equal(result.status, "timeout");
      assert.match(
        result.message,
        /^127\.0\.0\.1:\d+ accepted the connection but never finished the TLS handshake within the deadline/,
      );
      assert.equal(silent.connections(), 1);
    } finally {
      controller.close();
    }
    // The handshake's socket is closed by the controller, not left to the peer.
    await silent.clientsGone();
    await silent.close();
  });

  void it("abandons a handshake after handshakeTimeoutMs, and says so", async () => {
    const silent = await startSilentServer();
    const controller = createController({
      credentials: mutualTls(),
      timeoutMs: 60_000,
      retries: 0,
      handshakeTimeoutMs: 200,
    });
    try {
      const result = await only(controller.getAgentInfo([loopbackTarget(FQDN, silent.port)]));
      assert.equal(result.status, "unreachable");
      assert.match(
        result.message,
        /^127\.0\.0\.1:\d+ accepted the connection but never answered the TLS handshake: it is not a wms-agent/,
      );
      await silent.clientsGone();
    } finally {
      controller.close();
      await silent.close();
    }
  });

  void it("says what the handshake said: TLS to a plaintext agent, plaintext to a TLS agent, a client certificate from another CA", async () => {
    const cases = [
      {
        credentials: mutualTls(),
        port: plainHost.agent.ports[0] as number,
        message:
          /^127\.0\.0\.1:\d+ answered the TLS handshake in plaintext \(TLS: wrong version number\): the agent there runs without TLS \(--insecure-loopback\)/,
      },
      {
        credentials: credentials.createInsecure(),
        port: tlsHost.agent.ports[0] as number,
        message:
          /^127\.0\.0\.1:\d+ closed the connection without answering HTTP\/2: it most likely requires TLS .*drop --insecure-loopback and give --ca, --cert and --key$/,
      },
      {
        credentials: credentials.createSsl(pki.ca, stranger.clientKey, stranger.clientCert),
        port: tlsHost.agent.ports[0] as number,
        message:
          /^127\.0\.0\.1:\d+ finished the TLS handshake, then closed the connection without answering: it most likely refused this client's certificate/,
      },
    ];
    for (const { credentials: given, port, message } of cases) {
      const controller = createController({ credentials: given, retries: 0 });
      try {
        const result = await only(controller.getAgentInfo([loopbackTarget(FQDN, port)]));
        assert.equal(result.status, "unreachable");
        assert.match(result.message, message);
        assert.equal(result.code, "UNAVAILABLE");
      } finally {
        controller.close();
      }
    }
  });

  void it("names both sides when the agent's certificate is for another name (denied)", async () => {
    const controller = createController({ credentials: mutualTls(), retries: 0 });
    try {
      const port = tlsHost.agent.ports[0] as number;
      const result = await only(
        controller.getAgentInfo([loopbackTarget("other.lab.example.com", port)]),
      );
      assert.equal(result.status, "denied");
      assert.match(
        result.message,
        /^the agent at 127\.0\.0\.1:\d+ has a certificate for another name \(TLS: \[ERR_TLS_CERT_ALTNAME_INVALID\] .*DNS:owned\.lab\.example\.com\): check that this is other\.lab\.example\.com's address .*wmsctl pki issue-agent other\.lab\.example\.com\)$/,
      );
    } finally {
      controller.close();
    }
  });
});
