/**
 * Protected sessions (DESIGN section 3): "you cannot disconnect the cmdlet's process". Pure logic;
 * the facts (which session the agent, the caller process and the request name) are gathered by
 * the handlers.
 */
import { Protection } from "../../proto/gen/wms/v1/wms_session.js";

/** The services session: never disconnected (rule 2). */
export const SERVICES_SESSION_ID = 0;

/**
 * What rule 3 found out about the process that made a call (`agent/caller/` finds it):
 * - `remote`: the peer is not on this host; rule 3 does not apply;
 * - `resolved`: the sessions of the processes that hold the client's end of the connection
 *   (usually one; none when the process runs in no session);
 * - `unresolved`: the peer is on this host but its process could not be found; `reason` says why.
 *   The agent fails closed: every session may be the caller's.
 */
export type CallerProcess =
  | { readonly kind: "remote" }
  | { readonly kind: "resolved"; readonly sessionIds: readonly number[] }
  | { readonly kind: "unresolved"; readonly reason: string };

/** What the agent knows about who is asking, for one request. */
export interface ProtectionContext {
  /** The session the agent runs in (rule 1). */
  readonly agentSessionId: number;
  /** The calling process when it runs on this host (rule 3). */
  readonly caller: CallerProcess;
  /** The session the request names in `caller_session_id` (rule 4). */
  readonly requestCallerSessionId: number | undefined;
}

/**
 * The rule that protects `sessionId`, or `Protection.UNSPECIFIED` when none does. When several
 * rules apply the first in DESIGN order wins, so the reason is stable; an unresolved local caller
 * (rule 3 failing closed) comes last, after every rule that names the session for certain.
 */
export function protectionOf(sessionId: number, context: ProtectionContext): Protection {
  const { caller } = context;
  if (sessionId === context.agentSessionId) return Protection.AGENT_SESSION;
  if (sessionId === SERVICES_SESSION_ID) return Protection.SERVICES_SESSION;
  if (caller.kind === "resolved" && caller.sessionIds.includes(sessionId)) {
    return Protection.CALLER_PROCESS;
  }
  if (sessionId === context.requestCallerSessionId) return Protection.CALLER_SESSION_ID;
  if (caller.kind === "unresolved") return Protection.CALLER_UNRESOLVED;
  return Protection.UNSPECIFIED;
}

/** The message that explains a protection rule in a result. */
export function protectionMessage(protection: Protection): string {
  switch (protection) {
    case Protection.AGENT_SESSION:
      return "protected: the agent's own session";
    case Protection.SERVICES_SESSION:
      return "protected: the services session (session 0)";
    case Protection.CALLER_PROCESS:
      return "protected: the session of the calling process";
    case Protection.CALLER_SESSION_ID:
      return "protected: the caller's session (caller_session_id)";
    case Protection.CALLER_UNRESOLVED:
      return "protected: the caller runs on this host but its process could not be found, so this may be its own session; nothing was done";
    case Protection.UNSPECIFIED:
    case Protection.UNRECOGNIZED:
      return "not protected";
  }
}

/** The message of a result protected by `protection`, with the reason when rule 3 failed closed. */
export function protectionResultMessage(
  protection: Protection,
  context: ProtectionContext,
): string {
  const message = protectionMessage(protection);
  return protection === Protection.CALLER_UNRESOLVED && context.caller.kind === "unresolved"
    ? `${message} (${context.caller.reason})`
    : message;
}
