/**
 * The agent's access policy under mutual TLS: the identities of `--allow IDENTITY=ROLE` and what
 * each role may call (DESIGN section 5), decided by the method's path when a call starts, before
 * its request is read. `reader` may list and watch sessions, read the agent's info, ask its health
 * and use server reflection; `operator` may do everything, including what changes or interrupts a
 * session (disconnect, log off, message). Any name a client certificate vouches for (subject CN,
 * DNS, email or URI SAN) can carry a role; when several of them do, the strongest role counts.
 *
 * The allow-list can be replaced while the agent runs (SIGHUP); a call sees either the old list or
 * the new one, never a mix.
 */
import { status as Status } from "@grpc/grpc-js";
import { AccessDeniedError, type Authorizer } from "../server/access.js";
import type { Role } from "../config/options.js";
import { peerIdentity } from "./peer-identity.js";

/**
 * What the `reader` role may call: whole services by name (health, reflection in its two protocol
 * versions) and single methods by path. `operator` may call every method the agent serves; a
 * method added later is `operator`-only until it is listed here.
 */
export const READER_ACCESS: {
  readonly services: ReadonlySet<string>;
  readonly methods: ReadonlySet<string>;
} = {
  services: new Set([
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ]),
  methods: new Set([
    "/wms.v1.WmsSessionService/ListSessions",
    "/wms.v1.WmsSessionService/GetAgentInfo",
    "/wms.v1.WmsSessionService/WatchSessions",
  ]),
};

const ROLE_RANK: Readonly<Record<Role, number>> = { reader: 1, operator: 2 };

/** Whether `role` may call the method at `path` (`/package.Service/Method`). */
export function roleMayCall(role: Role, path: string): boolean {
  if (role === "operator") return true;
  const service = path.slice(1, path.lastIndexOf("/"));
  return READER_ACCESS.services.has(service) || READER_ACCESS.methods.has(path);
}

/** The access policy of a running agent. */
export interface AccessPolicy {
  /** The authorizer to pass to `startAgent`. */
  readonly authorize: Authorizer;
  /** The allow-list in force. */
  allowList(): ReadonlyMap<string, Role>;
  /** Replaces the allow-list; calls from now on are judged by the new one. */
  update(allow: ReadonlyMap<string, Role>): void;
}

/** A method's path as error messages give it: `wms.v1.WmsSessionService/Disconnect`. */
export function qualifiedRpcName(path: string): string {
  return path.startsWith("/") ? path.slice(1) : path;
}

/** Makes the policy for `allow` (identity → role; DNS SANs matched without regard to case). */
export function createAccessPolicy(allow: ReadonlyMap<string, Role>): AccessPolicy {
  let entries = index(allow);
  return {
    allowList: () => entries.exact,
    update(next) {
      entries = index(next);
    },
    authorize(call) {
      const certificate = call.authContext.sslPeerCertificate;
      if (certificate === undefined) {
        // grpc-js gives no certificate unless the handshake verified one against --tls-ca.
        throw new AccessDeniedError(
          Status.UNAUTHENTICATED,
          `no verified client certificate for ${qualifiedRpcName(call.method)}: this agent requires mutual TLS with a certificate issued by its CA`,
          undefined,
        );
      }
      const { names, dnsNames, subject } = peerIdentity(certificate);
      const primary = names[0];
      if (primary === undefined) {
        throw new AccessDeniedError(
          Status.PERMISSION_DENIED,
          `the client certificate "${subject}" names no identity (no subject CN, no DNS, email or URI SAN); it may not call ${qualifiedRpcName(call.method)}`,
          undefined,
        );
      }
      let granted: { identity: string; role: Role } | undefined;
      for (const name of names) {
        const role =
          entries.exact.get(name) ?? (dnsNames.has(name) ? entries.dns.get(name) : undefined);
        if (
          role !== undefined &&
          (granted === undefined || ROLE_RANK[role] > ROLE_RANK[granted.role])
        ) {
          granted = { identity: name, role };
        }
      }
      const others =
        names.length > 1
          ? ` (also ${names
              .slice(1)
              .map((n) => `"${n}"`)
              .join(", ")})`
          : "";
      if (granted === undefined) {
        throw new AccessDeniedError(
          Status.PERMISSION_DENIED,
          `identity "${primary}"${others} is not allowed to call ${qualifiedRpcName(call.method)} (no --allow entry)`,
          primary,
        );
      }
      if (!roleMayCall(granted.role, call.method)) {
        throw new AccessDeniedError(
          Status.PERMISSION_DENIED,
          `identity "${granted.identity}" may not call ${qualifiedRpcName(call.method)} (role ${granted.role})`,
          granted.identity,
          false,
        );
      }
      return granted.identity;
    },
  };
}

/** The allow-list, and its entries lowercased for matching DNS names (case-insensitive, RFC 4343). */
function index(allow: ReadonlyMap<string, Role>): {
  exact: ReadonlyMap<string, Role>;
  dns: ReadonlyMap<string, Role>;
} {
  const dns = new Map<string, Role>();
  for (const [identity, role] of allow) {
    const lower = identity.toLowerCase();
    const previous = dns.get(lower);
    if (previous === undefined || ROLE_RANK[role] < ROLE_RANK[previous]) dns.set(lower, role);
  }
  return { exact: new Map(allow), dns };
}
