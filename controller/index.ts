/**
 * wmsfleet: `Disconnect-WmsSession` over a fleet of hosts. This is the package's main entry point
 * (`import … from "wmsfleet"`); certificates for a fleet come from `"wmsfleet/pki"`, the wire
 * types and the raw gRPC client from `"wmsfleet/proto"`.
 *
 * Build targets with {@link resolveTargets}, create a {@link Controller} with one shared
 * credentials object, and iterate the results of each call as hosts answer; every host appears
 * exactly once, as a {@link HostResult}:
 *
 * ```ts
 * import { createController, credentials, resolveTargets } from "wmsfleet";
 *
 * const controller = createController({ credentials: credentials.createSsl(ca, key, cert) });
 * try {
 *   const targets = resolveTargets({ servers: ["h1.lab.example.com,h2.lab.example.com"] });
 *   for await (const result of controller.disconnect(targets, [3, 5], { signal })) {
 *     console.log(result.host, result.status);
 *   }
 * } finally {
 *   controller.close();
 * }
 * ```
 *
 * What `wmsctl` itself is built from (its fan-out engine, channel pool, health client, config
 * directory files) is not exported: it may change in any release.
 */

// For end users: the controller, its options and its results.
export {
  createController,
  type CallOptions,
  type CheckHealthOptions,
  type Controller,
  type DisconnectAllOptions,
  type DisconnectOptions,
  type ListSessionsOptions,
  type LogoffAllOptions,
  type LogoffOptions,
  type SessionIdsByTarget,
} from "./controller.js";
export {
  ACTION_VERBS,
  ACTOR_METADATA_KEY,
  MAX_ACTOR_CHARS,
  type ActionOptions,
  type ActionResponse,
  type ActionVerb,
  type SessionAction,
  type SessionSelection,
} from "./session-actions.js";
export {
  MAX_MESSAGE_TEXT_CHARS,
  MAX_MESSAGE_TIMEOUT_MS,
  MAX_MESSAGE_TITLE_CHARS,
  MIN_MESSAGE_TIMEOUT_MS,
  type MessageOptions,
} from "./message.js";
export {
  MAX_GRACE_MS,
  type GracePeriod,
  type WarnThenActOptions,
  type WarnThenActResponse,
  type Warning,
} from "./warn-then-act.js";
export {
  type SnapshotCause,
  type WatchChanges,
  type WatchConnected,
  type WatchDisconnected,
  type WatchEvent,
  type WatchHeartbeat,
  type WatchSnapshot,
} from "./watch.js";
export {
  DEFAULT_RETRIES,
  DEFAULT_THROTTLE,
  DEFAULT_TIMEOUT_MS,
  type ControllerOptions,
} from "./controller-options.js";
/**
 * grpc-js's `credentials` and `ChannelCredentials`, from the very copy of `@grpc/grpc-js` the
 * controller's channels use: `credentials.createSsl(ca, key, cert)` for mutual TLS,
 * `credentials.createInsecure()` only for agents started with `--insecure-loopback`.
 */
export { credentials, type ChannelCredentials } from "@grpc/grpc-js";
export {
  HostCallError,
  MUTATING_RPCS,
  type HostFailure,
  type HostResult,
  type HostStatus,
  type HostSuccess,
  type RpcName,
} from "./host-result.js";
export { NotServingError, type AgentHealth, type ServingStatus } from "./health-check.js";

// For end users: the hosts a call goes to.
export {
  DEFAULT_TARGET,
  parseInventory,
  readInventory,
  resolveTargets,
  type InventoryEntry,
  type Target,
  type TargetSpec,
} from "./targets.js";
export { TargetError, type HostPort } from "./host-name.js";
export { DEFAULT_AGENT_PORT } from "../common/agent-port.js";
export { MAX_SESSION_ID, MAX_SESSION_IDS, WTS_CURRENT_SESSION } from "../common/session-id.js";

// For other tools built on the controller (the console, scripts that act as wmsctl does).
export {
  resolveControllerOptions,
  type LocalTargetTest,
  type ResolvedControllerOptions,
} from "./controller-options.js";
export { isLocalTarget, localAddresses } from "./local-machine.js";
export { formatHostPort, normalizeHostName, parseHostPort, parsePort } from "./host-name.js";
export { describeConfigDir, findConfigDir, type ConfigDir } from "./config-dir.js";
export { SYSTEM_GRACE_CLOCK, recheck, type GraceClock, type Recheck } from "./warn-then-act.js";
export { watchBackoffMs } from "./watch.js";
export {
  MAX_GROUP_PATTERN_CHARS,
  MAX_USER_PATTERN_CHARS,
  compileGroupPattern,
  compileSessionFilter,
  compileUserPattern,
  groupMembership,
  idleMsOf,
  type ClientFilter,
  type GroupMembership,
} from "./session-filter.js";
