/**
 * The policy scheduler: at each tick it looks at every enabled policy, and for one whose next
 * due time has come it records the due time in the store first, then runs it (not waiting for
 * the run: ticks go on). Rules:
 * - one run of a policy at a time: a due time that comes while the previous run still goes (a
 *   long grace period) is skipped and recorded as `skipped`;
 * - a due time is handled once: the last due time handled is in the store before the run
 *   starts, so a restart, even in the middle of a run, never runs it again;
 * - a due time the console was not there for (stopped, or busier than {@link LATE_LIMIT_MS}) is
 *   not run late: it is recorded as `missed` and the schedule goes on from the next one. A 17:30
 *   log-off that did not happen is not done at 08:00 the next morning, when people are back;
 * - a new policy, or one just enabled or rescheduled, starts from the time of that change: due
 *   times before it are none of its business.
 * Every run, skip and miss is a run record and in the audit trail, with `policy NAME` as actor.
 */
import type { Logger } from "pino";
import type { ConsoleStore, StoredPolicy } from "../store/store.js";
import { compilePolicy, type Policy, type PolicyDefinition } from "./policy.js";
import { summarize, type PolicyHostResult, type PolicyRunner } from "./runner.js";

/** Milliseconds between two looks at the schedules: due times are met within a second. */
export const SCHEDULER_TICK_MS = 1000;
/**
 * How late a due time may still run, in milliseconds: five minutes covers a console restart or a
 * stalled machine; later than that, the due time was missed and is not run.
 */
export const LATE_LIMIT_MS = 5 * 60_000;
/** Due times counted when catching up, at most (a 1-minute interval over a week is 10,080). */
const MAX_CATCH_UP = 100_000;

/** Options of {@link createPolicyScheduler}. */
export interface PolicySchedulerOptions {
  readonly store: ConsoleStore;
  readonly runner: PolicyRunner;
  readonly logger: Logger;
  /** Wall clock, ms. @default Date.now */
  readonly now?: () => number;
  /** Tick by a timer every {@link SCHEDULER_TICK_MS}. @default true (tests call tick) */
  readonly timers?: boolean;
}

/** The scheduler. */
export interface PolicyScheduler {
  /** Looks at every schedule now; resolves when the runs due are started (not finished). */
  tick(): Promise<void>;
  /** Resolves when no run is in progress. */
  idle(): Promise<void>;
  /** Whether a run of the policy is in progress. */
  running(name: string): boolean;
  /** The idle thresholds of the enabled policies, ms (the history records their crossing). */
  idleThresholdsMs(): number[];
  /** Stops ticking and cancels the runs in progress (their records say so). */
  close(): Promise<void>;
}

/** Creates the scheduler. */
export function createPolicyScheduler(options: PolicySchedulerOptions): PolicyScheduler {
  const { store, runner, logger } = options;
  const now = options.now ?? Date.now;
  const runs = new Map<string, { promise: Promise<void>; stop: AbortController }>();
  let thresholds: number[] = [];
  let closed = false;
  let ticking: Promise<void> = Promise.resolve();

  const auditRun = (
    policy: Policy,
    action: string,
    outcome: string,
    detail: object,
    hosts: string[] = [],
  ) =>
    store.appendAudit({
      actor: policy.actor,
      auth: "policy",
      address: "",
      action,
      outcome,
      hosts,
      detail: { policy: policy.name, ...detail },
    });

  /** Records a due time that is not run (skipped or missed). */
  const notRun = async (
    policy: Policy,
    dueAt: number,
    outcome: "skipped" | "missed",
    summary: Record<string, unknown>,
  ) => {
    const time = new Date(now());
    const id = await store.addPolicyRun({
      policy: policy.name,
      dueAt: new Date(dueAt),
      startedAt: time,
      endedAt: time,
      outcome,
      summary,
      results: [],
    });
    await auditRun(policy, "policy.run", outcome, {
      run: id,
      dueAt: new Date(dueAt).toISOString(),
      ...summary,
    });
    logger.info(
      { policy: policy.name, dueAt: new Date(dueAt), outcome, ...summary },
      `policy run ${outcome}`,
    );
  };

  const start = async (policy: Policy, dueAt: number, missedBefore: number) => {
    const stop = new AbortController();
    const dryRun = policy.definition.dryRun;
    const id = await store.addPolicyRun({
      policy: policy.name,
      dueAt: new Date(dueAt),
      startedAt: new Date(now()),
      endedAt: undefined,
      outcome: "running",
      summary: missedBefore > 0 ? { missedBefore } : {},
      results: [],
    });
    // The intent first, as every action of the console: no record, no run.
    try {
      await auditRun(policy, "policy.run.intent", dryRun ? "dry-run" : "requested", {
        run: id,
        dueAt: new Date(dueAt).toISOString(),
        action: policy.definition.action,
        definition: policy.definition,
      });
    } catch (error) {
      logger.error({ err: error, policy: policy.name }, "cannot write a run's intent: not run");
      await store.finishPolicyRun(id, {
        endedAt: new Date(now()),
        outcome: "failed",
        summary: { problem: "the audit trail cannot be written: nothing was done" },
        results: [],
      });
      return;
    }
    const promise = (async () => {
      let results: PolicyHostResult[] = [];
      let outcome = dryRun ? "dry-run" : "done";
      let problem: string | undefined;
      try {
        results = await runner.run(policy, stop.signal);
      } catch (error) {
        outcome = stop.signal.aborted ? "cancelled" : "failed";
        problem = stop.signal.aborted
          ? "the console stopped during the run"
          : (error as Error).message;
        logger.error({ err: error, policy: policy.name }, "a policy run failed");
      }
      const summary = {
        ...summarize(results),
        ...(missedBefore > 0 ? { missedBefore } : {}),
        ...(problem === undefined ? {} : { problem }),
      };
      try {
        await store.finishPolicyRun(id, { endedAt: new Date(now()), outcome, summary, results });
        await auditRun(
          policy,
          "policy.run.result",
          outcome,
          { run: id, summary },
          results.map((r) => r.host),
        );
      } catch (error) {
        logger.error({ err: error, policy: policy.name }, "cannot record a policy run's end");
      }
    })();
    runs.set(policy.name, { promise, stop });
    void promise.finally(() => runs.delete(policy.name));
  };

  /** Handles one policy's schedule at `time`. */
  const visit = async (stored: StoredPolicy, policy: Policy, time: number) => {
    const last = stored.lastDueAt?.getTime();
    if (last === undefined) {
      // Never handled (a store written before the scheduler knew it): starts from now.
      await store.setPolicyLastDue(policy.name, new Date(time));
      return;
    }
    let due = policy.nextDue(last);
    if (due === undefined || due > time) return;
    let earlier = 0;
    for (
      let next = policy.nextDue(due);
      next !== undefined && next <= time;
      next = policy.nextDue(due)
    ) {
      due = next;
      earlier += 1;
      if (earlier >= MAX_CATCH_UP) {
        const latest = policy.nextDue(time - LATE_LIMIT_MS);
        if (latest !== undefined && latest <= time) due = latest;
        break;
      }
    }
    // Handled, whatever comes next: a restart from here on never runs this due time again.
    await store.setPolicyLastDue(policy.name, new Date(due));
    if (time - due > LATE_LIMIT_MS) {
      await notRun(policy, due, "missed", {
        missed: earlier + 1,
        reason: `the console was not running (or too busy) at the due time; due times later than ${LATE_LIMIT_MS / 60_000} min are not run late`,
      });
      return;
    }
    if (runs.has(policy.name)) {
      await notRun(policy, due, "skipped", {
        ...(earlier > 0 ? { missedBefore: earlier } : {}),
        reason: "the previous run of this policy is still going",
      });
      return;
    }
    await start(policy, due, earlier);
  };

  const tick = (): Promise<void> => {
    ticking = ticking.then(async () => {
      if (closed) return;
      const time = now();
      const enabled: number[] = [];
      for (const stored of await store.listPolicies()) {
        let policy: Policy;
        try {
          policy = compilePolicy(stored.definition as unknown as PolicyDefinition);
        } catch (error) {
          logger.error({ err: error, policy: stored.name }, "a stored policy cannot be used");
          continue;
        }
        if (!policy.definition.enabled) continue;
        if (policy.minIdleMs !== undefined) enabled.push(policy.minIdleMs);
        try {
          await visit(stored, policy, time);
        } catch (error) {
          logger.error({ err: error, policy: policy.name }, "cannot handle a policy's schedule");
        }
      }
      thresholds = enabled;
    });
    return ticking;
  };

  const timer =
    (options.timers ?? true)
      ? setInterval(() => {
          void tick();
        }, SCHEDULER_TICK_MS)
      : undefined;
  timer?.unref();

  return {
    tick,
    async idle() {
      await ticking;
      while (runs.size > 0) await Promise.all([...runs.values()].map((r) => r.promise));
    },
    running: (name) => runs.has(name),
    idleThresholdsMs: () => thresholds,
    async close() {
      closed = true;
      clearInterval(timer);
      await ticking;
      for (const run of runs.values()) run.stop.abort(new Error("the console is stopping"));
      await Promise.all([...runs.values()].map((r) => r.promise));
    },
  };
}
