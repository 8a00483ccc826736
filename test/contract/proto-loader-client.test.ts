/**
 * The contract as a third party sees it: a client built only from `wms_session.proto` with
 * `@grpc/proto-loader` (no generated TypeScript), the standard health protocol and server
 * reflection, against a real agent.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { startHarness } from "../helpers/agent-harness.js";

const root = fileURLToPath(new URL("../../proto/", import.meta.url));
const loaderOptions = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function constructor(path: string, grpcObject: GrpcObject): ServiceClientConstructor {
  let node: unknown = grpcObject;
  for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}

function call<T>(client: Client, method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method];
    assert.ok(fn, `the client has no method ${method}`);
    fn.call(client, request, (error: Error | null, response: T) =>
      error === null ? resolve(response) : reject(error),
    );
  });
}

describe("a client built from the .proto alone", () => {
  const wms = loadPackageDefinition(
    loadSync("wms/v1/wms_session.proto", { ...loaderOptions, includeDirs: [root] }),
  );
  const WmsSessionService = constructor("wms.v1.WmsSessionService", wms);

  it("calls all four RPCs and reads enum names as the .proto spells them", async (t) => {
    const { address, backend } = await startHarness(t);
    const client = new WmsSessionService(address, credentials.createInsecure());
    t.after(() => client.close());

    const info = await call<Record<string, unknown>>(client, "GetAgentInfo", {});
    assert.equal(info["backend"], "simulated");
    assert.equal(info["host"], "mps01.lab.example.com");

    const list = await call<{ sessions: Record<string, unknown>[] }>(client, "ListSessions", {
      expected_host: "mps01.lab.example.com",
    });
    const listener = list.sessions.find((s) => s["session_id"] === 65536);
    assert.equal(listener?.["state"], "SESSION_STATE_LISTEN");
    assert.equal(
      list.sessions.find((s) => s["session_id"] === 0)?.["protection"],
      "PROTECTION_SERVICES_SESSION",
    );

    const whatIf = await call<{ results: Record<string, unknown>[] }>(client, "Disconnect", {
      session_ids: [2, 2, 0],
      what_if: true,
    });
    assert.deepEqual(
      whatIf.results.map((r) => [r["session_id"], r["outcome"], r["protection"]]),
      [
        [2, "OUTCOME_WOULD_DISCONNECT", "PROTECTION_UNSPECIFIED"],
        [0, "OUTCOME_PROTECTED", "PROTECTION_SERVICES_SESSION"],
      ],
    );

    const all = await call<{ host: string; results: Record<string, unknown>[] }>(
      client,
      "DisconnectAll",
      {
        caller_session_id: 1,
        filter: {
          user_name_pattern: "*",
          states: ["SESSION_STATE_ACTIVE"],
          min_idle_time: { seconds: 60 },
        },
      },
    );
    assert.deepEqual(
      all.results.map((r) => [r["session_id"], r["outcome"]]),
      [[3, "OUTCOME_DISCONNECTED"]],
    );
    assert.deepEqual(
      backend.disconnectCalls().map((c) => c.sessionId),
      [3],
    );
  });

  it("sees the standard health service report SERVING", async (t) => {
    const { address } = await startHarness(t);
    const health = loadPackageDefinition(loadSync(healthProtoPath, loaderOptions));
    const client = new (constructor("grpc.health.v1.Health", health))(
      address,
      credentials.createInsecure(),
    );
    t.after(() => client.close());
    assert.deepEqual(await call(client, "Check", { service: "" }), { status: "SERVING" });
    assert.deepEqual(await call(client, "Check", { service: "wms.v1.WmsSessionService" }), {
      status: "SERVING",
    });
  });

  it("finds the service through server reflection, as grpcurl does", async (t) => {
    const { address } = await startHarness(t);
    const reflectionProto = join(
      dirname(createRequire(import.meta.url).resolve("@grpc/reflection")),
      "../proto/grpc/reflection/v1/reflection.proto",
    );
    const reflection = loadPackageDefinition(loadSync(reflectionProto, loaderOptions));
    const client = new (constructor("grpc.reflection.v1.ServerReflection", reflection))(
      address,
      credentials.createInsecure(),
    );
    t.after(() => client.close());
    const stream = (
      client as unknown as {
        ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(m: object): boolean; end(): void };
      }
    ).ServerReflectionInfo();
    const answers: Record<string, unknown>[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (message: Record<string, unknown>) => answers.push(message));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    stream.write({ list_services: "" });
    stream.write({ file_containing_symbol: "wms.v1.WmsSessionService" });
    stream.end();
    await done;
    const services = (
      answers[0]?.["list_services_response"] as { service: { name: string }[] }
    ).service.map((s) => s.name);
    assert.ok(services.includes("wms.v1.WmsSessionService"), services.join(", "));
    assert.ok(services.includes("grpc.health.v1.Health"), services.join(", "));
    const files = (answers[1]?.["file_descriptor_response"] as { file_descriptor_proto: Buffer[] })
      .file_descriptor_proto;
    assert.ok(files.length >= 1);
    assert.ok(files.some((file) => file.toString("latin1").includes("WmsSessionService")));
  });
});
