/**
 * wmsfleet controller: `Disconnect-WmsSession` over a fleet of hosts. Build targets with
 * {@link resolveTargets}, create a {@link Controller} with one shared credentials object, and
 * iterate the results of each call as hosts answer:
 *
 * ```ts
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
 * Certificates for a fleet (CA, agents, clients) come from `controller/pki/index.js`.
 */
export { ChannelPool, channelOptionsFor, type ChannelPoolOptions } from "./channel-pool.js";
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
export { MAX_SESSION_ID } from "../common/session-id.js";
export {
  ACTION_VERBS,
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
  SYSTEM_GRACE_CLOCK,
  recheck,
  type GraceClock,
  type GracePeriod,
  type Recheck,
  type WarnThenActOptions,
  type WarnThenActResponse,
  type Warning,
} from "./warn-then-act.js";
export {
  watchBackoffMs,
  type SnapshotCause,
  type WatchChanges,
  type WatchConnected,
  type WatchDisconnected,
  type WatchEvent,
  type WatchHeartbeat,
  type WatchSnapshot,
} from "./watch.js";
export {
  MAX_USER_PATTERN_CHARS,
  compileSessionFilter,
  compileUserPattern,
  idleMsOf,
  type ClientFilter,
} from "./session-filter.js";
export {
  resolveControllerOptions,
  type ControllerOptions,
  type LocalTargetTest,
  type ResolvedControllerOptions,
} from "./controller-options.js";
export {
  CONFIG_FILES,
  LOCAL_CONFIG_DIR_NAME,
  describeConfigDir,
  findConfigDir,
  userConfigDir,
  type ConfigDir,
  type ConfigDirContext,
  type ConfigDirSource,
} from "./config-dir.js";
export { backoffMs, fanOut, type AttemptContext, type HostCall } from "./fan-out.js";
export {
  TargetError,
  formatHostPort,
  isLoopbackIp,
  normalizeHostName,
  parseHostPort,
  parsePort,
  type HostPort,
} from "./host-name.js";
export {
  NOT_SERVING_MESSAGE,
  NotServingError,
  SESSION_SERVICE_HEALTH_NAME,
  type AgentHealth,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthClient,
  type ServingStatus,
} from "./health-check.js";
export { healthClientOn } from "./health-client.js";
export {
  HostCallError,
  classifyFailure,
  isRefusedCertificate,
  isServiceError,
  rpcLabel,
  statusName,
  type HostFailure,
  type HostResult,
  type HostStatus,
  type HostSuccess,
  type RpcName,
} from "./host-result.js";
export { isLocalTarget, localAddresses } from "./local-machine.js";
export { DEFAULT_AGENT_PORT } from "../common/agent-port.js";
export {
  DEFAULT_TARGET,
  parseInventory,
  readInventory,
  resolveTargets,
  type InventoryEntry,
  type Target,
  type TargetSpec,
} from "./targets.js";
