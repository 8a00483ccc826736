/**
 * The descriptor set that server reflection serves: `proto/gen/descriptor-set.binpb`, written by
 * `npm run generate` (`buf build --as-file-descriptor-set`, imports and comments included) from
 * the same `.proto` files as the generated code beside it, committed, and checked fresh by CI.
 * Nothing in it is written by hand.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** Where `npm run generate` writes the descriptor set. */
export const DESCRIPTOR_SET_PATH = fileURLToPath(
  new URL("../../proto/gen/descriptor-set.binpb", import.meta.url),
);

/** One file of a descriptor set. */
export interface DescriptorFile {
  /** The file decoded: its name (`wms/v1/wms_session.proto`), imports, services, ... */
  readonly proto: FileDescriptorProto;
  /** Its `FileDescriptorProto` exactly as buf wrote it. */
  readonly bytes: Uint8Array;
}

/** A `google.protobuf.FileDescriptorSet`, file by file, in the order buf wrote them (imports first). */
export interface DescriptorSet {
  readonly files: readonly DescriptorFile[];
}

/** `FileDescriptorSet.file`: the only field of the message. */
const FILE_FIELD = 1;

/**
 * Splits and decodes a serialized `FileDescriptorSet`. Throws `TypeError` when it is not one,
 * when two files have the same name, or when a file imports one the set does not hold (a client
 * could not build that file).
 */
export function parseDescriptorSet(bytes: Uint8Array): DescriptorSet {
  const files: DescriptorFile[] = [];
  const reader = new BinaryReader(bytes);
  try {
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === FILE_FIELD && wireType === WireType.LengthDelimited) {
        const file = reader.bytes();
        files.push({ proto: fromBinary(FileDescriptorProtoSchema, file), bytes: file });
      } else {
        reader.skip(wireType);
      }
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`not a FileDescriptorSet: ${reason}`, { cause: error });
  }
  const names = new Set<string>();
  for (const { proto } of files) {
    if (names.has(proto.name)) throw new TypeError(`${proto.name} is in the set twice`);
    names.add(proto.name);
  }
  for (const { proto } of files) {
    const missing = proto.dependency.filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw new TypeError(`${proto.name} imports ${missing.join(", ")}, which the set lacks`);
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
