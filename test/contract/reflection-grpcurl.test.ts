/**
 * Server reflection as grpcurl and every other reflection client use it (issue 16), in both
 * protocol versions: the schema read the way grpcurl reads it (the service's file by symbol, then
 * each import by file name, recursively) builds in a fresh descriptor pool, every method's types
 * resolve, and `ListSessions` and a what-if `Disconnect` made only from the reflected schema
 * (dynamic messages from JSON, as `grpcurl -d`) get their answers. The files served are those
 * `buf build` wrote into `proto/gen/descriptor-set.binpb`, under their real names; what the
 * agent does not have is an `error_response` with `NOT_FOUND`.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Client, credentials } from "@grpc/grpc-js";
import {
  equals,
  fromBinary,
  type DescMessage,
  type FileRegistry,
  type JsonObject,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { status as Status } from "@grpc/grpc-js";
import { defaultSimFixture } from "../../agent/backends/sim-fixture.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { startAgent } from "../../agent/server/agent.js";
import { loadDescriptorSet } from "../../agent/server/descriptor-set.js";
import { TEST_HOST } from "../helpers/agent-harness.js";
import {
  callWithJson,
  filesOf,
  openReflection,
  ReflectionErrorResponse,
  SchemaReader,
  type ReflectionRequest,
  type ReflectionStream,
  type ReflectionVersion,
} from "../helpers/reflection-client.js";

const VERSIONS: readonly ReflectionVersion[] = ["v1", "v1alpha"];

/** Every service the agent mounts, reflection itself included (what `grpcurl list` prints). */
const SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "wms.v1.WmsSessionService",
];

/** The committed descriptor set, by file name: what the agent must serve, unchanged. */
const BUILT = new Map(
  loadDescriptorSet().files.map(({ name, bytes }) => [
    name,
    fromBinary(FileDescriptorProtoSchema, bytes),
  ]),
);

/** An agent with the shipped classroom (as `npm start`) and a reflection stream to it. */
interface Reflected {
  readonly stream: ReflectionStream;
  readonly address: string;
  readonly backend: SimulatedBackend;
  /** A generic grpc-js client to the agent, closed with the rest. */
  client(): Client;
}

/**
 * Starts the agent and opens the stream; after the test the stream and clients are closed, then
 * the agent must drain (a reflection stream left hanging would make it force).
 */
async function reflect(t: TestContext, version: ReflectionVersion): Promise<Reflected> {
  const backend = createSimulatedBackend({ fixture: defaultSimFixture(), env: {} });
  const agent = await startAgent({ hostFqdn: TEST_HOST, backend, healthIntervalMs: 60_000 });
  const address = `127.0.0.1:${agent.ports[0]}`;
  const stream = openReflection(address, version, credentials.createInsecure());
  const clients: Client[] = [];
  t.after(async () => {
    await stream.close();
    for (const client of clients) client.close();
    assert.equal(await agent.shutdown({ graceMs: 5000 }), "drained");
  });
  return {
    stream,
    address,
    backend,
    client() {
      const client = new Client(address, credentials.createInsecure());
      clients.push(client);
      return client;
    },
  };
}

/** The error answer to `request`, as `{ code, message }`. */
async function errorOf(
  stream: ReflectionStream,
  request: ReflectionRequest,
): Promise<{ code: number; message: string }> {
  const answer = await stream.ask(request);
  assert.equal(answer.message_response, "error_response", JSON.stringify(request));
  assert.equal(
    answer.original_request?.["message_request"],
    Object.keys(request)[0],
    "the answer carries the request it answers",
  );
  const error = answer.error_response;
  assert.ok(error);
  return { code: error.error_code, message: error.error_message };
}

/**
 * Checks that every message type `message` uses, through its fields and theirs, is in `pool`
 * (`describe` and a JSON body need them all).
 */
function assertResolved(pool: FileRegistry, message: DescMessage, seen = new Set<string>()): void {
  if (seen.has(message.typeName)) return;
  seen.add(message.typeName);
  assert.equal(pool.getMessage(message.typeName), message, message.typeName);
  for (const field of message.fields) {
    if (field.message !== undefined) assertResolved(pool, field.message, seen);
    if (field.enum !== undefined) assert.equal(pool.getEnum(field.enum.typeName), field.enum);
  }
}

for (const version of VERSIONS) {
  describe(`server reflection ${version}, read as grpcurl reads it`, () => {
    it("lists every mounted service, reflection included", async (t) => {
      const { stream } = await reflect(t, version);
      assert.deepEqual(await new SchemaReader(stream).listServices(), SERVICES);
    });

    it("builds each service's schema in a fresh pool, resolving every method's types", async (t) => {
      const { stream } = await reflect(t, version);
      const reader = new SchemaReader(stream);
      for (const name of await reader.listServices()) {
        const { file, pool } = await reader.resolveSymbol(name);
        const service = pool.getService(name);
        assert.ok(service, `${name} is in the pool built from ${file.name}`);
        assert.ok(service.methods.length > 0, name);
        for (const method of service.methods) {
          assertResolved(pool, method.input);
          assertResolved(pool, method.output);
        }
      }
      // The agent's file, under its real name, with the imports it declares.
      const contract = reader.files.get("wms/v1/wms_session.proto");
      assert.ok(contract, [...reader.files.keys()].join(", "));
      assert.deepEqual(contract.dependency, [
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
      ]);
      const logonTime = reader
        .pool(contract)
        .getMessage("wms.v1.Session")
        ?.fields.find((field) => field.name === "logon_time");
      assert.equal(logonTime?.message?.typeName, "google.protobuf.Timestamp");
      assert.equal(logonTime.message.file.proto.name, "google/protobuf/timestamp.proto");
    });

    it("fetches each import by file name when a client keeps only the file it asked for", async (t) => {
      const { stream } = await reflect(t, version);
      const reader = new SchemaReader(stream, { keepOnlyAnswer: true });
      const { pool } = await reader.resolveSymbol("wms.v1.WmsSessionService");
      assert.ok(pool.getMessage("wms.v1.DisconnectRequest"));
      assert.deepEqual(reader.requests, [
        "file_containing_symbol wms.v1.WmsSessionService",
        "file_by_filename google/protobuf/duration.proto",
        "file_by_filename google/protobuf/timestamp.proto",
      ]);
    });

    it("calls ListSessions and a what-if Disconnect with messages made from the reflected schema alone", async (t) => {
      const reflected = await reflect(t, version);
      const { stream, backend } = reflected;
      const { pool } = await new SchemaReader(stream).resolveSymbol("wms.v1.WmsSessionService");
      const service = pool.getService("wms.v1.WmsSessionService");
      const method = (name: string) => {
        const found = service?.methods.find((m) => m.name === name);
        assert.ok(found, name);
        return found;
      };
      const client = reflected.client();

      const listed = (await callWithJson(client, method("ListSessions"), {
        session_ids: [1, 3],
      })) as JsonObject;
      assert.equal(listed["host"], TEST_HOST);
      const sessions = listed["sessions"] as JsonObject[];
      assert.deepEqual(
        sessions.map((s) => [s["sessionId"], s["state"], s["userName"], s["logonTime"]]),
        [
          [1, "SESSION_STATE_ACTIVE", "m.okafor", "2026-03-10T07:52:18Z"],
          [3, "SESSION_STATE_ACTIVE", "zoë.brennan", "2026-03-10T08:41:47Z"],
        ],
      );

      const whatIf = (await callWithJson(client, method("Disconnect"), {
        session_ids: [3],
        what_if: true,
      })) as JsonObject;
      assert.deepEqual(
        (whatIf["results"] as JsonObject[]).map((r) => [r["sessionId"], r["outcome"]]),
        [[3, "OUTCOME_WOULD_DISCONNECT"]],
      );
      assert.deepEqual(backend.disconnectCalls(), [], "what-if changed nothing");
    });

    it("answers symbols of every kind with the file that declares them", async (t) => {
      const { stream } = await reflect(t, version);
      const symbols: Record<string, string> = {
        "wms.v1.WmsSessionService": "wms/v1/wms_session.proto",
        "wms.v1.WmsSessionService.Disconnect": "wms/v1/wms_session.proto",
        "wms.v1.DisconnectRequest": "wms/v1/wms_session.proto",
        "wms.v1.Outcome": "wms/v1/wms_session.proto",
        "google.protobuf.Timestamp": "google/protobuf/timestamp.proto",
        "google.protobuf.Duration": "google/protobuf/duration.proto",
        "grpc.health.v1.Health.Watch": "grpc/health/v1/health.proto",
        "grpc.health.v1.HealthCheckResponse.ServingStatus": "grpc/health/v1/health.proto",
        [`grpc.reflection.${version}.ServerReflectionRequest`]: `grpc/reflection/${version}/reflection.proto`,
      };
      for (const [symbol, fileName] of Object.entries(symbols)) {
        const [first] = filesOf(await stream.ask({ file_containing_symbol: symbol }));
        assert.equal(first?.name, fileName, symbol);
      }
    });

    it("answers file_by_filename for every file with the descriptors buf built, imports following", async (t) => {
      const { stream } = await reflect(t, version);
      assert.deepEqual([...BUILT.keys()].sort(), [
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
        "grpc/health/v1/health.proto",
        "grpc/reflection/v1/reflection.proto",
        "grpc/reflection/v1alpha/reflection.proto",
        "wms/v1/wms_session.proto",
      ]);
      for (const [name, built] of BUILT) {
        const files = filesOf(await stream.ask({ file_by_filename: name }));
        const [first, ...rest] = files;
        assert.equal(first?.name, name);
        assert.ok(sameDescriptor(first, built), `${name} is served as buf built it`);
        assert.deepEqual(rest.map((f) => f.name).sort(), [...built.dependency].sort(), name);
        // Comments travel with the descriptors, for `grpcurl describe`.
        assert.ok((first.sourceCodeInfo?.location.length ?? 0) > 0, `${name} has its comments`);
      }
    });

    it("answers what the schema does not have with error_response NOT_FOUND, and goes on", async (t) => {
      const { stream } = await reflect(t, version);
      const notFound: ReflectionRequest[] = [
        // The names @grpc/reflection used to make up (issue 16).
        { file_by_filename: "wms_v1.proto" },
        { file_by_filename: "google_protobuf.proto" },
        { file_containing_symbol: "wms.v1.NoSuchMessage" },
        { file_containing_symbol: "wms.v1.WmsSessionService.NoSuchMethod" },
        // The schema declares no extensions at all.
        { file_containing_extension: { containing_type: "wms.v1.Session", extension_number: 100 } },
        { all_extension_numbers_of_type: "wms.v1.Session" },
        { all_extension_numbers_of_type: "wms.v1.NoSuchMessage" },
      ];
      for (const request of notFound) {
        const { code, message } = await errorOf(stream, request);
        assert.equal(code, Status.NOT_FOUND, `${JSON.stringify(request)}: ${message}`);
        assert.ok(message.length > 0);
      }
      // The stream is still good after errors.
      assert.ok(filesOf(await stream.ask({ file_containing_symbol: "wms.v1.Session" })).length > 0);
      await assert.rejects(
        stream.ask({ file_by_filename: "wms_v1.proto" }).then(filesOf),
        (error: unknown) =>
          error instanceof ReflectionErrorResponse && error.code === Number(Status.NOT_FOUND),
      );
    });
  });
}

/** The same descriptor, however each side encoded it. */
function sameDescriptor(a: FileDescriptorProto, b: FileDescriptorProto): boolean {
  return equals(FileDescriptorProtoSchema, a, b);
}
