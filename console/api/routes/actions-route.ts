/**
 * `POST /api/v1/actions` (operator): disconnect, log off or message sessions across the fleet,
 * with `whatIf` and warn-then-act, through the controller library (per-host deadlines, retries,
 * exactly one result per host), as the signed-in person (`wmsfleet-actor`). The answer is
 * `application/x-ndjson`: one {@link ActionHostResult} line per host, as each host finishes.
 *
 * The console's audit trail gets an `action.intent` record before anything is sent (if it cannot
 * be written, nothing is done: 503), then an `action.result` record per host with each session's
 * outcome — or, for a what-if, which changes nothing, one `action.result` record when it ends with
 * the counts of its hosts' statuses and sessions' outcomes and the hosts that failed (see
 * {@link whatIfSummary}). A request that is wrong in any way is refused (400) before both; a host
 * not in the inventory is a result line.
 *
 * The lines of hosts that finish within {@link ACTION_BATCH_MS} of each other are written to the
 * response together, and result records in transactions of up to
 * {@link ACTION_RECORDS_PER_TRANSACTION} (none waits more than {@link ACTION_RECORDS_MS}): per host,
 * a write and a commit were most of what the API added to the controller's own fan-out.
 */
import type { FastifyInstance } from "fastify";
import type { SessionResult } from "../../../proto/gen/wms/v1/wms_session.js";
import type { Controller, GraceClock, HostResult } from "../../../controller/index.js";
import type { Fleet } from "../../fleet/fleet.js";
import { outcomeName, protectionName, stateName } from "../../fleet/sessions-view.js";
import type { ConsoleStore } from "../../store/store.js";
import { ApiError } from "../api-error.js";
import { parseActionRequest, type ActionPlan } from "../action-request.js";
import { audit, auditEntry } from "../audit-trail.js";
import type { NewAuditEntry } from "../../store/store.js";
import type { ActionHostResult, ApiSessionResult } from "../types.js";

/**
 * Actions running at once: each may hold a request open through a warning's grace period, and
 * each fans out to the whole fleet; a ninth waits for none of them and is refused (503).
 */
export const MAX_CONCURRENT_ACTIONS = 8;

/**
 * How long a host's line may wait, in milliseconds, to be written to the response with the lines
 * of the hosts that finish after it.
 */
export const ACTION_BATCH_MS = 10;
/**
 * Result records are written in one transaction once this many wait, once the first of them has
 * waited {@link ACTION_RECORDS_MS} milliseconds, and when the action ends: a transaction costs
 * about 40 µs a record in batches of 16 and 20–25 µs in batches of 100 or more.
 */
export const ACTION_RECORDS_PER_TRANSACTION = 100;
/** See {@link ACTION_RECORDS_PER_TRANSACTION}. */
export const ACTION_RECORDS_MS = 250;

/**
 * Characters of JSON of the failed hosts a what-if's result record names one by one (status, code
 * and the first {@link WHAT_IF_FAILURE_MESSAGE_CHARS} characters of the message); the rest are
 * counted (`moreFailures`). About 80 typical failures; it keeps the record within the store's
 * bound on a detail (`MAX_AUDIT_DETAIL_CHARS`, 16,384) whatever the names and messages.
 */
export const WHAT_IF_FAILURES_MAX_CHARS = 12_000;
/** See {@link WHAT_IF_FAILURES_MAX_CHARS}. */
export const WHAT_IF_FAILURE_MESSAGE_CHARS = 160;

/** What the actions route needs. */
export interface ActionsRouteOptions {
  readonly store: ConsoleStore;
  readonly fleet: Fleet;
  readonly controller: Controller;
  readonly security: Readonly<Record<string, string>>;
  /** The clock of warnings' grace periods. @default the controller's (real time) */
  readonly graceClock?: GraceClock | undefined;
  /** Hears of each host's result and its sessions' outcomes, counted (metrics). */
  readonly onResult?: (
    action: string,
    whatIf: boolean,
    result: ActionHostResult,
    outcomes: Readonly<Record<string, number>>,
  ) => void;
}

/** A session result as the API shows it. */
export function apiSessionResult(result: SessionResult): ApiSessionResult {
  return {
    sessionId: result.sessionId,
    outcome: outcomeName(result.outcome),
    message: result.message,
    win32Error: result.win32Error,
    protection: protectionName(result.protection),
    user: result.session === undefined ? null : result.session.userName,
    state: result.session === undefined ? null : stateName(result.session),
  };
}

/** A host's line. */
export function hostLine(
  result: HostResult<{ results: SessionResult[]; warnings?: readonly SessionResult[] }>,
): ActionHostResult {
  if (result.status === "ok") {
    return {
      host: result.host,
      status: "ok",
      durationMs: Math.round(result.durationMs),
      attempts: result.attempts,
      results: result.response.results.map(apiSessionResult),
      ...(result.response.warnings === undefined
        ? {}
        : { warnings: result.response.warnings.map(apiSessionResult) }),
    };
  }
  return {
    host: result.host,
    status: result.status,
    code: result.code,
    message: result.message,
    ...(result.mayHaveActed === true ? { mayHaveActed: true } : {}),
    durationMs: Math.round(result.durationMs),
    attempts: result.attempts,
    results: [],
  };
}

/** The controller's run of a plan; throws TypeError at once for what the controller refuses. */
function runOf(
  plan: ActionPlan,
  controller: Controller,
  actor: string,
  graceClock: GraceClock | undefined,
) {
  const { targets, selection, whatIf } = plan;
  if (plan.action === "message") {
    const message = plan.message ?? { text: "" };
    return controller.sendMessage(targets, selection, { ...message, whatIf, actor });
  }
  if (plan.warn !== undefined) {
    const { graceMs, ...warning } = plan.warn;
    return controller.warnThenAct(targets, {
      action: plan.action,
      selection,
      warning,
      graceMs,
      whatIf,
      actor,
      ...(graceClock === undefined ? {} : { clock: graceClock }),
    });
  }
  return controller.act(plan.action, targets, selection, { whatIf, actor });
}

/** Counts of outcomes, for the audit trail. */
function outcomeCounts(results: readonly ApiSessionResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) counts[result.outcome] = (counts[result.outcome] ?? 0) + 1;
  return counts;
}

/**
 * A what-if's one result record, made as its hosts answer. A what-if changes nothing, and each
 * agent keeps its own record of the call (DESIGN section 2): a record per host and session here
 * doubled the trail of every action previewed first (as the web UI always does) and was most of
 * what the API added to a 1,000-host what-if's time. The record names every host (a search by
 * host finds it), counts the hosts by status and the sessions by outcome, and names the first
 * failures (see {@link WHAT_IF_FAILURES_MAX_CHARS}).
 */
function whatIfSummary() {
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const failures: { host: string; status: string; code?: string; message?: string }[] = [];
  let failuresChars = 2;
  let moreFailures = 0;
  return {
    add(line: ActionHostResult, lineOutcomes: Readonly<Record<string, number>>) {
      statuses[line.status] = (statuses[line.status] ?? 0) + 1;
      for (const [outcome, count] of Object.entries(lineOutcomes)) {
        outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
      }
      if (line.status === "ok") return;
      const failure = {
        host: line.host,
        status: line.status,
        ...(line.code === undefined ? {} : { code: line.code }),
        ...(line.message === undefined
          ? {}
          : { message: line.message.slice(0, WHAT_IF_FAILURE_MESSAGE_CHARS) }),
      };
      const chars = JSON.stringify(failure).length + 1;
      if (moreFailures > 0 || failuresChars + chars > WHAT_IF_FAILURES_MAX_CHARS) {
        moreFailures += 1;
        return;
      }
      failures.push(failure);
      failuresChars += chars;
    },
    /**
     * The record, from what every result record of the action shares and the hosts that
     * answered, in order; none without hosts.
     */
    record(base: NewAuditEntry, hosts: readonly string[]): NewAuditEntry | undefined {
      if (hosts.length === 0) return undefined;
      return {
        ...base,
        time: new Date(),
        outcome: "what-if",
        hosts,
        detail: {
          ...base.detail,
          statuses,
          outcomes,
          failures,
          ...(moreFailures === 0 ? {} : { moreFailures }),
        },
      };
    },
  };
}

/** Registers the actions route. */
export function actionsRoute(app: FastifyInstance, options: ActionsRouteOptions) {
  const { store, fleet, controller } = options;
  let running = 0;

  app.post("/api/v1/actions", { config: { access: "operator" } }, async (request, reply) => {
    const principal = request.principal;
    if (principal === undefined) throw new ApiError("unauthenticated", "not signed in");
    const plan = parseActionRequest(
      request.body,
      (fqdn) => fleet.target(fqdn),
      () => fleet.targets(),
    );
    let results;
    try {
      results =
        plan.targets.length === 0
          ? undefined
          : runOf(plan, controller, principal.account.name, options.graceClock);
    } catch (error) {
      if (error instanceof TypeError) throw ApiError.badRequest(error.message);
      throw error;
    }
    if (running >= MAX_CONCURRENT_ACTIONS) {
      throw new ApiError(
        "unavailable",
        `${MAX_CONCURRENT_ACTIONS} actions are running already; try again when one ends`,
      );
    }
    const requested = [...plan.targets.map((t) => t.fqdn), ...plan.unknownHosts];
    let intent: number;
    try {
      intent = await audit(store, request, {
        action: "action.intent",
        outcome: plan.whatIf ? "what-if" : "requested",
        hosts: requested,
        detail: plan.audit,
      });
    } catch (error) {
      request.log.error({ err: error }, "cannot write the action's intent to the audit trail");
      throw new ApiError("unavailable", "the audit trail cannot be written: nothing was done");
    }
    running += 1;
    void reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      ...options.security,
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    // What every result record shares: who, from where, and which action (made once).
    const resultRecord = auditEntry(request, {
      action: "action.result",
      outcome: "",
      detail: { intent, action: plan.action, whatIf: plan.whatIf },
    });
    const summary = plan.whatIf ? whatIfSummary() : undefined;
    const answered = new Set<string>();
    // Lines waiting to be written together, and result records waiting to make a transaction;
    // each kind with the timer that bounds its wait.
    let lines: string[] = [];
    let linesTimer: NodeJS.Timeout | undefined;
    let records: NewAuditEntry[] = [];
    let recordsTimer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const writeLines = () => {
      clearTimeout(linesTimer);
      linesTimer = undefined;
      if (!response.destroyed && lines.length > 0) response.write(lines.join(""));
      lines = [];
    };
    const writeRecords = () => {
      clearTimeout(recordsTimer);
      recordsTimer = undefined;
      const batch = records;
      records = [];
      if (batch.length === 0) return;
      writing = writing.then(() =>
        store.appendAudits(batch).catch((error: unknown) => {
          request.log.error(
            { err: error, hosts: batch.flatMap((r) => r.hosts) },
            "cannot write an action's results to the audit trail",
          );
        }),
      );
    };
    const send = (line: ActionHostResult) => {
      answered.add(line.host);
      lines.push(`${JSON.stringify(line)}\n`);
      linesTimer ??= setTimeout(writeLines, ACTION_BATCH_MS);
      const outcomes = outcomeCounts(line.results);
      options.onResult?.(plan.action, plan.whatIf, line, outcomes);
      if (summary !== undefined) {
        summary.add(line, outcomes);
        return;
      }
      records.push({
        ...resultRecord,
        time: new Date(),
        outcome: line.status,
        hosts: [line.host],
        detail: {
          ...resultRecord.detail,
          ...(line.code === undefined ? {} : { code: line.code, message: line.message }),
          ...(line.mayHaveActed === true ? { mayHaveActed: true } : {}),
          outcomes,
          results: line.results.map((r) => ({
            sessionId: r.sessionId,
            outcome: r.outcome,
            user: r.user,
          })),
        },
      });
      if (records.length >= ACTION_RECORDS_PER_TRANSACTION) writeRecords();
      else recordsTimer ??= setTimeout(writeRecords, ACTION_RECORDS_MS);
    };
    try {
      for (const host of plan.unknownHosts) {
        send({
          host,
          status: "unknown-host",
          message: `${host} is not in the console's inventory: nothing was sent`,
          durationMs: 0,
          attempts: 0,
          results: [],
        });
      }
      if (results !== undefined) {
        for await (const result of results) send(hostLine(result));
      }
    } catch (error) {
      request.log.error({ err: error }, "an action failed");
      for (const target of plan.targets) {
        if (answered.has(target.fqdn)) continue;
        send({
          host: target.fqdn,
          status: "failed",
          code: "INTERNAL",
          message:
            "the console failed during the action; whether it was done is not known (see its log)",
          mayHaveActed: true,
          durationMs: 0,
          attempts: 0,
          results: [],
        });
      }
    } finally {
      // The last lines and records before the answer ends.
      writeLines();
      const whatIfRecord = summary?.record(resultRecord, [...answered]);
      if (whatIfRecord !== undefined) records.push(whatIfRecord);
      writeRecords();
      await writing;
      running -= 1;
      response.end();
    }
  });
}
