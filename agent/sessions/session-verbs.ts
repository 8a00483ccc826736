/**
 * What each verb of the session family does to one session (DESIGN sections 3 and 8): one table
 * per verb (disconnect, log off, message) of its backend call, its outcomes, its messages and the
 * states it cannot act on, and one pipeline ({@link decide}) that applies a verb to a session the
 * same way for every verb: not found, protected, not actionable or already done, what-if, act.
 */
import {
  MessageResponse,
  Outcome,
  Protection,
  SessionState,
} from "../../proto/gen/wms/v1/wms_session.js";
import { hasUser, type BackendSession, type MessageBox, type SessionBackend } from "./backend.js";
import type { LogoffMemory } from "./logoff-memory.js";
import {
  protectionOf,
  protectionResultMessage,
  SERVICES_SESSION_ID,
  type ProtectionContext,
} from "./protection.js";

/** The verbs of the family, as named in messages. */
export type VerbName = "disconnect" | "log off" | "message";

/** A result of one session before its wire form: what the pipeline decided. */
export interface Decision {
  readonly outcome: Outcome;
  readonly message: string;
  readonly protection?: Protection;
  readonly win32Error?: number;
  readonly response?: MessageResponse;
  /** The session to report instead of the live one (a log-off remembered). */
  readonly session?: BackendSession;
}

/** One verb: how it refuses, what it would do, and how it acts. */
export interface Verb {
  readonly name: VerbName;
  /** Whether the four protection rules apply (they guard against losing a session). */
  readonly protected: boolean;
  /** The answer for an id with no session; `NOT_FOUND` unless the verb knows better. */
  gone(sessionId: number): Decision;
  /** The answer without acting (already done, or not possible in this state), if any. */
  refuse(session: BackendSession): Decision | undefined;
  /** The what-if answer. */
  readonly wouldDo: Decision;
  /** Acts on the session. Throws `Win32Error` when the OS refuses. */
  perform(session: BackendSession): Promise<Decision>;
}

/** What a verb's table needs from the agent. */
export interface VerbContext {
  readonly backend: SessionBackend;
  readonly noWait: boolean;
}

const notFound = (sessionId: number): Decision => ({
  outcome: Outcome.NOT_FOUND,
  message: `no session with id ${sessionId}`,
});

const refused = (message: string): Decision => ({ outcome: Outcome.NOT_DISCONNECTABLE, message });

/** The states in which no verb can act on a session, and why, per verb. */
function stateRefusal(state: SessionState, verb: VerbName): string | undefined {
  switch (state) {
    case SessionState.LISTEN:
      return verb === "message"
        ? "a listener session has no user to show a message to"
        : `a listener session cannot be ${verb === "disconnect" ? "disconnected" : "logged off"}`;
    case SessionState.DOWN:
      return verb === "disconnect" ? "the session is down" : `the session is down; ${cannot(verb)}`;
    case SessionState.INIT:
      return verb === "disconnect"
        ? "the session is still initializing"
        : `the session is still initializing; ${cannot(verb)}`;
    case SessionState.RESET:
      return verb === "disconnect"
        ? "the session is being reset"
        : `the session is being reset; ${cannot(verb)}`;
    default:
      return undefined;
  }
}

function cannot(verb: VerbName): string {
  return verb === "message" ? "a message cannot be shown" : `it cannot be ${pastOf(verb)}`;
}

function pastOf(verb: VerbName): string {
  return verb === "disconnect" ? "disconnected" : verb === "log off" ? "logged off" : "messaged";
}

/** Disconnect (`WTSDisconnectSession`). */
export function disconnectVerb({ backend, noWait }: VerbContext): Verb {
  return {
    name: "disconnect",
    protected: true,
    gone: notFound,
    refuse(session) {
      if (session.state === SessionState.DISCONNECTED) {
        return {
          outcome: Outcome.ALREADY_DISCONNECTED,
          message: "the session is already disconnected",
        };
      }
      const refusal = stateRefusal(session.state, "disconnect");
      return refusal === undefined ? undefined : refused(refusal);
    },
    wouldDo: { outcome: Outcome.WOULD_DISCONNECT, message: "what if: would disconnect" },
    async perform(session) {
      await backend.disconnectSession(session.sessionId, { wait: !noWait });
      return {
        outcome: Outcome.DISCONNECTED,
        message: noWait ? "disconnect started (no_wait)" : "disconnected",
      };
    },
  };
}

/** Log off (`WTSLogoffSession`), idempotent through the agent's memory of its log-offs. */
export function logoffVerb({ backend, noWait }: VerbContext, memory: LogoffMemory): Verb {
  const already = (sessionId: number, now: string): Decision | undefined => {
    const remembered = memory.recall(sessionId);
    if (remembered === undefined) return undefined;
    const { session, atMs } = remembered;
    const user =
      session.domainName === "" ? session.userName : `${session.domainName}\\${session.userName}`;
    return {
      outcome: Outcome.ALREADY_LOGGED_OFF,
      message: `already logged off: this agent logged ${user} off at ${new Date(atMs).toISOString()}; ${now}`,
      session,
    };
  };
  return {
    name: "log off",
    protected: true,
    gone: (sessionId) => already(sessionId, "the session has ended") ?? notFound(sessionId),
    refuse(session) {
      const refusal = stateRefusal(session.state, "log off");
      if (refusal !== undefined) return refused(refusal);
      if (hasUser(session)) return undefined;
      return (
        already(session.sessionId, "nobody is logged on now") ??
        refused("nobody is logged on to the session: there is nothing to log off")
      );
    },
    wouldDo: { outcome: Outcome.WOULD_LOG_OFF, message: "what if: would log off" },
    async perform(session) {
      await backend.logoffSession(session.sessionId, { wait: !noWait });
      memory.remember(session);
      return {
        outcome: Outcome.LOGGED_OFF,
        message: noWait ? "log-off started (no_wait)" : "logged off",
      };
    },
  };
}

/** Message (`WTSSendMessageW`): never protected, since it changes nothing. */
export function messageVerb(backend: SessionBackend, box: MessageBox): Verb {
  return {
    name: "message",
    protected: false,
    gone: notFound,
    refuse(session) {
      if (session.sessionId === SERVICES_SESSION_ID) {
        return refused(
          "the services session (session 0) shows no desktop to anyone: a message cannot be shown there",
        );
      }
      const refusal = stateRefusal(session.state, "message");
      if (refusal !== undefined) return refused(refusal);
      return hasUser(session)
        ? undefined
        : refused("nobody is logged on to the session: there is no one to read a message");
    },
    wouldDo: {
      outcome: Outcome.WOULD_SEND_MESSAGE,
      message: "what if: would show the message",
    },
    async perform(session) {
      const response = await backend.sendMessage(session.sessionId, box);
      return { outcome: Outcome.MESSAGE_SENT, message: answerMessage(response), response };
    },
  };
}

/** The message of a `MESSAGE_SENT` result. */
export function answerMessage(response: MessageResponse): string {
  switch (response) {
    case MessageResponse.NOT_WAITED:
      return "shown (the answer was not waited for)";
    case MessageResponse.TIMEOUT:
      return "shown; no answer before the timeout";
    default:
      return `shown; the user answered ${MessageResponse[response] ?? String(response)}`;
  }
}

/** Where the pipeline stopped for one session: an answer, or an action still to take. */
export type Step =
  | { readonly kind: "answered"; readonly decision: Decision }
  | { readonly kind: "act"; readonly session: BackendSession };

/**
 * The pipeline every verb follows for one session, short of acting: not found, protected (when
 * the verb is), refused or already done, what-if; otherwise the session is to be acted on.
 */
export function decide(
  verb: Verb,
  sessionId: number,
  session: BackendSession | undefined,
  protection: ProtectionContext,
  whatIf: boolean,
): Step {
  if (session === undefined) return { kind: "answered", decision: verb.gone(sessionId) };
  if (verb.protected) {
    const rule = protectionOf(sessionId, protection);
    if (rule !== Protection.UNSPECIFIED) {
      return {
        kind: "answered",
        decision: {
          outcome: Outcome.PROTECTED,
          message: protectedMessage(rule, protection, verb.name),
          protection: rule,
        },
      };
    }
  }
  const refusal = verb.refuse(session);
  if (refusal !== undefined) return { kind: "answered", decision: refusal };
  if (whatIf) return { kind: "answered", decision: verb.wouldDo };
  return { kind: "act", session };
}

/**
 * The message of a `PROTECTED` result. A log-off of the caller's own session says so in the words
 * of `Close-WmsSession`: "You cannot close the cmdlet's session".
 */
function protectedMessage(rule: Protection, context: ProtectionContext, verb: VerbName): string {
  const reason = protectionResultMessage(rule, context);
  const callers = rule === Protection.CALLER_PROCESS || rule === Protection.CALLER_SESSION_ID;
  return verb === "log off" && callers
    ? `${reason}: you cannot close the cmdlet's session`
    : reason;
}
