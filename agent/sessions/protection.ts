/**
 * Protected sessions (DESIGN section 3): "you cannot disconnect the cmdlet's process". Pure logic;
 * the facts (which session the agent, the caller process and the request name) are gathered by
 * the handlers.
 */
import { Protection } from "../../proto/gen/wms/v1/wms_session.js";

/** The services session: never disconnected (rule 2). */
export const SERVICES_SESSION_ID = 0;

/** What the agent knows about who is asking, for one request. */
export interface ProtectionContext {
  /** The session the agent runs in (rule 1). */
  readonly agentSessionId: number;
  /** The session of the calling process when it runs on this host (rule 3). */
  readonly callerProcessSessionId: number | undefined;
  /** The session the request names in `caller_session_id` (rule 4). */
  readonly requestCallerSessionId: number | undefined;
}

/**
 * The rule that protects `sessionId`, or `Protection.UNSPECIFIED` when none does. When several
 * rules apply the first in DESIGN order wins, so the reason is stable.
 */
export function protectionOf(sessionId: number, context: ProtectionContext): Protection {
  if (sessionId === context.agentSessionId) return Protection.AGENT_SESSION;
  if (sessionId === SERVICES_SESSION_ID) return Protection.SERVICES_SESSION;
  if (sessionId === context.callerProcessSessionId) return Protection.CALLER_PROCESS;
  if (sessionId === context.requestCallerSessionId) return Protection.CALLER_SESSION_ID;
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
    case Protection.UNSPECIFIED:
    case Protection.UNRECOGNIZED:
      return "not protected";
  }
}
