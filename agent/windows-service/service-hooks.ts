/**
 * What the agent gets from the Windows Service Control Manager while it runs as a service
 * (`wms-agent service run`), and gives back: the contract between `service-control-manager.ts`
 * (the SCM's side) and the agent's entry point (`agent/main.ts`). No native code here.
 */

/**
 * The kinds of `SERVICE_CONTROL_SESSIONCHANGE` (`WTS_CONSOLE_CONNECT` 1 ... `WTS_SESSION_TERMINATE`
 * 11), by their `dwEventType`.
 */
export const SESSION_CHANGE_KINDS = {
  1: "console-connect",
  2: "console-disconnect",
  3: "remote-connect",
  4: "remote-disconnect",
  5: "logon",
  6: "logoff",
  7: "lock",
  8: "unlock",
  9: "remote-control",
  10: "create",
  11: "terminate",
} as const;

/** A kind of session change the SCM reports. */
export type SessionChangeKind = (typeof SESSION_CHANGE_KINDS)[keyof typeof SESSION_CHANGE_KINDS];

/** One `SERVICE_CONTROL_SESSIONCHANGE`: what happened, to which session. */
export interface SessionChange {
  readonly kind: SessionChangeKind;
  readonly sessionId: number;
}

/** The kind of a `SESSIONCHANGE` event type, or `undefined` for one Windows added since. */
export function sessionChangeKind(eventType: number): SessionChangeKind | undefined {
  return (SESSION_CHANGE_KINDS as Record<number, SessionChangeKind | undefined>)[eventType];
}

/** The agent's side of being a service. */
export interface ServiceHooks {
  /**
   * Aborted when the SCM asks the service to stop: `stop`, `preshutdown` (the machine shuts
   * down) or `shutdown`; the reason says which. May be aborted before the agent serves: it then
   * stops as soon as it can, without serving.
   */
  readonly stopSignal: AbortSignal;
  /** The agent serves (it listens and answers): the service reports RUNNING. */
  serving(): void;
  /**
   * The agent drains for `graceMs`: the service reports STOP_PENDING, its checkpoint advancing
   * with a wait hint of the grace that remains, until it stops.
   */
  draining(graceMs: number): void;
  /**
   * Sets the service's preshutdown timeout (`ChangeServiceConfig2W`
   * `SERVICE_CONFIG_PRESHUTDOWN_INFO`) to `graceMs` and a margin, so that at a machine shutdown
   * the agent gets its grace period rather than Windows' default. Returns what went wrong, or
   * `undefined`.
   */
  setStopGrace(graceMs: number): string | undefined;
  /** Subscribes to the SCM's session changes; returns the function that unsubscribes. */
  onSessionChange(listener: (change: SessionChange) => void): () => void;
}
