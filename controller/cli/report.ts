/**
 * The plain, JSON-ready view of each host's result that `wmsctl` prints (`-o json`/`ndjson`
 * records, table rows), its summary line and the exit status (DESIGN section 6).
 */
import {
  MessageResponse,
  Outcome,
  messageResponseToJSON,
  outcomeToJSON,
  protectionToJSON,
  sessionStateToJSON,
  type GetAgentInfoResponse,
  type Session,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { NotServingError, type AgentHealth } from "../health-check.js";
import { idleMsOf, liveIdleMsOf } from "../session-filter.js";
import type { HostResult, HostStatus } from "../host-result.js";
import { ExitStatus } from "./usage-error.js";

/** One session as `wmsctl get` prints it. */
export interface SessionView {
  readonly sessionId: number;
  readonly state: string;
  readonly userName: string;
  readonly domainName: string;
  readonly stationName: string;
  readonly clientName: string;
  /** ISO 8601, or null when nobody is logged on. */
  readonly logonTime: string | null;
  /** Seconds without input, or null when unknown. */
  readonly idleSeconds: number | null;
  /** When the last keyboard or mouse input was (ISO 8601), or null when unknown. */
  readonly lastInputTime: string | null;
  /** Whether the session is locked. */
  readonly locked: boolean;
  /** The protection rule (`SERVICES_SESSION`, …) or `NONE`. */
  readonly protection: string;
  /**
   * The user's groups (`DOMAIN\Group`, sorted), or null when the agent does not know them
   * (nobody logged on, a token it could not read: see `note`; an agent older than groups).
   */
  readonly groups: readonly string[] | null;
  /**
   * Set when the agent could not read the whole session (one of its queries failed): what went
   * wrong. The fields it could not read are empty or null. Absent for a session read whole.
   */
  readonly note?: string;
}

/** `wmsctl`'s own outcome, beside the agent's: a session refused at the `--confirm` prompt. */
export const DECLINED = "DECLINED";

/**
 * Why a session the agent skipped by rule (`PROTECTED`, `NOT_DISCONNECTABLE`, `NOT_FOUND`) is not
 * a failure: `all` — `--all` skips such sessions by design, as `Disconnect-WmsSession -All` does;
 * `input` — standard input announced it (the `protection` or `state` that `wmsctl get` printed).
 */
export type SkipReason = "all" | "input";

/** What happened to one session; {@link DECLINED} is `wmsctl`'s own: refused at `--confirm`. */
export interface ResultView {
  readonly sessionId: number;
  readonly outcome: string;
  readonly message: string;
  readonly win32Error: number;
  readonly protection: string;
  readonly userName: string;
  readonly stationName: string;
  /** Set when the outcome is a skip that is not a failure, and why (see {@link SkipReason}). */
  readonly skipped?: SkipReason;
  /** `message`: how the user answered (`OK`, `YES`, `TIMEOUT`, `NOT_WAITED`, …); absent otherwise. */
  readonly response?: string;
}

/** One host, as printed. */
export interface HostReport {
  readonly host: string;
  readonly address: string;
  readonly status: HostStatus;
  readonly durationMs: number;
  readonly attempts: number;
  /** The gRPC status name when the host did not succeed. */
  readonly code?: string;
  /** The full error (`host WmsSessionService/Rpc CODE: details`) when the host did not succeed. */
  readonly error?: string;
  /**
   * A change was asked and sent, and no answer came back (the deadline passed, the connection was
   * lost): it may have taken effect. Check with `wmsctl get`; a disconnect is safe to run again.
   */
  readonly mayHaveActed?: true;
  readonly sessions?: SessionView[];
  /** Requested session ids the host does not have (`get` with ids). */
  readonly missing?: number[];
  readonly results?: ResultView[];
  /** `--warn`: what the warning did in each session it was sent to (`MESSAGE_SENT`, …). */
  readonly warnings?: ResultView[];
  /**
   * `health`: what the agent's `grpc.health.v1.Health/Check` said of `wms.v1.WmsSessionService`
   * (`SERVING`, `NOT_SERVING`), when it answered one.
   */
  readonly health?: string;
  readonly agent?: {
    readonly version: string;
    readonly backend: string;
    readonly agentSessionId: number;
    readonly startTime: string | null;
  };
}

const strip = (text: string, prefix: string) =>
  text.startsWith(prefix) ? text.slice(prefix.length) : text;

/** An enum value's name without its prefix: `OUTCOME_DISCONNECTED` → `DISCONNECTED`. */
export const outcomeName = (value: number) => strip(outcomeToJSON(value), "OUTCOME_");
const protectionName = (value: number) =>
  value === 0 ? "NONE" : strip(protectionToJSON(value), "PROTECTION_");

/**
 * The printed form of a session. Idle time is the agent's answer when it has one; with `live`
 * (a watch, whose sessions were sent when they last changed) it is counted from the last input
 * to `nowMs`.
 */
export function sessionView(
  session: Session,
  nowMs: number = Date.now(),
  live = false,
): SessionView {
  const idleMs = live ? liveIdleMsOf(session, nowMs) : idleMsOf(session, nowMs);
  return {
    sessionId: session.sessionId,
    state: strip(sessionStateToJSON(session.state), "SESSION_STATE_"),
    userName: session.userName,
    domainName: session.domainName,
    stationName: session.stationName,
    clientName: session.clientName,
    logonTime: session.logonTime?.toISOString() ?? null,
    idleSeconds: idleMs === undefined ? null : Math.floor(idleMs / 1000),
    lastInputTime: session.lastInputTime?.toISOString() ?? null,
    locked: session.locked,
    protection: protectionName(session.protection),
    groups: session.groupsKnown ? [...session.groups] : null,
    ...(session.note === "" ? {} : { note: session.note }),
  };
}

/** The printed form of a session result. */
export function resultView(result: SessionResult): ResultView {
  return {
    sessionId: result.sessionId,
    outcome: outcomeName(result.outcome),
    message: result.message,
    win32Error: result.win32Error,
    protection: protectionName(result.protection),
    userName: result.session?.userName ?? "",
    stationName: result.session?.stationName ?? "",
    ...(result.response === MessageResponse.UNSPECIFIED
      ? {}
      : { response: strip(messageResponseToJSON(result.response), "MESSAGE_RESPONSE_") }),
  };
}

/** A host's answer to an action: its session results, and with `--warn` the warnings'. */
export interface ActionAnswer {
  readonly results: readonly SessionResult[];
  readonly warnings?: readonly SessionResult[];
}

/**
 * The report of a host's answer to an action (disconnect, log off, message; warned first or
 * not): its results, with `extra` results merged in session id order (declined at `--confirm`),
 * and the warnings when there were any.
 */
export function actionReport(
  result: HostResult<ActionAnswer>,
  options: { extra?: readonly ResultView[] } = {},
): HostReport {
  return hostReport(result, (response) => {
    const extra = options.extra ?? [];
    const results = response.results.map(resultView);
    return {
      results:
        extra.length === 0
          ? results
          : [...results, ...extra].sort((a, b) => a.sessionId - b.sessionId),
      ...(response.warnings === undefined ? {} : { warnings: response.warnings.map(resultView) }),
    };
  });
}

/** The common part of a host report; `body` adds what the RPC answered. */
export function hostReport<T>(result: HostResult<T>, body: (response: T) => object): HostReport {
  const base = {
    host: result.host,
    address: result.address,
    status: result.status,
    durationMs: result.durationMs,
    attempts: result.attempts,
  };
  if (result.status === "ok") return { ...base, ...body(result.response) };
  return {
    ...base,
    code: result.code,
    error: result.error.message,
    ...(result.mayHaveActed === true ? { mayHaveActed: true } : {}),
  };
}

/** The `agent` part of a `health` report. */
export function agentView(info: GetAgentInfoResponse): NonNullable<HostReport["agent"]> {
  return {
    version: info.version,
    backend: info.backend,
    agentSessionId: info.agentSessionId,
    startTime: info.startTime?.toISOString() ?? null,
  };
}

/**
 * A `health` report: the serving status and the agent's description; when the agent answered
 * anything but `SERVING`, both beside the error (the description if the agent still gave it).
 */
export function healthReport(result: HostResult<AgentHealth>): HostReport {
  const report = hostReport(result, (response) => ({
    health: response.status,
    ...(response.agentInfo === undefined ? {} : { agent: agentView(response.agentInfo) }),
  }));
  if (result.status === "ok" || !(result.error instanceof NotServingError)) return report;
  const { servingStatus, agentInfo } = result.error;
  return {
    ...report,
    health: servingStatus,
    ...(agentInfo === undefined ? {} : { agent: agentView(agentInfo) }),
  };
}

/**
 * Outcomes that mean the session ended up as asked (or would, or was left by choice: declined at
 * `--confirm`, or its user came back during a `--warn` grace period).
 */
const SUCCESSES: ReadonlySet<string> = new Set([
  ...[
    Outcome.DISCONNECTED,
    Outcome.WOULD_DISCONNECT,
    Outcome.ALREADY_DISCONNECTED,
    Outcome.LOGGED_OFF,
    Outcome.WOULD_LOG_OFF,
    Outcome.ALREADY_LOGGED_OFF,
    Outcome.MESSAGE_SENT,
    Outcome.WOULD_SEND_MESSAGE,
    Outcome.NO_LONGER_MATCHES,
  ].map(outcomeName),
  DECLINED,
]);
/** With `--all` the agent skips protected, unsuitable and vanished sessions by design. */
const SKIPS_OF_ALL: ReadonlySet<string> = new Set(
  [Outcome.PROTECTED, Outcome.NOT_DISCONNECTABLE, Outcome.NOT_FOUND].map(outcomeName),
);

/**
 * Decides which skipped sessions are not failures. Like `Disconnect-WmsSession`, a session the
 * person named that could not be acted on is a failure (PowerShell writes a non-terminating
 * error), while `-All` skips protected sessions and listeners silently. `--stdin` sits between
 * the two: the sessions piped in were named, but a skip the input itself announced (a session
 * `wmsctl get` listed as protected, a listener, one already disconnected) is what the person was
 * told would happen, so it is not a failure; anything else that could not be acted on is.
 */
export type SkipPolicy = (host: string, result: ResultView) => SkipReason | undefined;

/** Sessions named by id: every skip is a failure. */
export const NAMED_SESSIONS: SkipPolicy = () => undefined;

/** `--all`: protected, unsuitable and vanished sessions are skipped by design. */
export const ALL_SESSIONS: SkipPolicy = (_host, result) =>
  SKIPS_OF_ALL.has(result.outcome) ? "all" : undefined;

/**
 * `--stdin`: a skip is not a failure when the input announced that very outcome for that session.
 * `announced(host, sessionId)` gives the outcomes the input announced.
 */
export function announcedSkips(
  announced: (host: string, sessionId: number) => readonly string[],
): SkipPolicy {
  return (host, result) =>
    !SUCCESSES.has(result.outcome) && announced(host, result.sessionId).includes(result.outcome)
      ? "input"
      : undefined;
}

/** The report with each result that the policy skips marked `skipped`. */
export function markSkips(report: HostReport, policy: SkipPolicy): HostReport {
  if (report.results === undefined) return report;
  return {
    ...report,
    results: report.results.map((result) => {
      const skipped = SUCCESSES.has(result.outcome) ? undefined : policy(report.host, result);
      return skipped === undefined ? result : { ...result, skipped };
    }),
  };
}

/** Whether a session result is a failure: not a success, and not a skip marked as expected. */
export function isFailedResult(result: ResultView): boolean {
  return !SUCCESSES.has(result.outcome) && result.skipped === undefined;
}

/**
 * 0 everything succeeded; 1 some session or host failed; 3 the only failures were hosts that
 * could not be reached or timed out. Results count as {@link markSkips} marked them.
 */
export function exitStatus(reports: readonly HostReport[]): number {
  let unreached = false;
  for (const report of reports) {
    if (report.status === "failed" || report.status === "denied") return ExitStatus.FAILED;
    if (report.status !== "ok") unreached = true;
    if ((report.missing?.length ?? 0) > 0) return ExitStatus.FAILED;
    if (report.results?.some(isFailedResult) === true) return ExitStatus.FAILED;
  }
  return unreached ? ExitStatus.UNREACHABLE : ExitStatus.OK;
}

/** What to say about a host whose change was sent and may have taken effect without an answer. */
export interface MayHaveActedNote {
  /** The line on standard error, naming the host and how to check. */
  readonly message: (host: string) => string;
  /** The comment after its line in the `--rerun-file`. */
  readonly rerun: string;
}

/** Any change: say that it may have happened and how to look. */
export const CHANGE_MAY_HAVE_ACTED: MayHaveActedNote = {
  message: (host) =>
    `${host}: the request was sent and no answer came back, so it may have taken effect; check with: wmsctl get -s ${host}`,
  rerun: "may have acted: check with wmsctl get before running it again",
};

/**
 * A disconnect: it may have happened, and running it again is safe, because disconnecting is
 * idempotent (a session already disconnected answers `ALREADY_DISCONNECTED`).
 */
export const DISCONNECT_MAY_HAVE_ACTED: MayHaveActedNote = {
  message: (host) =>
    `${host}: the disconnect was sent and no answer came back, so it may have taken effect; check with: wmsctl get -s ${host} ` +
    "(running it again is safe: a session already disconnected answers ALREADY_DISCONNECTED)",
  rerun: "may have acted; running the disconnect again is safe (ALREADY_DISCONNECTED)",
};

/**
 * A log-off: it may have happened, and running it again is safe: the agent remembers the
 * sessions it logged off recently and answers a retry `ALREADY_LOGGED_OFF`.
 */
export const LOGOFF_MAY_HAVE_ACTED: MayHaveActedNote = {
  message: (host) =>
    `${host}: the log-off was sent and no answer came back, so it may have taken effect; check with: wmsctl get -s ${host} ` +
    "(running it again is safe: a session the agent logged off answers ALREADY_LOGGED_OFF)",
  rerun: "may have acted; running the log-off again is safe (ALREADY_LOGGED_OFF)",
};

/** A message: it may have been shown, and running it again shows it again. */
export const MESSAGE_MAY_HAVE_ACTED: MayHaveActedNote = {
  message: (host) =>
    `${host}: the message was sent and no answer came back, so it may have been shown; running it again shows it again`,
  rerun: "may have shown the message: running it again shows it again",
};

const STATUS_ORDER: readonly HostStatus[] = ["ok", "failed", "denied", "unreachable", "timeout"];

/** `n name, m other`, in the order of `order` (unknown names after, as first seen). */
function counts(values: readonly string[], order: readonly string[] = []): string {
  const tally = new Map<string, number>(order.map((name) => [name, 0]));
  for (const value of values) tally.set(value, (tally.get(value) ?? 0) + 1);
  return [...tally]
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${n} ${name}`)
    .join(", ");
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The hosts a run did not finish with, for the summary after Ctrl-C. */
export interface Unfinished {
  /** Requested hosts that have no report. */
  readonly count: number;
  /** Where the run was interrupted: at the `--confirm` prompt, nothing was changed yet. */
  readonly at: "prompt" | "run";
  /** Whether the run changes sessions: then a host that did not answer may have acted. */
  readonly changes: boolean;
}

/** What the summary says of the hosts an interrupted run did not finish with. */
function unfinishedPart(unfinished: Unfinished): { count: string; note: string } {
  if (unfinished.at === "prompt") {
    return {
      count: `${unfinished.count} not done`,
      note: "interrupted at the --confirm prompt: nothing was changed",
    };
  }
  const acted =
    unfinished.changes && unfinished.count > 0
      ? ": a change sent to a host that did not answer may have taken effect; check with wmsctl get"
      : "";
  return { count: `${unfinished.count} not answered`, note: `interrupted${acted}` };
}

/**
 * `3 hosts: 2 ok, 1 unreachable; sessions: 4 disconnected, 1 not found`; after Ctrl-C, the hosts
 * that never answered are counted too: `3 hosts: 1 ok, 2 not answered (interrupted)`.
 */
export function summaryLine(reports: readonly HostReport[], unfinished?: Unfinished): string {
  const statuses = counts(
    reports.map((r) => r.status),
    STATUS_ORDER,
  );
  const cut = unfinished === undefined ? undefined : unfinishedPart(unfinished);
  const total = reports.length + (unfinished?.count ?? 0);
  const parts = [statuses, ...(cut === undefined || unfinished?.count === 0 ? [] : [cut.count])];
  const notes = [
    ...(cut === undefined ? [] : [cut.note]),
    ...(reports.some((r) => r.mayHaveActed === true)
      ? [`${reports.filter((r) => r.mayHaveActed === true).length} may have acted: see above`]
      : []),
  ];
  const hosts =
    `${plural(total, "host")}: ${parts.filter((p) => p !== "").join(", ")}` +
    (notes.length === 0 ? "" : ` (${notes.join("; ")})`);
  const outcomes = reports
    .flatMap((r) => r.results ?? [])
    .map((r) => r.outcome.toLowerCase().replace(/_/g, " "));
  if (outcomes.length > 0) return `${hosts}; sessions: ${counts(outcomes)}`;
  if (reports.some((r) => r.sessions !== undefined)) {
    return `${hosts}; ${plural(
      reports.reduce((n, r) => n + (r.sessions?.length ?? 0), 0),
      "session",
    )}`;
  }
  return hosts;
}
