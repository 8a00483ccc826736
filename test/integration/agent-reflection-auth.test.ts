/**
 * Server reflection behind the roles (DESIGN section 5): under mutual TLS a `reader` (or better)
 * may list the agent's services the way grpcurl does, in both protocol versions; an identity in
 * no `--allow` entry is refused with `PERMISSION_DENIED` before the agent answers anything.
 * Without an authorizer (`--insecure-loopback`) reflection stays open, as every other RPC.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import {
  credentials,
  loadPackageDefinition,
  status as Status,
  type ChannelCredentials,
  type Client,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { startAgent } from "../../agent/server/agent.js";
import { createAccessPolicy } from "../../agent/security/authorization.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import type { Role } from "../../agent/config/options.js";
import { createTlsCredentials } from "../../agent/security/tls-credentials.js";
import { loadTlsMaterial } from "../../agent/security/tls.js";
import { TEST_FIXTURE, TEST_HOST } from "../helpers/agent-harness.js";
import { createTestCa, pemFolder, type IssuedCertificate } from "../helpers/test-pki.js";

type Version = "v1" | "v1alpha";
const VERSIONS: readonly Version[] = ["v1", "v1alpha"];

/** The reflection clients, built from @grpc/reflection's own `.proto` files as grpcurl knows them. */
const reflectionClients = (() => {
  const protoDir = join(
    dirname(createRequire(import.meta.url).resolve("@grpc/reflection")),
    "../proto/grpc/reflection",
  );
  const load = (version: Version) => {
    const definition = loadSync(join(protoDir, version, "reflection.proto"), { keepCase: true });
    const grpc = (loadPackageDefinition(definition) as { grpc: Record<string, unknown> }).grpc;
    const reflection = grpc["reflection"] as Record<
      Version,
      { ServerReflection: ServiceClientConstructor }
    >;
    return reflection[version].ServerReflection;
  };
  return { v1: load("v1"), v1alpha: load("v1alpha") };
})();

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

/** What one reflection stream got: its answers, and its error if it ended with one. */
interface ReflectionOutcome {
  readonly answers: Record<string, unknown>[];
  readonly error: ServiceError | undefined;
}

/**
 * Starts an agent (mutual TLS with `allow`, or insecure without it) and returns a function that
 * asks its reflection service (`version`) for the list of services, presenting `client`.
 */
async function startReflectionAgent(
  t: TestContext,
  allow: Record<string, Role> | undefined,
): Promise<(version: Version, client?: IssuedCertificate) => Promise<ReflectionOutcome>> {
  const { ca, agentCert } = await pki;
  let serverCredentials;
  let authorize;
  if (allow !== undefined) {
    const folder = await pemFolder(t);
    const material = await loadTlsMaterial({
      cert: await folder.write("agent.pem", agentCert.cert),
      key: await folder.write("agent.key", agentCert.key),
      ca: await folder.write("ca.pem", ca.cert),
    });
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
  const clients: Client[] = [];
  t.after(async () => {
    for (const client of clients) client.close();
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
    const raw = new reflectionClients[version](address, channelCredentials, CHANNEL_OPTIONS);
    clients.push(raw);
    const stream = (
      raw as unknown as {
        ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(m: object): boolean };
      }
    ).ServerReflectionInfo();
    const answers: Record<string, unknown>[] = [];
    const outcome = new Promise<ReflectionOutcome>((resolve) => {
      stream.on("data", (message: Record<string, unknown>) => answers.push(message));
      stream.on("end", () => resolve({ answers, error: undefined }));
      stream.on("error", (error: ServiceError) => resolve({ answers, error }));
    });
    stream.write({ list_services: "" });
    stream.end();
    return outcome;
  };
}

/** The service names of a `list_services` answer. */
function listedServices(answer: Record<string, unknown> | undefined): string[] {
  const response = answer?.["list_services_response"] as
    { service: { name: string }[] } | undefined;
  assert.ok(response, `not a list_services answer: ${JSON.stringify(answer)}`);
  return response.service.map((s) => s.name).sort();
}

/** Services every listing must include. */
const EXPECTED_SERVICES = ["grpc.health.v1.Health", "wms.v1.WmsSessionService"];

describe("server reflection under mutual TLS", () => {
  it("lets a reader (and an operator) list the services, in v1 and v1alpha", async (t) => {
    const reflect = await startReflectionAgent(t, { "kiosk-7": "reader", ops: "operator" });
    const { ca } = await pki;
    for (const identity of ["kiosk-7", "ops"]) {
      const certificate = await ca.issueClient(identity);
      for (const version of VERSIONS) {
        const { answers, error } = await reflect(version, certificate);
        assert.equal(error, undefined, `${identity} ${version}: ${error?.details}`);
        assert.equal(answers.length, 1);
        const services = listedServices(answers[0]);
        for (const name of EXPECTED_SERVICES) {
          assert.ok(services.includes(name), `${identity} ${version}: ${services.join(", ")}`);
        }
      }
    }
  });

  it("answers an unknown identity PERMISSION_DENIED naming it and the RPC, and nothing else", async (t) => {
    const reflect = await startReflectionAgent(t, { "kiosk-7": "reader" });
    const { ca } = await pki;
    const stranger = await ca.issueClient("stranger");
    for (const version of VERSIONS) {
      const { answers, error } = await reflect(version, stranger);
      assert.equal(error?.code, Status.PERMISSION_DENIED, `${version}: ${error?.details}`);
      assert.equal(
        error.details,
        `identity "stranger" is not allowed to call grpc.reflection.${version}.ServerReflection/ServerReflectionInfo (no --allow entry)`,
      );
      assert.deepEqual(answers, [], `${version}: answered before the check`);
    }
  });
});

describe("server reflection without TLS (--insecure-loopback)", () => {
  it("stays open to every loopback caller, in v1 and v1alpha", async (t) => {
    const reflect = await startReflectionAgent(t, undefined);
    for (const version of VERSIONS) {
      const { answers, error } = await reflect(version);
      assert.equal(error, undefined, `${version}: ${error?.details}`);
      const services = listedServices(answers[0]);
      for (const name of EXPECTED_SERVICES) assert.ok(services.includes(name), services.join(", "));
    }
  });
});
