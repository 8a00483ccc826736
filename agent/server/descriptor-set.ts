/**
 * The descriptor set that server reflection serves: `proto/gen/descriptor-set.binpb`, written by
 * `npm run generate` (`buf build --as-file-descriptor-set`, imports and comments included) from
 * the same `.proto` files as the generated code beside it, committed, and checked fresh by CI.
 * Nothing in it is written by hand.
 *
 * The agent serves each file's bytes as buf wrote them and reads only what it checks: names,
 * imports, services and their methods. It reads them with the wire reader the generated code
 * already loads, not a full descriptor runtime, which would cost the agent about 4 MB of
 * resident memory for five fields (the tests decode the whole set with `@bufbuild/protobuf`).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** Where `npm run generate` writes the descriptor set. */
export const DESCRIPTOR_SET_PATH = fileURLToPath(
  new URL("../../proto/gen/descriptor-set.binpb", import.meta.url),
);

/** A service a file declares. */
export interface DescribedService {
  /** Full name: `wms.v1.WmsSessionService`. */
  readonly name: string;
  /** Method names: `ListSessions`, ... */
  readonly methods: readonly string[];
}

/** One file of a descriptor set. */
export interface DescriptorFile {
  /** `wms/v1/wms_session.proto` */
  readonly name: string;
  /** The files it imports, by name. */
  readonly dependencies: readonly string[];
  readonly services: readonly DescribedService[];
  /** Its `FileDescriptorProto` exactly as buf wrote it: what reflection serves. */
  readonly bytes: Uint8Array;
}

/** A `google.protobuf.FileDescriptorSet`, file by file, in the order buf wrote them (imports first). */
export interface DescriptorSet {
  readonly files: readonly DescriptorFile[];
}

/** Field numbers of google/protobuf/descriptor.proto (fixed for good, as in every protobuf). */
const FIELD = {
  setFile: 1,
  fileName: 1,
  filePackage: 2,
  fileDependency: 3,
  fileService: 6,
  serviceName: 1,
  serviceMethod: 2,
  methodName: 1,
} as const;

/** The length-delimited fields of a message (strings and messages here): number and raw bytes. */
function lengthDelimitedFields(bytes: Uint8Array): [number, Uint8Array][] {
  const fields: [number, Uint8Array][] = [];
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType === WireType.LengthDelimited) fields.push([field, reader.bytes()]);
    else reader.skip(wireType);
  }
  return fields;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseFile(bytes: Uint8Array): DescriptorFile {
  let name = "";
  let packageName = "";
  const dependencies: string[] = [];
  const services: { name: string; methods: string[] }[] = [];
  for (const [field, value] of lengthDelimitedFields(bytes)) {
    if (field === FIELD.fileName) name = utf8.decode(value);
    else if (field === FIELD.filePackage) packageName = utf8.decode(value);
    else if (field === FIELD.fileDependency) dependencies.push(utf8.decode(value));
    else if (field === FIELD.fileService) services.push(parseService(value));
  }
  if (name === "") throw new TypeError("a file without a name");
  const qualify = (service: string) => (packageName === "" ? service : `${packageName}.${service}`);
  return {
    name,
    dependencies,
    services: services.map((service) => ({ ...service, name: qualify(service.name) })),
    bytes,
  };
}

function parseService(bytes: Uint8Array): { name: string; methods: string[] } {
  let name = "";
  const methods: string[] = [];
  for (const [field, value] of lengthDelimitedFields(bytes)) {
    if (field === FIELD.serviceName) name = utf8.decode(value);
    else if (field === FIELD.serviceMethod) {
      for (const [methodField, methodValue] of lengthDelimitedFields(value)) {
        if (methodField === FIELD.methodName) methods.push(utf8.decode(methodValue));
      }
    }
  }
  return { name, methods };
}

/**
 * Splits and reads a serialized `FileDescriptorSet`. Throws `TypeError` when it is not one, when
 * two files have the same name, or when a file imports one the set does not hold (a client could
 * not build that file).
 */
export function parseDescriptorSet(bytes: Uint8Array): DescriptorSet {
  const files: DescriptorFile[] = [];
  try {
    for (const [field, value] of lengthDelimitedFields(bytes)) {
      if (field === FIELD.setFile) files.push(parseFile(value));
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`not a FileDescriptorSet: ${reason}`, { cause: error });
  }
  const names = new Set<string>();
  for (const file of files) {
    if (names.has(file.name)) throw new TypeError(`${file.name} is in the set twice`);
    names.add(file.name);
  }
  for (const file of files) {
    const missing = file.dependencies.filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new TypeError(`${file.name} imports ${missing.join(", ")}, which the set lacks`);
    }
  }
  return { files };
}

/**
 * Reads and parses the descriptor set at `path` ({@link parseDescriptorSet}). Throws an `Error`
 * naming the file and the command that makes it.
 */
export function loadDescriptorSet(path: string = DESCRIPTOR_SET_PATH): DescriptorSet {
  try {
    return parseDescriptorSet(readFileSync(path));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot load the descriptor set for server reflection from ${path} (made by npm run generate): ${reason}`,
      { cause: error },
    );
  }
}
