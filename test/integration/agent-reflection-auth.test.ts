/**
 * Server reflection behind the roles (DESIGN section 5): under mutual TLS a `reader` (or better)
 * may list the agent's services and read their whole schema the way grpcurl does, in both
 * protocol versions; an identity in no `--allow` entry is refused with `PERMISSION_DENIED` before
 * the agent answers anything. Without an authorizer (`--insecure-loopback`) reflection stays
 * open, as every other RPC.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  credentials,
  status as Status,
  type ChannelCredentials,
  type ServiceError,
} from "@grpc/grpc-js";
import { startAgent } from "../../agent/server/agent.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import type { Role } from "../../agent/config/options.js";
import { createTlsCredentials } from "../../agent/security/tls-credentials.js";
import { agentTlsMaterial } from "../helpers/tls-agent.js";
import { TEST_FIXTURE, TEST_HOST } from "../helpers/agent-harness.js";
import {
  openReflection,
  SchemaReader,
  type ReflectionStream,
  type ReflectionVersion,
} from "../helpers/reflection-client.js";
import { createTestCa, type IssuedCertificate } from "../helpers/test-pki.js";

const VERSIONS: readonly ReflectionVersion[] = ["v1", "v1alpha"];

/** A CA and the agent's certificate, shared by the tests of this file. */
const pki = (async () => {
  const ca = await createTestCa("wmsfleet reflection test CA");
  const agentCert = await ca.issueServer([TEST_HOST], ["127.0.0.1"]);
  return { ca, agentCert };
})();

/** Reach 127.0.0.1 but verify the agent as TEST_HOST, as wmsctl does behind --resolve. */
const CHANNEL_OPTIONS = {
  "grpc.ssl_target_name_override": TEST_HOST,
  "grpc.default_authority": TEST_HOST,
};

/** What one reflection stream got: the services listed, or the error it ended with. */
interface ListOutcome {
  readonly services: string[] | undefined;
  readonly error: ServiceError | undefined;
}

/** Opens reflection streams to an agent, presenting a client certificate (or none: insecure). */
type Reflect = (version: ReflectionVersion, client?: IssuedCertificate) => ReflectionStream;

/**
 * Starts an agent (mutual TLS with `allow`, or insecure without it) and returns a function that
 * opens reflection streams to it; every stream is closed, then the agent stopped, after the test.
 */
async function startReflectionAgent(
  t: TestContext,
  allow: Record<string, Role> | undefined,
): Promise<Reflect> {
  const { ca, agentCert } = await pki;
  let serverCredentials;
  let authorize;
  if (allow !== undefined) {
    const material = await agentTlsMaterial(t, ca, agentCert);
    serverCredentials = createTlsCredentials(material).credentials;
    authorize = createAccessPolicy(new Map(Object.entries(allow))).authorize;
  }
  const agent = await startAgent({
    hostFqdn: TEST_HOST,
    backend: createSimulatedBackend({
      fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
      env: {},
    }),
    healthIntervalMs: 60_000,
    ...(serverCredentials === undefined ? {} : { credentials: serverCredentials }),
    ...(authorize === undefined ? {} : { authorize }),
  });
  const address = `127.0.0.1:${agent.ports[0]}`;
  const streams: ReflectionStream[] = [];
  t.after(async () => {
    await Promise.all(streams.map((stream) => stream.close()));
    await agent.shutdown({ graceMs: 1000 });
  });
  return (version, client) => {
    const channelCredentials: ChannelCredentials =
      client === undefined
        ? credentials.createInsecure()
        : credentials.createSsl(
            Buffer.from(ca.cert),
            Buffer.from(client.key),
            Buffer.from(client.cert),
          );
    const stream = openReflection(address, version, channelCredentials, CHANNEL_OPTIONS);
    streams.push(stream);
    return stream;
  };
}

/** Asks for the list of services; resolves with it, or with the error the stream ended with. */
async function listServices(stream: ReflectionStream): Promise<ListOutcome> {
  try {
    return { services: await new SchemaReader(stream).listServices(), error: undefined };
  } catch (error) {
    return { services: undefined, error: error as ServiceError };
  }
}

/** Every service the agent mounts, reflection included. */
const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "wms.v1.WmsSessionService",
];

describe("server reflection under mutual TLS", () => {
  it("lets a reader (and an operator) list the services, in v1 and v1alpha", async (t) => {
    const reflect = await startReflectionAgent(t, { "kiosk-7": "reader", ops: "operator" });
    const { ca } = await pki;
    for (const identity of ["kiosk-7", "ops"]) {
      const certificate = await ca.issueClient(identity);
      for (const version of VERSIONS) {
        const { services, error } = await listServices(reflect(version, certificate));
        assert.equal(error, undefined, `${identity} ${version}: ${error?.details}`);
        assert.deepEqual(services, SERVICES, `${identity} ${version}`);
      }
    }
  });

  it("lets a reader read every service's schema the way grpcurl does, in v1 and v1alpha", async (t) => {
    const reflect = await startReflectionAgent(t, { "kiosk-7": "reader" });
    const certificate = await (await pki).ca.issueClient("kiosk-7");
    for (const version of VERSIONS) {
      const reader = new SchemaReader(reflect(version, certificate));
      for (const name of await reader.listServices()) {
        const { pool } = await reader.resolveSymbol(name);
        assert.ok(pool.getService(name), `${version}: ${name}`);
      }
      assert.ok(reader.files.has("wms/v1/wms_session.proto"), version);
    }
  });

  it("answers an unknown identity PERMISSION_DENIED naming it and the RPC, and nothing else", async (t) => {
    const reflect = await startReflectionAgent(t, { "kiosk-7": "reader" });
    const { ca } = await pki;
    const stranger = await ca.issueClient("stranger");
    for (const version of VERSIONS) {
      const { services, error } = await listServices(reflect(version, stranger));
      assert.equal(error?.code, Status.PERMISSION_DENIED, `${version}: ${error?.details}`);
      assert.equal(
        error.details,
        `identity "stranger" is not allowed to call grpc.reflection.${version}.ServerReflection/ServerReflectionInfo (no --allow entry)`,
      );
      assert.equal(services, undefined, `${version}: answered before the check`);
    }
  });
});

describe("server reflection without TLS (--insecure-loopback)", () => {
  it("stays open to every loopback caller, in v1 and v1alpha", async (t) => {
    const reflect = await startReflectionAgent(t, undefined);
    for (const version of VERSIONS) {
      const { services, error } = await listServices(reflect(version));
      assert.equal(error, undefined, `${version}: ${error?.details}`);
      assert.deepEqual(services, SERVICES, version);
    }
  });
});
