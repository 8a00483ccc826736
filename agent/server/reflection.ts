/**
 * Server reflection (`grpc.reflection.v1` and `v1alpha`) that serves the contract's real
 * `FileDescriptorProto`s — `wms/v1/wms_session.proto`, the well-known types it imports, gRPC's
 * health and reflection protos — so that `grpcurl describe`, a call with a JSON body, and any
 * other client that builds the schema in a descriptor pool work.
 *
 * The descriptors are the ones `npm run generate` writes with `buf build` (./descriptor-set.ts),
 * never hand-written. `@grpc/reflection` answers the protocol; it is given those files instead of
 * the ones proto-loader would make up (one file per package, named `wms_v1.proto`, without its
 * imports: grpc/grpc-node#3034). It lists exactly the services mounted on the server before it,
 * and itself.
 */
import type { Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { DESCRIPTOR_SET_PATH, loadDescriptorSet, type DescriptorSet } from "./descriptor-set.js";

/** What `@grpc/reflection` is given: a package definition (see {@link prepare}). */
type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/** The two services of server reflection: grpcurl asks `v1` and falls back to `v1alpha`. */
export const REFLECTION_SERVICE_NAMES = [
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
] as const;

/** The part of a grpc-js server that services are mounted on. */
export type ServiceTarget = Pick<Server, "addService">;

/** A service as mounted: its full name and the paths of its methods. */
export interface MountedService {
  /** `wms.v1.WmsSessionService` */
  readonly name: string;
  /** `/wms.v1.WmsSessionService/ListSessions`, ... */
  readonly paths: readonly string[];
}

/**
 * A grpc-js server seen through what is mounted on it: every service goes through
 * {@link ServiceMounts.addService}, which remembers it, so that reflection lists what the server
 * really serves, not a list kept by hand.
 */
export interface ServiceMounts extends ServiceTarget {
  /** The services mounted so far, in order. */
  readonly services: readonly MountedService[];
  /** From now on `addService` throws an `Error` with `reason`. */
  seal(reason: string): void;
}

/** Wraps `server` so that each service mounted through the result is remembered. */
export function trackServices(server: ServiceTarget): ServiceMounts {
  const services: MountedService[] = [];
  let sealed: string | undefined;
  return {
    services,
    seal(reason) {
      sealed = reason;
    },
    addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation) {
      const name = serviceNameOf(definition);
      if (sealed !== undefined) throw new Error(`cannot mount ${name}: ${sealed}`);
      server.addService(definition, implementation);
      services.push({ name, paths: Object.values(definition).map((method) => method.path) });
    },
  };
}

/**
 * The full name of the service a grpc-js definition describes, read from its methods' paths
 * (`/wms.v1.WmsSessionService/ListSessions` → `wms.v1.WmsSessionService`). Throws `TypeError`
 * for a definition without methods or whose methods name different services.
 */
export function serviceNameOf(definition: ServiceDefinition): string {
  const names = new Set(
    Object.values(definition).map((method) => /^\/([^/]+)\/[^/]+$/.exec(method.path)?.[1]),
  );
  const [name] = names;
  if (names.size !== 1 || name === undefined) {
    throw new TypeError(
      `not one service: method paths ${JSON.stringify(Object.values(definition).map((m) => m.path))}`,
    );
  }
  return name;
}

/** Options of {@link addReflection}. */
export interface ReflectionOptions {
  /** The files reflection serves. @default the committed set ({@link loadDescriptorSet}), read once per process */
  readonly descriptorSet?: DescriptorSet;
  /**
   * Where the two reflection services are mounted: `mounts` itself, or a view of it that wraps
   * their handlers (it must mount through `mounts`, which checks and seals).
   * @default mounts
   */
  readonly target?: ServiceTarget;
}

/**
 * Mounts server reflection, `v1` and `v1alpha`, describing every service mounted on `mounts`
 * so far and itself, then seals `mounts`: reflection must be mounted last, because its list of
 * services is made now (a service mounted later would be served but never listed, so it is
 * refused instead).
 *
 * Throws an `Error` when a mounted service, or one of its methods, is not in the descriptor set:
 * a service whose schema a client could not read (its `.proto` belongs under `proto/`, then
 * `npm run generate`).
 */
export function addReflection(mounts: ServiceMounts, options: ReflectionOptions = {}): void {
  const { methods, files } = prepare(options.descriptorSet ?? defaultDescriptorSet());
  const reflectionPaths = REFLECTION_SERVICE_NAMES.map((name) => ({
    name,
    paths: [`/${name}/ServerReflectionInfo`],
  }));
  const services = [...mounts.services, ...reflectionPaths];
  for (const service of services) checkDescribed(methods, service);

  new ReflectionService(files, { services: services.map((service) => service.name) }).addToServer(
    options.target ?? mounts,
  );
  mounts.seal(
    "server reflection is mounted and lists only the services mounted before it; mount this service first",
  );
}

/** The committed descriptor set, read once per process (every agent of a process shares it). */
let committedSet: DescriptorSet | undefined;
function defaultDescriptorSet(): DescriptorSet {
  committedSet ??= loadDescriptorSet();
  return committedSet;
}

/** What {@link prepare} makes of a descriptor set. */
interface Prepared {
  /** The method paths of each service the set describes, by the service's full name. */
  readonly methods: ReadonlyMap<string, ReadonlySet<string>>;
  /** The package definition `@grpc/reflection` is given. */
  readonly files: ReflectionPackage;
}

const prepared = new WeakMap<DescriptorSet, Prepared>();

/**
 * What reflection needs of a descriptor set, made once per set.
 *
 * `@grpc/reflection` indexes the `fileDescriptorProtos` of each definition it is given, where
 * proto-loader puts the files that a type needs (under names proto-loader makes up). Given the
 * descriptor set's files as buf wrote them, one definition each, it serves them under their own
 * names with their own imports.
 */
function prepare(descriptorSet: DescriptorSet): Prepared {
  let ready = prepared.get(descriptorSet);
  if (ready === undefined) {
    const methods = new Map<string, ReadonlySet<string>>();
    for (const file of descriptorSet.files) {
      for (const service of file.services) {
        const paths = service.methods.map((method) => `/${service.name}/${method}`);
        methods.set(service.name, new Set(paths));
      }
    }
    const files: ReflectionPackage = Object.fromEntries(
      descriptorSet.files.map(({ name, bytes }) => [
        name,
        {
          format: "Protocol Buffer 3 DescriptorProto" as const,
          type: {},
          fileDescriptorProtos: [Buffer.from(bytes)],
        },
      ]),
    );
    ready = { methods, files };
    prepared.set(descriptorSet, ready);
  }
  return ready;
}

/** Throws unless `service` and each of its methods are described (`methods`, from {@link prepare}). */
function checkDescribed(
  methods: ReadonlyMap<string, ReadonlySet<string>>,
  service: MountedService,
): void {
  const described = methods.get(service.name);
  const fix = `put its .proto under proto/ and run npm run generate (${DESCRIPTOR_SET_PATH})`;
  if (described === undefined) {
    throw new Error(`service ${service.name} is mounted but has no descriptor: ${fix}`);
  }
  for (const path of service.paths) {
    if (!described.has(path)) {
      throw new Error(`method ${path} is mounted but its service's descriptor lacks it: ${fix}`);
    }
  }
}
