/**
 * The policy scheduler over a real SQLite store, with an injected clock (no real waiting) and a
 * runner that records its calls (the runner itself is tested against real agents in
 * console-policies.test.ts): interval and cron due times; one run at a time, the overlapping due
 * time skipped and recorded; a restart that neither loses a schedule nor runs a due time twice;
 * due times missed while the console was down recorded, not run late; every run audited as
 * `policy NAME`.
 */
process.env["TZ"] = "Europe/Paris";

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { pino } from "pino";
import { parsePolicy, type Policy } from "../../console/policies/policy.js";
import type { PolicyHostResult, PolicyRunner } from "../../console/policies/runner.js";
import { createPolicyScheduler } from "../../console/policies/scheduler.js";
import { openSqliteStore } from "../../console/store/sqlite-store.js";
import type { ConsoleStore } from "../../console/store/store.js";

const MIN = 60_000;
const logger = pino({ level: "silent" });

/** A runner that records each run and, when `hold` is set, waits for it to be released. */
function recordingRunner() {
  const runs: { policy: string; at: number }[] = [];
  let release: (() => void) | undefined;
  let started: (() => void) | undefined;
  const state = { hold: false, fail: false, clock: 0 };
  const runner: PolicyRunner & typeof state = Object.assign(state, {
    preview: () => Promise.resolve([]),
    async run(policy: Policy, signal?: AbortSignal): Promise<PolicyHostResult[]> {
      runs.push({ policy: policy.name, at: state.clock });
      started?.();
      if (state.fail) throw new Error("the fleet caught fire");
      if (state.hold) {
        await new Promise<void>((resolve, reject) => {
          release = resolve;
          signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
        });
      }
      return [
        {
          host: "ws1.lab",
          status: "ok",
          matched: 1,
          results: [
            { sessionId: 5, user: "LAB\\o", state: "IDLE", outcome: "LOGGED_OFF", message: "" },
          ],
        },
      ];
    },
  });
  return {
    runner,
    runs,
    release: () => release?.(),
    started: () => new Promise<void>((resolve) => (started = resolve)),
  };
}

async function openStore(t: TestContext): Promise<{ store: ConsoleStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "wms-console-scheduler-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { store: openSqliteStore({ dataDir: join(dir, "data") }), dir };
}

async function addPolicy(store: ConsoleStore, body: object, lastDue: number) {
  const definition = parsePolicy({
    hosts: { kind: "all" },
    sessions: { states: ["IDLE"], minIdle: "30m" },
    action: "logoff",
    enabled: true,
    ...body,
  });
  await store.addPolicy(definition.name, { ...definition });
  await store.setPolicyLastDue(definition.name, new Date(lastDue));
}

const T = Date.parse("2026-11-30T08:00:00Z");

describe("policy scheduler", () => {
  it("runs an interval policy once per due time, and a restart neither loses nor repeats one", async (t) => {
    const { store } = await openStore(t);
    t.after(() => store.close());
    const clock = { now: T + 1000 };
    const { runner, runs } = recordingRunner();
    await addPolicy(store, { name: "every15", schedule: { every: "15m" } }, T + 1000);
    const start = () =>
      createPolicyScheduler({ store, runner, logger, now: () => clock.now, timers: false });
    let scheduler = start();
    const at = async (ms: number) => {
      clock.now = ms;
      runner.clock = ms;
      await scheduler.tick();
      await scheduler.idle();
    };
    await at(T + 14 * MIN);
    assert.equal(runs.length, 0);
    await at(T + 15 * MIN + 500);
    await at(T + 15 * MIN + 2000);
    assert.deepEqual(runs, [{ policy: "every15", at: T + 15 * MIN + 500 }]);
    const [run] = await store.listPolicyRuns("every15", 10);
    assert.equal(run?.outcome, "done");
    assert.equal(run?.dueAt.getTime(), T + 15 * MIN);
    assert.deepEqual(run?.summary, {
      hosts: 1,
      failedHosts: 0,
      matched: 1,
      outcomes: { LOGGED_OFF: 1 },
    });
    assert.equal((await store.findPolicy("every15"))?.lastDueAt?.getTime(), T + 15 * MIN);

    // The console restarts within the same quarter hour: nothing runs again.
    await scheduler.close();
    scheduler = start();
    await at(T + 16 * MIN);
    assert.equal(runs.length, 1);
    await at(T + 30 * MIN + 10);
    assert.equal(runs.length, 2);
    await scheduler.close();

    // Down from 08:31 to 10:10: 08:45 .. 10:00 were missed (6 due times), recorded, not run.
    scheduler = start();
    await at(T + 130 * MIN);
    assert.equal(runs.length, 2);
    const [missed] = await store.listPolicyRuns("every15", 10);
    assert.equal(missed?.outcome, "missed");
    assert.equal(missed?.dueAt.getTime(), T + 120 * MIN);
    assert.equal(missed?.summary["missed"], 6);
    await at(T + 135 * MIN);
    assert.equal(runs.length, 3);
    // Down for 3 minutes over a due time: late, but within the limit, so it runs once.
    await scheduler.close();
    scheduler = start();
    await at(T + 153 * MIN);
    assert.equal(runs.length, 4);
    await scheduler.close();

    const audit = await store.queryAudit({ actor: "policy every15", limit: 100 });
    assert.deepEqual(audit.map((a) => [a.action, a.outcome]).reverse(), [
      ["policy.run.intent", "requested"],
      ["policy.run.result", "done"],
      ["policy.run.intent", "requested"],
      ["policy.run.result", "done"],
      ["policy.run", "missed"],
      ["policy.run.intent", "requested"],
      ["policy.run.result", "done"],
      ["policy.run.intent", "requested"],
      ["policy.run.result", "done"],
    ]);
    assert.ok(audit.every((a) => a.auth === "policy"));
    assert.deepEqual(audit[0]?.hosts, ["ws1.lab"]);
  });

  it("runs a cron policy at 17:30 on weekdays in the console's time zone", async (t) => {
    const { store } = await openStore(t);
    t.after(() => store.close());
    const clock = { now: 0 };
    const { runner, runs } = recordingRunner();
    // Friday 27 November 2026, 17:00 in Paris.
    const friday = Date.parse("2026-11-27T16:00:00Z");
    await addPolicy(store, { name: "evening", schedule: { cron: "30 17 * * 1-5" } }, friday);
    const scheduler = createPolicyScheduler({
      store,
      runner,
      logger,
      now: () => clock.now,
      timers: false,
    });
    t.after(() => scheduler.close());
    for (const iso of [
      "2026-11-27T16:29:59Z",
      "2026-11-27T16:30:01Z",
      "2026-11-28T16:30:01Z",
      "2026-11-29T16:30:01Z",
      "2026-11-30T16:30:00Z",
    ]) {
      clock.now = Date.parse(iso);
      runner.clock = clock.now;
      await scheduler.tick();
      await scheduler.idle();
    }
    // Saturday and Sunday were no due times, so the console being "away" then missed nothing.
    assert.deepEqual(
      runs.map((r) => new Date(r.at).toISOString()),
      ["2026-11-27T16:30:01.000Z", "2026-11-30T16:30:00.000Z"],
    );
    const outcomes = (await store.listPolicyRuns("evening", 10)).map((r) => r.outcome);
    assert.deepEqual(outcomes, ["done", "done"]);
  });

  it("skips and records a due time that comes while the previous run still goes", async (t) => {
    const { store } = await openStore(t);
    t.after(() => store.close());
    const clock = { now: T };
    const { runner, runs, release, started } = recordingRunner();
    runner.hold = true;
    await addPolicy(store, { name: "slow", schedule: { every: "1m" } }, T);
    const scheduler = createPolicyScheduler({
      store,
      runner,
      logger,
      now: () => clock.now,
      timers: false,
    });
    t.after(() => scheduler.close());
    const running = started();
    clock.now = T + MIN;
    await scheduler.tick();
    await running;
    assert.equal(scheduler.running("slow"), true);
    clock.now = T + 2 * MIN;
    await scheduler.tick();
    assert.equal(runs.length, 1);
    release();
    await scheduler.idle();
    const [skipped, done] = await store.listPolicyRuns("slow", 10);
    assert.equal(skipped?.outcome, "skipped");
    assert.equal(skipped?.dueAt.getTime(), T + 2 * MIN);
    assert.equal(skipped?.summary["reason"], "the previous run of this policy is still going");
    assert.equal(done?.outcome, "done");
    clock.now = T + 3 * MIN;
    runner.hold = false;
    await scheduler.tick();
    await scheduler.idle();
    assert.equal(runs.length, 2);
  });

  it("records a failed run, and a disabled policy never runs", async (t) => {
    const { store } = await openStore(t);
    t.after(() => store.close());
    const clock = { now: T };
    const { runner, runs } = recordingRunner();
    runner.fail = true;
    await addPolicy(store, { name: "broken", schedule: { every: "1m" } }, T);
    await addPolicy(store, { name: "off", schedule: { every: "1m" }, enabled: false }, T);
    const scheduler = createPolicyScheduler({
      store,
      runner,
      logger,
      now: () => clock.now,
      timers: false,
    });
    t.after(() => scheduler.close());
    clock.now = T + MIN;
    await scheduler.tick();
    await scheduler.idle();
    assert.deepEqual(
      runs.map((r) => r.policy),
      ["broken"],
    );
    const [failed] = await store.listPolicyRuns("broken", 10);
    assert.equal(failed?.outcome, "failed");
    assert.equal(failed?.summary["problem"], "the fleet caught fire");
    assert.deepEqual(await store.listPolicyRuns("off", 10), []);
  });
});
