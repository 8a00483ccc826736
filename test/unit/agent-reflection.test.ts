/**
 * How server reflection is put together (agent/server/reflection.ts, descriptor-set.ts): it
 * describes what is mounted, refuses a service whose schema it could not serve, goes last, and
 * loads the descriptor set `npm run generate` writes, refusing one a client could not build. What it answers on the wire is
 * in test/contract/reflection-grpcurl.test.ts.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { Server, type ServiceDefinition } from "@grpc/grpc-js";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { WmsSessionServiceService } from "../../proto/gen/wms/v1/wms_session.js";
import {
  DESCRIPTOR_SET_PATH,
  loadDescriptorSet,
  parseDescriptorSet,
} from "../../agent/server/descriptor-set.js";
import { addReflection, serviceNameOf, trackServices } from "../../agent/server/reflection.js";

/** A definition of one method at `path`, as grpc-js needs it to mount. */
function definitionAt(...paths: string[]): ServiceDefinition {
  const identity = (value: Buffer) => value;
  return Object.fromEntries(
    paths.map((path) => [
      path.slice(path.lastIndexOf("/") + 1),
      {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    ]),
  );
}

describe("serviceNameOf", () => {
  it("reads the service's full name from its methods' paths", () => {
    assert.equal(serviceNameOf(WmsSessionServiceService), "wms.v1.WmsSessionService");
  });

  it("throws TypeError for no method, or methods of different services", () => {
    assert.throws(() => serviceNameOf({}), TypeError);
    assert.throws(() => serviceNameOf(definitionAt("/a.v1.A/Get", "/b.v1.B/List")), {
      name: "TypeError",
      message: /not one service: method paths \["\/a\.v1\.A\/Get","\/b\.v1\.B\/List"\]/,
    });
  });
});

describe("addReflection", () => {
  it("lists what was mounted before it and itself, then refuses any later service", () => {
    const mounts = trackServices(new Server());
    mounts.addService(WmsSessionServiceService, {});
    addReflection(mounts);
    assert.deepEqual(
      mounts.services.map((service) => service.name),
      [
        "wms.v1.WmsSessionService",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ],
    );
    assert.throws(() => mounts.addService(definitionAt("/grpc.health.v1.Health/Check"), {}), {
      message:
        "cannot mount grpc.health.v1.Health: server reflection is mounted and lists only the services mounted before it; mount this service first",
    });
  });

  it("refuses a mounted service the descriptor set does not describe, saying how to fix it", () => {
    const mounts = trackServices(new Server());
    mounts.addService(definitionAt("/example.v1.Elsewhere/Get"), {});
    assert.throws(() => addReflection(mounts), {
      message: `service example.v1.Elsewhere is mounted but has no descriptor: put its .proto under proto/ and run npm run generate (${DESCRIPTOR_SET_PATH})`,
    });
  });

  it("refuses a mounted method its service's descriptor lacks", () => {
    const mounts = trackServices(new Server());
    mounts.addService(
      definitionAt("/wms.v1.WmsSessionService/ListSessions", "/wms.v1.WmsSessionService/Reboot"),
      {},
    );
    assert.throws(() => addReflection(mounts), {
      message:
        /^method \/wms\.v1\.WmsSessionService\/Reboot is mounted but its service's descriptor lacks it/,
    });
  });
});

describe("the descriptor set", () => {
  /** The committed set decoded in full by @bufbuild/protobuf: what the agent's reader must agree with. */
  const decoded = fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_SET_PATH)).file;

  it("is read as a full decoder reads it: names, imports, services and methods, each file's bytes", () => {
    const { files } = loadDescriptorSet();
    assert.deepEqual(
      files.map(({ name, dependencies, services }) => ({ name, dependencies, services })),
      decoded.map((file) => ({
        name: file.name,
        dependencies: file.dependency,
        services: file.service.map((service) => ({
          name: `${file.package}.${service.name}`,
          methods: service.method.map((method) => method.name),
        })),
      })),
    );
    files.forEach(({ bytes }, index) => {
      const file = decoded[index];
      assert.ok(
        file &&
          equals(FileDescriptorProtoSchema, fromBinary(FileDescriptorProtoSchema, bytes), file),
      );
    });
    assert.deepEqual(files.flatMap(({ services }) => services.map((s) => s.name)).sort(), [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "wms.v1.WmsSessionService",
    ]);
  });

  it("names the file and the command that makes it when it cannot be read", () => {
    const missing = join(tmpdir(), `wmsfleet-no-such-${process.pid}.binpb`);
    assert.throws(() => loadDescriptorSet(missing), {
      message: new RegExp(
        `^cannot load the descriptor set for server reflection from ${missing} \\(made by npm run generate\\): ENOENT`,
      ),
    });
  });

  it("refuses a set that is not one, has a file twice, or lacks a file's import", () => {
    const contract = decoded.find((file) => file.name === "wms/v1/wms_session.proto");
    assert.ok(contract);
    const setOf = (...files: FileDescriptorProto[]) =>
      toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files }));
    assert.throws(() => parseDescriptorSet(Uint8Array.of(0x0a, 0x05, 0x01)), {
      name: "TypeError",
      message: /^not a FileDescriptorSet: /,
    });
    assert.throws(() => parseDescriptorSet(setOf(...decoded, contract)), {
      name: "TypeError",
      message: "wms/v1/wms_session.proto is in the set twice",
    });
    assert.throws(() => parseDescriptorSet(setOf(contract)), {
      name: "TypeError",
      message:
        "wms/v1/wms_session.proto imports google/protobuf/duration.proto, google/protobuf/timestamp.proto, which the set lacks",
    });
    assert.equal(parseDescriptorSet(setOf(...decoded)).files.length, decoded.length);
  });
});

describe("the vendored gRPC protos (proto/grpc/)", () => {
  // They are built into the descriptor set; the services themselves come from these packages,
  // so the copies must stay what the installed packages serve (update them with the packages).
  const reflectionProtos = join(
    dirname(createRequire(import.meta.url).resolve("@grpc/reflection")),
    "../proto/grpc/reflection",
  );
  const copies: Record<string, string> = {
    "grpc/health/v1/health.proto": healthProtoPath,
    "grpc/reflection/v1/reflection.proto": join(reflectionProtos, "v1/reflection.proto"),
    "grpc/reflection/v1alpha/reflection.proto": join(reflectionProtos, "v1alpha/reflection.proto"),
  };
  for (const [copy, original] of Object.entries(copies)) {
    it(`${copy} is ${relative(process.cwd(), original)} byte for byte`, () => {
      const vendored = readFileSync(new URL(`../../proto/${copy}`, import.meta.url));
      assert.ok(vendored.equals(readFileSync(original)), `copy ${original} to proto/${copy}`);
    });
  }
});
