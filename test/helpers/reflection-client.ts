/**
 * A server-reflection client that reads a schema the way grpcurl does (its library,
 * jhump/protoreflect's `grpcreflect.Client`), built only from the reflection protocol's own
 * `.proto` files as `@grpc/reflection` ships them — nothing of the agent's:
 *
 * - `file_containing_symbol` for a service: every file of the answer is cached by name, the first
 *   one is the file that holds the symbol;
 * - then each `dependency` that file declares, by file name, recursively: from the cache when an
 *   earlier answer brought it, otherwise with `file_by_filename`;
 * - the files go into a fresh descriptor pool (`@bufbuild/protobuf`'s registry) built from the
 *   root file and the imports it declares, so that a type used but not imported does not resolve
 *   (as in grpcurl, which refuses such a file).
 *
 * Messages are then made from the reflected schema alone (dynamic messages, JSON in and out as
 * grpcurl's `-d` and its output) and sent with a generic grpc-js client.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  loadPackageDefinition,
  type Client,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import {
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMethod,
  type FileRegistry,
  type JsonValue,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";

/** The two versions of the reflection protocol. */
export type ReflectionVersion = "v1" | "v1alpha";

/** A reflection request as proto-loader encodes it (field names as in the `.proto`). */
export type ReflectionRequest =
  | { list_services: string }
  | { file_by_filename: string }
  | { file_containing_symbol: string }
  | { file_containing_extension: { containing_type: string; extension_number: number } }
  | { all_extension_numbers_of_type: string };

/** A reflection response as proto-loader decodes it (`oneofs: true`: `message_response` names the field set). */
export interface ReflectionResponse {
  readonly valid_host: string;
  readonly original_request: Record<string, unknown> | null;
  readonly message_response:
    | "file_descriptor_response"
    | "all_extension_numbers_response"
    | "list_services_response"
    | "error_response";
  readonly file_descriptor_response?: { readonly file_descriptor_proto: Buffer[] };
  readonly all_extension_numbers_response?: {
    readonly base_type_name: string;
    readonly extension_number: number[];
  };
  readonly list_services_response?: { readonly service: { readonly name: string }[] };
  readonly error_response?: { readonly error_code: number; readonly error_message: string };
}

const reflectionConstructors = (() => {
  const protoDir = join(
    dirname(createRequire(import.meta.url).resolve("@grpc/reflection")),
    "../proto/grpc/reflection",
  );
  const load = (version: ReflectionVersion) => {
    const definition = loadSync(join(protoDir, version, "reflection.proto"), {
      keepCase: true,
      oneofs: true,
      defaults: true,
    });
    const grpc = (loadPackageDefinition(definition) as { grpc: Record<string, unknown> }).grpc;
    const reflection = grpc["reflection"] as Record<
      ReflectionVersion,
      { ServerReflection: ServiceClientConstructor }
    >;
    return reflection[version].ServerReflection;
  };
  return { v1: load("v1"), v1alpha: load("v1alpha") };
})();

/** One `ServerReflectionInfo` stream, asked one request at a time. */
export interface ReflectionStream {
  /** Sends `request` and resolves with its answer; rejects when the stream ends with an error. */
  ask(request: ReflectionRequest): Promise<ReflectionResponse>;
  /** Half-closes the stream and waits for the server to end it; closes the client. */
  close(): Promise<void>;
}

/** Opens a reflection stream of protocol `version` to `address`. */
export function openReflection(
  address: string,
  version: ReflectionVersion,
  channelCredentials: ChannelCredentials,
  channelOptions: ChannelOptions = {},
): ReflectionStream {
  const client = new reflectionConstructors[version](address, channelCredentials, channelOptions);
  const stream = (
    client as unknown as {
      ServerReflectionInfo(): ClientDuplexStream<ReflectionRequest, ReflectionResponse>;
    }
  ).ServerReflectionInfo();
  const waiting: {
    resolve: (answer: ReflectionResponse) => void;
    reject: (error: Error) => void;
  }[] = [];
  let failure: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    stream.on("data", (answer: ReflectionResponse) => waiting.shift()?.resolve(answer));
    stream.on("error", (error: ServiceError) => {
      failure = error;
      for (const waiter of waiting.splice(0)) waiter.reject(error);
      resolve();
    });
    stream.on("end", () => {
      failure ??= new Error("the reflection stream ended");
      for (const waiter of waiting.splice(0)) waiter.reject(failure);
      resolve();
    });
  });
  return {
    ask(request) {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        stream.write(request);
      });
    },
    async close() {
      stream.end();
      await ended;
      client.close();
    },
  };
}

/** A reflection answer that is an `error_response`, as an error. */
export class ReflectionErrorResponse extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`reflection error ${code}: ${message}`);
  }
}

/** The file descriptors of a `file_descriptor_response`; throws {@link ReflectionErrorResponse} for an error answer. */
export function filesOf(answer: ReflectionResponse): FileDescriptorProto[] {
  if (answer.error_response !== undefined && answer.error_response !== null) {
    throw new ReflectionErrorResponse(
      answer.error_response.error_code,
      answer.error_response.error_message,
    );
  }
  const files = answer.file_descriptor_response?.file_descriptor_proto;
  if (files === undefined || files.length === 0) {
    throw new Error(`not a file_descriptor_response: ${answer.message_response}`);
  }
  return files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

/** Options of {@link SchemaReader}. */
export interface SchemaReaderOptions {
  /**
   * Keep only the file each answer is for, not the imports that came with it, so that every
   * import is asked for by name (as a client without grpcurl's cache does). @default false
   */
  readonly keepOnlyAnswer?: boolean;
}

/**
 * Reads schemas over one reflection stream with grpcurl's cache: files are asked by name only
 * when no earlier answer brought them. `requests` records what was asked, in order.
 */
export class SchemaReader {
  /** Every file the answers carried (or only the files asked for), by name; the first copy wins. */
  readonly files = new Map<string, FileDescriptorProto>();
  /** The requests sent, in order (`file_by_filename wms/v1/wms_session.proto`, ...). */
  readonly requests: string[] = [];

  constructor(
    private readonly stream: ReflectionStream,
    private readonly options: SchemaReaderOptions = {},
  ) {}

  /** The services `list_services` names, sorted (grpcurl prints them so). */
  async listServices(): Promise<string[]> {
    this.requests.push("list_services *");
    const answer = await this.stream.ask({ list_services: "*" });
    if (answer.list_services_response === undefined || answer.list_services_response === null) {
      throw new Error(`not a list_services_response: ${JSON.stringify(answer.error_response)}`);
    }
    return answer.list_services_response.service.map((service) => service.name).sort();
  }

  /** The file that holds `symbol` (the answer's first), its imports fetched, and the pool made of them. */
  async resolveSymbol(symbol: string): Promise<{ file: FileDescriptorProto; pool: FileRegistry }> {
    this.requests.push(`file_containing_symbol ${symbol}`);
    const answer = filesOf(await this.stream.ask({ file_containing_symbol: symbol }));
    const file = this.cache(answer, answer[0]?.name ?? "");
    await this.fetchImports(file);
    return { file, pool: this.pool(file) };
  }

  /** The file named `name` (from the cache or asked by name), its imports fetched. */
  async fileByFilename(name: string): Promise<FileDescriptorProto> {
    let file = this.files.get(name);
    if (file === undefined) {
      this.requests.push(`file_by_filename ${name}`);
      file = this.cache(filesOf(await this.stream.ask({ file_by_filename: name })), name);
    }
    await this.fetchImports(file);
    return file;
  }

  /**
   * A fresh descriptor pool of `root` and the files it imports (declared `dependency`, resolved
   * by name among the files fetched). Throws if a type it uses is not among them.
   */
  pool(root: FileDescriptorProto): FileRegistry {
    return createFileRegistry(root, (name) => this.files.get(name));
  }

  private async fetchImports(file: FileDescriptorProto): Promise<void> {
    for (const dependency of file.dependency) await this.fileByFilename(dependency);
  }

  /** Caches the files of an answer (only `wanted` with `keepOnlyAnswer`); returns `wanted` as cached. */
  private cache(answer: FileDescriptorProto[], wanted: string): FileDescriptorProto {
    const file = answer.find((candidate) => candidate.name === wanted);
    if (file === undefined) {
      throw new Error(`asked for ${wanted}, got ${answer.map((f) => f.name).join(", ")}`);
    }
    const kept = this.options.keepOnlyAnswer === true ? [file] : answer;
    for (const each of kept) if (!this.files.has(each.name)) this.files.set(each.name, each);
    return this.files.get(wanted) ?? file;
  }
}

/** Full method path `/pkg.Service/Method` of a reflected method. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Calls a unary method as grpcurl `-d JSON` does: the request parsed from proto3 JSON with the
 * reflected input type, sent by a generic grpc-js client with serializers made from the
 * reflected schema, the answer turned back into proto3 JSON with the reflected output type.
 */
export function callWithJson(
  client: Client,
  method: DescMethod,
  body: JsonValue,
): Promise<JsonValue> {
  const request = fromJson(method.input, body);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      methodPath(method),
      (message: typeof request) => Buffer.from(toBinary(method.input, message)),
      (bytes: Buffer) => fromBinary(method.output, bytes),
      request,
      (error, response) => {
        if (error !== null || response === undefined) reject(error ?? new Error("no response"));
        else resolve(toJson(method.output, response));
      },
    );
  });
}
