/**
 * The vocabulary of calls that act on sessions: which verb (disconnect, log off), which sessions
 * (ids per host, or every session matching a filter), and the options and answer every such call
 * shares. One table maps each verb to its pair of RPCs, so that every verb goes through the same
 * code.
 */
import {
  Outcome,
  type SessionFilter,
  type SessionResult,
} from "../proto/gen/wms/v1/wms_session.js";
import type { RpcName } from "./host-result.js";
import type { Target } from "./targets.js";

/** Options every controller call takes. */
export interface CallOptions {
  /** Cancels the whole run: calls in flight are cancelled and the iteration throws. */
  readonly signal?: AbortSignal;
  /**
   * Whom the caller acts for (e.g. the person signed in to a console), sent as the
   * `wmsfleet-actor` metadata of each call (of the session service: not of health checks or
   * watches); each agent writes it, as claimed, into its audit
   * record beside the caller's certificate identity. Printable ASCII, 1 to
   * {@link MAX_ACTOR_CHARS} characters (a header value). @default none
   */
  readonly actor?: string;
}

/** The metadata key of {@link CallOptions.actor}. */
export const ACTOR_METADATA_KEY = "wmsfleet-actor";
/** The longest {@link CallOptions.actor}, in characters: what an agent keeps of it. */
export const MAX_ACTOR_CHARS = 256;

/**
 * Checks an actor name.
 * @throws TypeError when it is empty, too long or not printable ASCII.
 */
export function checkActor(actor: string | undefined): void {
  if (actor === undefined) return;
  if (actor.length === 0 || actor.length > MAX_ACTOR_CHARS || !/^[\x20-\x7e]+$/.test(actor)) {
    throw new TypeError(
      `actor ${JSON.stringify(actor.slice(0, 40))}: 1 to ${MAX_ACTOR_CHARS} printable ASCII characters (it is sent as the ${ACTOR_METADATA_KEY} header)`,
    );
  }
}

/** The session ids of a call: the same for every target, or chosen per target. */
export type SessionIdsByTarget = readonly number[] | ((target: Target) => readonly number[]);

/**
 * Which sessions a call is for: ids per target (`-SessionId`), or every session that matches a
 * filter (`-All`; no filter matches every session).
 */
export type SessionSelection =
  | { readonly kind: "ids"; readonly sessionIds: SessionIdsByTarget }
  | { readonly kind: "all"; readonly filter?: SessionFilter | undefined };

/** The verbs that change a session. */
export type SessionAction = "disconnect" | "logoff";

/** Options of every call that changes sessions. */
export interface ActionOptions extends CallOptions {
  /** Report what would happen and change nothing (-WhatIf). @default false */
  readonly whatIf?: boolean;
  /** Do not wait for each change to complete on the host. @default false */
  readonly noWait?: boolean;
}

/** What every call that acts on sessions answers: the agent's host name and one result each. */
export interface ActionResponse {
  readonly host: string;
  readonly results: SessionResult[];
}

/** One verb: its RPCs and the outcomes that say it was (or would be) done. */
export interface ActionVerb {
  /** By id, and for every session matching a filter. */
  readonly rpcs: { readonly ids: RpcName; readonly all: RpcName };
  /** The what-if outcome: the session would be acted on. */
  readonly would: Outcome;
  /** Done. */
  readonly done: Outcome;
  /** The verb in PowerShell's what-if and confirmation lines: `Disconnect`, `Log off`. */
  readonly operation: string;
}

/** The verbs, by name. */
export const ACTION_VERBS: Readonly<Record<SessionAction, ActionVerb>> = {
  disconnect: {
    rpcs: { ids: "Disconnect", all: "DisconnectAll" },
    would: Outcome.WOULD_DISCONNECT,
    done: Outcome.DISCONNECTED,
    operation: "Disconnect",
  },
  logoff: {
    rpcs: { ids: "Logoff", all: "LogoffAll" },
    would: Outcome.WOULD_LOG_OFF,
    done: Outcome.LOGGED_OFF,
    operation: "Log off",
  },
};

/** The ids a selection names for one target (none for `all`). */
export function idsFor(ids: SessionIdsByTarget | undefined, target: Target): number[] {
  if (ids === undefined) return [];
  return [...(typeof ids === "function" ? ids(target) : ids)];
}
