/**
 * Warn, then act (DESIGN section 8): show the users a message, wait a grace period, list the
 * sessions again, and disconnect or log off only those that still match — the same logon (id,
 * user, logon time), the same state, and still the filter (idle long enough). A user who came back
 * during the grace period is left alone with `OUTCOME_NO_LONGER_MATCHES` and a message that says
 * why.
 *
 * Phases, each a fan-out over the hosts still in play:
 * 1. a what-if of the action: the agent decides, with its protection rules, what it would act on;
 * 2. `SendMessage` (no wait) to those sessions, with the grace period as the message's timeout;
 * 3. the grace period (abortable; the clock is injectable, so tests do not wait);
 * 4. `ListSessions` of those sessions, and the check;
 * 5. the action, by id, on the sessions that still match.
 *
 * Every host is reported exactly once: a host that fails a phase is reported then, with the error
 * of that phase's RPC, and nothing more is done there (a host that could not be warned or checked
 * is never acted on). The time between the check and the action is a round trip: a user who comes
 * back within it is acted on, as with any disconnect.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  MessageResponse,
  Outcome,
  SessionState,
  type ListSessionsResponse,
  type MessageButtons,
  type SendMessageResponse,
  type Session,
  type SessionFilter,
  type SessionResult,
} from "../proto/gen/wms/v1/wms_session.js";
import type { HostResult, HostSuccess } from "./host-result.js";
import {
  MAX_MESSAGE_TIMEOUT_MS,
  MIN_MESSAGE_TIMEOUT_MS,
  messageFields,
  type MessageOptions,
} from "./message.js";
import {
  ACTION_VERBS,
  checkActor,
  type ActionOptions,
  type ActionResponse,
  type CallOptions,
  type SessionAction,
  type SessionIdsByTarget,
  type SessionSelection,
} from "./session-actions.js";
import {
  compileSessionFilter,
  describeMs,
  idleMsOf,
  stateName,
  type ClientFilter,
} from "./session-filter.js";
import type { Target } from "./targets.js";

/** The longest grace period: 24 hours, the longest a message may stay on screen. */
export const MAX_GRACE_MS = MAX_MESSAGE_TIMEOUT_MS;

/** The clock of the grace period. */
export interface GraceClock {
  /** The time, Unix milliseconds. */
  now(): number;
  /** Waits `ms`; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock. */
export const SYSTEM_GRACE_CLOCK: GraceClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/** The warning shown before the action. */
export interface Warning {
  /** 1 to 4,096 characters. */
  readonly text: string;
  /** @default the agent's ("Message from your administrator") */
  readonly title?: string;
  /** @default OK */
  readonly buttons?: MessageButtons;
}

/** When the grace period starts: who was warned and when the action comes. */
export interface GracePeriod {
  /** Sessions the warning was sent to (whether or not each could show it). */
  readonly sessions: number;
  /** Hosts they are on. */
  readonly hosts: number;
  readonly graceMs: number;
  /** When the check and the action come. */
  readonly endsAt: Date;
}

/** Options of {@link warnThenAct}. */
export interface WarnThenActOptions extends ActionOptions {
  readonly action: SessionAction;
  readonly selection: SessionSelection;
  readonly warning: Warning;
  /** How long users have between the warning and the action, in milliseconds (0 to 24 h). */
  readonly graceMs: number;
  /**
   * A filter the sessions must still match when the grace period ends. @default the selection's
   * filter (`kind: "all"`); none for ids (then the same logon in the same state is enough)
   */
  readonly recheckFilter?: SessionFilter;
  /** @default {@link SYSTEM_GRACE_CLOCK} */
  readonly clock?: GraceClock;
  /** Told when the grace period starts (not with `whatIf`, which has none). */
  readonly onGrace?: (grace: GracePeriod) => void;
}

/** A host's answer: the session results, and the warning's result for each warned session. */
export interface WarnThenActResponse extends ActionResponse {
  /** `SendMessage`'s result for each session warned (with `whatIf`, who would be). */
  readonly warnings: readonly SessionResult[];
}

/** The calls warn-then-act makes: the controller's. */
export interface WarnThenActCalls {
  act(
    action: SessionAction,
    targets: readonly Target[],
    selection: SessionSelection,
    options?: ActionOptions,
  ): AsyncIterable<HostResult<ActionResponse>>;
  sendMessage(
    targets: readonly Target[],
    selection: SessionSelection,
    message: MessageOptions,
  ): AsyncIterable<HostResult<SendMessageResponse>>;
  listSessions(
    targets: readonly Target[],
    options?: CallOptions & { sessionIds?: SessionIdsByTarget },
  ): AsyncIterable<HostResult<ListSessionsResponse>>;
}

/** What the check after the grace period decided for one session. */
export type Recheck =
  { readonly stillMatches: true } | { readonly stillMatches: false; readonly reason: string };

const sameTime = (a: Date | undefined, b: Date | undefined) => a?.getTime() === b?.getTime();
const who = (s: Session) => (s.domainName === "" ? s.userName : `${s.domainName}\\${s.userName}`);

/**
 * Whether a session warned as `before` still qualifies as `after` (undefined: gone): the same
 * logon (user, domain, logon time), the same state, and `filter` (idle time as the agent answered
 * it when listing, so no clock skew enters).
 */
export function recheck(
  before: Session,
  after: Session | undefined,
  filter: ClientFilter | undefined,
  nowMs: number,
): Recheck {
  const no = (reason: string): Recheck => ({ stillMatches: false, reason });
  if (after === undefined) return no("the session ended during the grace period");
  if (
    after.userName !== before.userName ||
    after.domainName !== before.domainName ||
    !sameTime(after.logonTime, before.logonTime)
  ) {
    const now = after.userName === "" ? "nobody logged on" : who(after);
    return no(`another logon has this session id now (${now}; warned: ${who(before)})`);
  }
  if (after.state !== before.state) {
    const back = after.state === SessionState.ACTIVE ? ": the user came back" : "";
    return no(
      `it went from ${stateName(before.state)} to ${stateName(after.state)} during the grace period${back}`,
    );
  }
  const idleMs = idleMsOf(after, nowMs);
  const minIdleMs = filter?.minIdleMs;
  if (minIdleMs !== undefined && minIdleMs > 0 && idleMs !== undefined && idleMs < minIdleMs) {
    return no(
      `the user came back: idle ${describeMs(idleMs)} now, less than the ${describeMs(minIdleMs)} asked for`,
    );
  }
  const why = filter?.mismatch(after, idleMs);
  return why === undefined ? { stillMatches: true } : no(`it no longer matches the filter: ${why}`);
}

const byId = (a: SessionResult, b: SessionResult) => a.sessionId - b.sessionId;

/** A host's success with another answer. */
function answered<T>(result: HostSuccess<unknown>, response: T): HostSuccess<T> {
  return { ...result, response };
}

/**
 * Checks the options of {@link warnThenAct}.
 * @throws TypeError on a grace period out of range or a bad warning.
 */
function checkOptions(options: WarnThenActOptions): void {
  const { graceMs } = options;
  if (!Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS) {
    throw new TypeError(
      `grace period ${String(graceMs)} ms is outside 0..${MAX_GRACE_MS} ms (24 h)`,
    );
  }
  messageFields({ ...options.warning, timeoutMs: messageTimeoutMs(graceMs) });
  checkActor(options.actor);
}

/** The warning stays on screen for the grace period (at least the 1 s the agent allows). */
const messageTimeoutMs = (graceMs: number) => Math.max(MIN_MESSAGE_TIMEOUT_MS, graceMs);

/**
 * Warns, waits, checks and acts; yields one result per target, as each host's part ends.
 * @throws TypeError at once (before anything is sent) on bad options.
 */
export function warnThenAct(
  calls: WarnThenActCalls,
  targets: readonly Target[],
  options: WarnThenActOptions,
): AsyncIterable<HostResult<WarnThenActResponse>> {
  checkOptions(options);
  const recheckFilter = compileSessionFilter(
    options.recheckFilter ??
      (options.selection.kind === "all" ? options.selection.filter : undefined),
  );
  const filter =
    options.recheckFilter !== undefined || options.selection.kind === "all"
      ? recheckFilter
      : undefined;
  return run(calls, targets, options, filter);
}

async function* run(
  calls: WarnThenActCalls,
  targets: readonly Target[],
  options: WarnThenActOptions,
  filter: ClientFilter | undefined,
): AsyncGenerator<HostResult<WarnThenActResponse>> {
  const signal = options.signal ?? new AbortController().signal;
  const clock = options.clock ?? SYSTEM_GRACE_CLOCK;
  const verb = ACTION_VERBS[options.action];
  const whatIf = options.whatIf ?? false;

  // 1. What would the agent act on? Everything else (protected, not found, ...) is final.
  const candidates = new Map<string, SessionResult[]>();
  const settled = new Map<string, SessionResult[]>();
  const previews = new Map<string, HostSuccess<ActionResponse>>();
  const actor = options.actor === undefined ? {} : { actor: options.actor };
  for await (const preview of calls.act(options.action, targets, options.selection, {
    whatIf: true,
    signal,
    ...actor,
  })) {
    if (preview.status !== "ok") {
      yield preview;
      continue;
    }
    const results = preview.response.results;
    const would = results.filter((r) => r.outcome === verb.would && r.session !== undefined);
    settled.set(
      preview.host,
      results.filter((r) => !would.includes(r)),
    );
    if (would.length === 0) {
      yield answered(preview, { host: preview.response.host, results, warnings: [] });
      continue;
    }
    candidates.set(preview.host, would);
    previews.set(preview.host, preview);
  }
  const idsOf = (target: Target) => (candidates.get(target.fqdn) ?? []).map((r) => r.sessionId);

  // 2. Warn them.
  const warned = targets.filter((target) => candidates.has(target.fqdn));
  const warnings = new Map<string, SessionResult[]>();
  if (warned.length === 0) return;
  for await (const result of calls.sendMessage(
    warned,
    { kind: "ids", sessionIds: idsOf },
    {
      ...options.warning,
      timeoutMs: messageTimeoutMs(options.graceMs),
      wait: false,
      whatIf,
      signal,
      ...actor,
    },
  )) {
    if (result.status !== "ok") {
      yield result;
      continue;
    }
    warnings.set(result.host, result.response.results);
    if (whatIf) {
      const preview = previews.get(result.host) as HostSuccess<ActionResponse>;
      yield answered(preview, {
        host: preview.response.host,
        results: preview.response.results,
        warnings: result.response.results,
      });
    }
  }
  if (whatIf || warnings.size === 0) return;

  // 3. The grace period.
  const sessions = [...warnings.values()].reduce((n, list) => n + list.length, 0);
  options.onGrace?.({
    sessions,
    hosts: warnings.size,
    graceMs: options.graceMs,
    endsAt: new Date(clock.now() + options.graceMs),
  });
  await clock.sleep(options.graceMs, signal);

  // 4. Who still qualifies?
  const checked = warned.filter((target) => warnings.has(target.fqdn));
  const stillIds = new Map<string, number[]>();
  const leftAlone = new Map<string, SessionResult[]>();
  for await (const listing of calls.listSessions(checked, {
    sessionIds: idsOf,
    signal,
    ...actor,
  })) {
    if (listing.status !== "ok") {
      yield listing;
      continue;
    }
    const now = new Map(listing.response.sessions.map((s) => [s.sessionId, s]));
    const nowMs = clock.now();
    const keep: number[] = [];
    const alone: SessionResult[] = [];
    for (const candidate of candidates.get(listing.host) ?? []) {
      const after = now.get(candidate.sessionId);
      const verdict = recheck(candidate.session as Session, after, filter, nowMs);
      if (verdict.stillMatches) {
        keep.push(candidate.sessionId);
      } else {
        alone.push({
          sessionId: candidate.sessionId,
          outcome: Outcome.NO_LONGER_MATCHES,
          message: `left alone: ${verdict.reason}`,
          win32Error: 0,
          protection: candidate.protection,
          session: after ?? candidate.session,
          response: MessageResponse.UNSPECIFIED,
        });
      }
    }
    leftAlone.set(listing.host, alone);
    if (keep.length > 0) {
      stillIds.set(listing.host, keep);
      continue;
    }
    yield answered(listing, {
      host: listing.response.host,
      results: [...(settled.get(listing.host) ?? []), ...alone].sort(byId),
      warnings: warnings.get(listing.host) ?? [],
    });
  }

  // 5. Act on those.
  const acting = checked.filter((target) => stillIds.has(target.fqdn));
  if (acting.length === 0) return;
  for await (const result of calls.act(
    options.action,
    acting,
    { kind: "ids", sessionIds: (target) => stillIds.get(target.fqdn) ?? [] },
    { noWait: options.noWait ?? false, signal, ...actor },
  )) {
    if (result.status !== "ok") {
      yield result;
      continue;
    }
    yield answered(result, {
      host: result.response.host,
      results: [
        ...result.response.results,
        ...(settled.get(result.host) ?? []),
        ...(leftAlone.get(result.host) ?? []),
      ].sort(byId),
      warnings: warnings.get(result.host) ?? [],
    });
  }
}
