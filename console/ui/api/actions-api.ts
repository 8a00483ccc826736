/**
 * Acting on sessions through `POST /api/v1/actions`: the request for a selection, and each host's
 * answer read from the `application/x-ndjson` stream as it arrives, in the UI's terms.
 */
import type {
  ActionHostResult,
  ActionRequest,
  ApiActionFilter,
  ApiActionName,
  ApiMessage,
  ApiSessionResult,
  ApiWarning,
} from "../../api/types.js";
import { protectionWords } from "../model.js";
import { readNdjson, type ApiClient } from "./client.js";

/** What can be done to sessions. */
export type ActionKind = ApiActionName;

/** The sessions an action is for: some sessions by id, or every session of some hosts matching a filter. */
export type ActionTarget =
  | { readonly kind: "sessions"; readonly sessions: readonly { host: string; sessionId: number }[] }
  | {
      readonly kind: "filter";
      readonly hosts: readonly string[];
      readonly filter: ApiActionFilter;
    };

/** Everything an action needs besides its target. */
export interface ActionOptions {
  readonly action: ActionKind;
  /** The message (message), or nothing. */
  readonly message?: ApiMessage | undefined;
  /** Warn first, then act after the grace period on the sessions that still match. */
  readonly warn?: ApiWarning | undefined;
}

/** How one session fared (or would fare, in a preview). */
export interface SessionOutcome {
  readonly sessionId: number;
  /** The agent's outcome without its prefix: `WOULD_LOG_OFF`, `PROTECTED`, `LOGGED_OFF`… */
  readonly outcome: string;
  readonly message: string;
  /** The protection rule that kept the session, for `PROTECTED`. */
  readonly protection?: string | undefined;
  readonly user?: string | undefined;
}

/** One host's answer. */
export interface HostOutcome {
  readonly host: string;
  /** `ok`, or how the host failed: `failed`, `denied`, `unreachable`, `timeout`. */
  readonly status: string;
  readonly sessions: readonly SessionOutcome[];
  /** With a warning first: how the warning fared, per session. */
  readonly warnings: readonly SessionOutcome[];
  /** Why the host failed, in the console's words. */
  readonly message?: string | undefined;
  readonly code?: string | undefined;
  /** The host may have acted although no answer came back. */
  readonly mayHaveActed: boolean;
}

/** Outcomes that mean "this session will be (or was) acted on". */
export const WILL_ACT = new Set(["WOULD_DISCONNECT", "WOULD_LOG_OFF", "WOULD_SEND_MESSAGE"]);
/** Outcomes that mean the agent tried and failed (others that do not act are skips). */
export const FAILED = new Set(["FAILED", "NOT_DISCONNECTABLE"]);
/** Outcomes that mean "done". */
export const DONE = new Set([
  "DISCONNECTED",
  "LOGGED_OFF",
  "MESSAGE_SENT",
  "ALREADY_DISCONNECTED",
  "ALREADY_LOGGED_OFF",
]);

const outcomeName = (outcome: string) => outcome.replace(/^OUTCOME_/, "");

const sessionOutcome = (result: ApiSessionResult): SessionOutcome => ({
  sessionId: result.sessionId,
  outcome: outcomeName(result.outcome),
  message: result.message,
  protection: protectionWords(result.protection ?? undefined),
  user: result.user ?? undefined,
});

/** The UI's form of a host's answer. */
export function hostOutcome(wire: ActionHostResult): HostOutcome {
  return {
    host: wire.host,
    status: wire.status,
    sessions: wire.results.map(sessionOutcome),
    warnings: (wire.warnings ?? []).map(sessionOutcome),
    message: wire.message,
    code: wire.code,
    mayHaveActed: wire.mayHaveActed === true,
  };
}

/** The request body of an action. */
export function actionBody(
  options: ActionOptions,
  target: ActionTarget,
  whatIf: boolean,
): ActionRequest {
  return {
    action: options.action,
    ...(target.kind === "sessions"
      ? { sessions: target.sessions }
      : { hosts: target.hosts, filter: target.filter }),
    whatIf,
    ...(options.message === undefined ? {} : { message: options.message }),
    ...(options.warn === undefined ? {} : { warn: options.warn }),
  };
}

/**
 * Sends an action (or its what-if) and calls `onHost` with each host's answer as it arrives;
 * resolves when every host answered.
 */
export async function runAction(
  api: ApiClient,
  options: ActionOptions,
  target: ActionTarget,
  whatIf: boolean,
  onHost: (outcome: HostOutcome) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await api.post("/api/v1/actions", actionBody(options, target, whatIf), {
    headers: { accept: "application/x-ndjson" },
    ...(signal ? { signal } : {}),
  });
  await readNdjson(response, (line) => onHost(hostOutcome(line as ActionHostResult)));
}
