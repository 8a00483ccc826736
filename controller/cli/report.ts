/**
 * The plain, JSON-ready view of each host's result that `wmsctl` prints (`-o json`/`ndjson`
 * records, table rows), its summary line and the exit status (DESIGN section 6).
 */
import {
  Outcome,
  outcomeToJSON,
  protectionToJSON,
  sessionStateToJSON,
  type GetAgentInfoResponse,
  type Session,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { NotServingError, type AgentHealth } from "../health-check.js";
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
  /** The protection rule (`SERVICES_SESSION`, …) or `NONE`. */
  readonly protection: string;
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
/** The printed outcome of a what-if: `Outcome.WOULD_DISCONNECT` by its name. */
export const WOULD_DISCONNECT = outcomeName(Outcome.WOULD_DISCONNECT);
const protectionName = (value: number) =>
  value === 0 ? "NONE" : strip(protectionToJSON(value), "PROTECTION_");

/** The printed form of a session. */
export function sessionView(session: Session): SessionView {
  const idle = session.idleTime;
  return {
    sessionId: session.sessionId,
    state: strip(sessionStateToJSON(session.state), "SESSION_STATE_"),
    userName: session.userName,
    domainName: session.domainName,
    stationName: session.stationName,
    clientName: session.clientName,
    logonTime: session.logonTime?.toISOString() ?? null,
    idleSeconds: idle === undefined ? null : Math.floor(idle.seconds + idle.nanos / 1e9),
    protection: protectionName(session.protection),
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
  };
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

/** Outcomes that mean the session ended up as asked (or would, or was left by choice). */
const SUCCESSES: ReadonlySet<string> = new Set([
  ...[Outcome.DISCONNECTED, Outcome.WOULD_DISCONNECT, Outcome.ALREADY_DISCONNECTED].map(
    outcomeName,
  ),
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
