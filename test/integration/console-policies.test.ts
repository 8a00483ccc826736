/**
 * Policies through the API against real simulated agents, with injected clocks (the console's
 * and the grace period's): create, read, replace and delete with roles, CSRF and precise errors;
 * a preview is each host's what-if answer and equals what the run then does on an unchanged
 * fleet; exempt users are left alone, and so are members of exempt groups and users whose groups
 * the agent could not tell (GROUPS_UNKNOWN), in the preview and the run alike; a host that is down is a result, not a stop; warn-then-act
 * leaves the user who came back (NO_LONGER_MATCHES); every change and run is in the audit trail
 * with the person or `policy NAME` as actor.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type {
  ApiErrorBody,
  ApiPolicy,
  AuditPage,
  PolicyList,
  PolicyPreview,
  PolicyRunPage,
} from "../../console/api/types.js";
import type { GraceClock } from "../../controller/index.js";
import { waitForFleet } from "../helpers/console-events.js";
import { TEST_CONTROLLER, startTestConsole, type TestConsole } from "../helpers/console-harness.js";
import {
  closedAddress,
  startFleet,
  stopFleet,
  type FleetHost,
} from "../helpers/controller-fleet.js";

const H1 = "ws1.lab.example.com";
const H2 = "ws2.lab.example.com";
const DOWN = "ws3.lab.example.com";

/** A grace clock that does not wait: it records the wait and calls `during` (a user comes back). */
function graceClock(): GraceClock & { slept: number[]; during: () => void } {
  const clock = {
    slept: [] as number[],
    during: () => undefined as void,
    now: () => Date.now(),
    sleep(ms: number, signal: AbortSignal) {
      signal.throwIfAborted();
      clock.slept.push(ms);
      clock.during();
      return Promise.resolve();
    },
  };
  return clock;
}

interface Lab {
  readonly console: TestConsole;
  readonly hosts: FleetHost[];
  readonly clock: { now: number };
  readonly grace: ReturnType<typeof graceClock>;
  readonly admin: Record<string, string>;
  readonly reader: Record<string, string>;
  host(fqdn: string): FleetHost;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
}

async function lab(t: TestContext): Promise<Lab> {
  const hosts = await startFleet([{ fqdn: H1 }, { fqdn: H2 }]);
  t.after(() => stopFleet(hosts));
  const dir = await mkdtemp(join(tmpdir(), "wms-console-policies-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inventory = join(dir, "lab.txt");
  await writeFile(
    inventory,
    [
      ...hosts.map((h) => `${h.fqdn} 127.0.0.1:${h.agent.ports[0] ?? 0}\n`),
      `${DOWN} ${await closedAddress()}\n`,
    ].join(""),
  );
  const clock = { now: Date.now() };
  const grace = graceClock();
  const console = await startTestConsole(
    t,
    { inventory: [inventory] },
    {
      controller: { ...TEST_CONTROLLER, retries: 0 },
      background: { now: () => clock.now, timers: false, graceClock: grace },
    },
  );
  await waitForFleet(console.fleet, () =>
    [H1, H2].every((h) => console.fleet.host(h)?.status === "online"),
  );
  await console.addUser("ada", "admin");
  await console.addUser("otto", "operator");
  await console.addUser("rita", "reader");
  const admin = await console.login("ada");
  const reader = await console.login("rita");
  const call = (method: string, path: string, body?: unknown, headers = admin.headers) =>
    console.fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    console,
    hosts,
    clock,
    grace,
    admin: admin.headers,
    reader: reader.headers,
    host: (fqdn) => hosts.find((h) => h.fqdn === fqdn) as FleetHost,
    call,
  };
}

/** Idle (30 min and more) sessions logged off every 15 minutes, Chloe exempt. */
const IDLE_LOGOFF = {
  name: "idle-logoff",
  description: "Idle sessions are logged off",
  hosts: { kind: "list", names: [H1, H2, DOWN, "ws9.lab.example.com"] },
  sessions: { states: ["IDLE"], minIdle: "30m", exemptUsers: ["LAB\\chloe.*"] },
  action: "logoff",
  schedule: { every: "15m" },
};

const outcomes = (preview: {
  hosts: readonly {
    host: string;
    status: string;
    results: readonly { sessionId: number; outcome: string }[];
  }[];
}) => preview.hosts.map((h) => [h.host, h.status, h.results.map((r) => [r.sessionId, r.outcome])]);

async function runsOf(l: Lab, name: string): Promise<PolicyRunPage> {
  const response = await l.call("GET", `/api/v1/policies/${name}/runs`, undefined, l.reader);
  assert.equal(response.status, 200);
  return (await response.json()) as PolicyRunPage;
}

/** Moves the console's clock past the next due time and runs what is due. */
async function nextDue(l: Lab, name: string) {
  const policy = (await (await l.call("GET", `/api/v1/policies/${name}`)).json()) as ApiPolicy;
  assert.ok(policy.nextDueAt !== null, "the policy is enabled");
  l.clock.now = Date.parse(policy.nextDueAt) + 1000;
  await l.console.scheduler.tick();
  await l.console.scheduler.idle();
}

describe("console policies against real agents", () => {
  it("create, read, replace, delete: admin edits, operator and reader read, every change audited", async (t) => {
    const l = await lab(t);
    const created = await l.call("POST", "/api/v1/policies", IDLE_LOGOFF);
    assert.equal(created.status, 201, await created.clone().text());
    const policy = (await created.json()) as ApiPolicy;
    assert.equal(policy.definition.name, "idle-logoff");
    assert.equal(policy.definition.enabled, false);
    assert.equal(policy.nextDueAt, null);
    assert.equal(policy.running, false);

    const again = await l.call("POST", "/api/v1/policies", IDLE_LOGOFF);
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as ApiErrorBody).error.message, /already/);

    const operator = await l.console.login("otto");
    for (const headers of [operator.headers, l.reader]) {
      const list = (await (
        await l.call("GET", "/api/v1/policies", undefined, headers)
      ).json()) as PolicyList;
      assert.deepEqual(
        list.policies.map((p) => p.definition.name),
        ["idle-logoff"],
      );
      const refused = await l.call(
        "PUT",
        "/api/v1/policies/idle-logoff",
        { ...IDLE_LOGOFF, enabled: true },
        headers,
      );
      assert.equal(refused.status, 403);
      assert.equal(
        (await l.call("DELETE", "/api/v1/policies/idle-logoff", undefined, headers)).status,
        403,
      );
      assert.equal(
        (await l.call("POST", "/api/v1/policies", { ...IDLE_LOGOFF, name: "x" }, headers)).status,
        403,
      );
    }
    const noCsrf = await l.call("PUT", "/api/v1/policies/idle-logoff", IDLE_LOGOFF, {
      ...l.admin,
      "x-csrf-token": "wrong",
    });
    assert.equal(noCsrf.status, 403);
    assert.equal(((await noCsrf.json()) as ApiErrorBody).error.code, "csrf_failed");

    const bad = await l.call("POST", "/api/v1/policies", {
      ...IDLE_LOGOFF,
      name: "bad",
      schedule: { cron: "30 25 * * *" },
    });
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as ApiErrorBody).error.message,
      /^"schedule.cron": "30 25 \* \* \*": /,
    );
    const renamed = await l.call("PUT", "/api/v1/policies/idle-logoff", {
      ...IDLE_LOGOFF,
      name: "other",
    });
    assert.equal(renamed.status, 400);
    assert.equal((await l.call("GET", "/api/v1/policies/nothing-here")).status, 404);
    assert.equal((await l.call("GET", "/api/v1/policies/Not_A_Name!")).status, 400);

    const updated = await l.call("PUT", "/api/v1/policies/idle-logoff", {
      ...IDLE_LOGOFF,
      enabled: true,
    });
    assert.equal(updated.status, 200);
    const enabled = (await updated.json()) as ApiPolicy;
    assert.equal(enabled.definition.enabled, true);
    assert.ok(enabled.nextDueAt !== null && Date.parse(enabled.nextDueAt) > l.clock.now);
    assert.equal((await l.call("DELETE", "/api/v1/policies/idle-logoff")).status, 204);
    assert.equal((await l.call("DELETE", "/api/v1/policies/idle-logoff")).status, 404);

    const audit = (await (
      await l.call("GET", "/api/v1/audit?actor=ada", undefined, l.reader)
    ).json()) as AuditPage;
    assert.deepEqual(
      audit.records
        .filter((r) => r.action.startsWith("policy."))
        .map((r) => [r.action, r.outcome])
        .reverse(),
      [
        ["policy.create", "ok"],
        ["policy.update", "ok"],
        ["policy.delete", "ok"],
      ],
    );
  });

  it("exempt groups: members are EXEMPT, unknown groups are never acted on, the preview is the run", async (t) => {
    const l = await lab(t);
    // The classroom's idle sessions are 5 (oliver.bennett) and 8 (chloe.dubois), pupils both.
    l.host(H1).backend.updateSession(8, { groups: ["LAB\\Teachers"] });
    l.host(H2).backend.updateSession(5, { groups: null });
    const policy = {
      ...IDLE_LOGOFF,
      name: "idle-groups",
      hosts: { kind: "list", names: [H1, H2] },
      sessions: { states: ["IDLE"], minIdle: "30m", exemptGroups: ["lab\\TEACH*"] },
    };
    const created = await l.call("POST", "/api/v1/policies", policy);
    assert.equal(created.status, 201, await created.clone().text());
    const preview = (await (
      await l.call("POST", "/api/v1/policies/idle-groups/preview", undefined, l.reader)
    ).json()) as PolicyPreview;
    assert.deepEqual(outcomes(preview), [
      [
        H1,
        "ok",
        [
          [5, "WOULD_LOG_OFF"],
          [8, "EXEMPT"],
        ],
      ],
      [
        H2,
        "ok",
        [
          [5, "GROUPS_UNKNOWN"],
          [8, "WOULD_LOG_OFF"],
        ],
      ],
    ]);
    const left = (host: string, id: number, answer: PolicyPreview) =>
      answer.hosts.find((h) => h.host === host)?.results.find((r) => r.sessionId === id)?.message;
    assert.equal(
      left(H1, 8, preview),
      "left alone: the policy exempts the group lab\\TEACH* (the user is in LAB\\Teachers)",
    );
    assert.match(
      left(H2, 5, preview) ?? "",
      /^left alone: the policy exempts groups, and this user's are unknown \(groups unknown: /,
    );

    assert.equal(
      (await l.call("PUT", "/api/v1/policies/idle-groups", { ...policy, enabled: true })).status,
      200,
    );
    await nextDue(l, "idle-groups");
    const run = (await runsOf(l, "idle-groups")).runs[0];
    assert.equal(run?.outcome, "done");
    assert.deepEqual(
      outcomes(run ?? { hosts: [] }),
      outcomes(preview).map(([host, status, results]) => [
        host,
        status,
        (results as [number, string][]).map(([id, outcome]) => [
          id,
          outcome.replace("WOULD_LOG_OFF", "LOGGED_OFF"),
        ]),
      ]),
    );
    assert.deepEqual(
      l
        .host(H1)
        .backend.logoffCalls()
        .map((c) => c.sessionId),
      [5],
    );
    assert.deepEqual(
      l
        .host(H2)
        .backend.logoffCalls()
        .map((c) => c.sessionId),
      [8],
    );
  });

  it("a preview is each host's what-if answer, and the run then does exactly that", async (t) => {
    const l = await lab(t);
    assert.equal((await l.call("POST", "/api/v1/policies", IDLE_LOGOFF)).status, 201);
    // A reader may preview (it changes nothing); with a body, an unsaved definition.
    const response = await l.call(
      "POST",
      "/api/v1/policies/idle-logoff/preview",
      undefined,
      l.reader,
    );
    assert.equal(response.status, 200, await response.clone().text());
    const preview = (await response.json()) as PolicyPreview;
    assert.deepEqual(outcomes(preview), [
      [
        H1,
        "ok",
        [
          [5, "WOULD_LOG_OFF"],
          [8, "EXEMPT"],
        ],
      ],
      [
        H2,
        "ok",
        [
          [5, "WOULD_LOG_OFF"],
          [8, "EXEMPT"],
        ],
      ],
      [DOWN, "unreachable", []],
      ["ws9.lab.example.com", "unknown-host", []],
    ]);
    assert.equal(preview.hosts.find((h) => h.host === DOWN)?.code, "UNAVAILABLE");
    assert.equal(l.host(H1).backend.logoffCalls().length, 0, "a preview changes nothing");
    const unsaved = (await (
      await l.call(
        "POST",
        "/api/v1/policies/idle-logoff/preview",
        {
          ...IDLE_LOGOFF,
          hosts: { kind: "pattern", pattern: "ws1.*" },
          sessions: { states: ["IDLE"] },
        },
        l.reader,
      )
    ).json()) as PolicyPreview;
    assert.deepEqual(outcomes(unsaved), [
      [
        H1,
        "ok",
        [
          [5, "WOULD_LOG_OFF"],
          [8, "WOULD_LOG_OFF"],
        ],
      ],
    ]);

    assert.equal(
      (await l.call("PUT", "/api/v1/policies/idle-logoff", { ...IDLE_LOGOFF, enabled: true }))
        .status,
      200,
    );
    await nextDue(l, "idle-logoff");
    const { runs } = await runsOf(l, "idle-logoff");
    assert.equal(runs.length, 1);
    const run = runs[0];
    assert.equal(run?.outcome, "done");
    // The run did what the preview said, host by host: WOULD_LOG_OFF became LOGGED_OFF.
    const said = outcomes(preview).map(([host, status, results]) => [
      host,
      status,
      (results as [number, string][]).map(([id, outcome]) => [
        id,
        outcome.replace("WOULD_LOG_OFF", "LOGGED_OFF"),
      ]),
    ]);
    assert.deepEqual(outcomes(run ?? { hosts: [] }), said);
    assert.deepEqual(run?.summary, {
      hosts: 4,
      failedHosts: 2,
      matched: 2,
      outcomes: { LOGGED_OFF: 2, EXEMPT: 2 },
    });
    for (const fqdn of [H1, H2]) {
      assert.deepEqual(
        l
          .host(fqdn)
          .backend.logoffCalls()
          .map((c) => c.sessionId),
        [5],
      );
    }
    const audit = (await (
      await l.call("GET", `/api/v1/audit?actor=${encodeURIComponent("policy idle-logoff")}`)
    ).json()) as AuditPage;
    assert.deepEqual(audit.records.map((r) => [r.action, r.outcome, r.auth]).reverse(), [
      ["policy.run.intent", "requested", "policy"],
      ["policy.run.result", "done", "policy"],
    ]);
  });

  it("warns first, then logs off who stayed idle and leaves alone the user who came back", async (t) => {
    const l = await lab(t);
    l.grace.during = () => {
      // Oliver (session 5) comes back to his desk on ws1 during the grace period.
      l.host(H1).backend.updateSession(5, { lastInputTime: new Date() });
    };
    const policy = {
      ...IDLE_LOGOFF,
      name: "warned",
      hosts: { kind: "pattern", pattern: "ws?.lab.example.com" },
      sessions: { states: ["IDLE"], minIdle: "30m" },
      warning: { text: "You will be logged off in 5 minutes", grace: "5m" },
      enabled: true,
    };
    assert.equal((await l.call("POST", "/api/v1/policies", policy)).status, 201);
    await nextDue(l, "warned");
    assert.deepEqual(l.grace.slept, [300_000]);
    const [run] = (await runsOf(l, "warned")).runs;
    assert.deepEqual(outcomes(run ?? { hosts: [] }), [
      [
        H1,
        "ok",
        [
          [5, "NO_LONGER_MATCHES"],
          [8, "LOGGED_OFF"],
        ],
      ],
      [
        H2,
        "ok",
        [
          [5, "LOGGED_OFF"],
          [8, "LOGGED_OFF"],
        ],
      ],
      [DOWN, "unreachable", []],
    ]);
    const h1 = run?.hosts.find((h) => h.host === H1);
    assert.equal(h1?.warned, 2);
    assert.match(h1?.results[0]?.message ?? "", /^left alone: the user came back/);
    assert.deepEqual(
      l
        .host(H1)
        .backend.logoffCalls()
        .map((c) => c.sessionId),
      [8],
    );
    assert.deepEqual(
      l
        .host(H1)
        .backend.messageCalls()
        .map((c) => [c.sessionId, c.text]),
      [
        [5, "You will be logged off in 5 minutes"],
        [8, "You will be logged off in 5 minutes"],
      ],
    );
  });

  it("a dry run asks the agents and changes nothing; disconnected-for counts from when the console saw it", async (t) => {
    const l = await lab(t);
    const policy = {
      ...IDLE_LOGOFF,
      name: "long-gone",
      hosts: { kind: "all" },
      sessions: { disconnectedFor: "2h" },
      schedule: { every: "1h" },
      enabled: true,
      dryRun: true,
    };
    assert.equal((await l.call("POST", "/api/v1/policies", policy)).status, 201);
    // Ethan (16) was disconnected when the console started: not yet for two hours.
    const first = (await (
      await l.call("POST", "/api/v1/policies/long-gone/preview")
    ).json()) as PolicyPreview;
    assert.deepEqual(outcomes(first).slice(0, 2), [
      [H1, "ok", []],
      [H2, "ok", []],
    ]);
    // Two hours later (a due time passed meanwhile is recorded as missed), then the next one.
    l.clock.now += 2 * 3_600_000;
    await l.console.scheduler.tick();
    // That tick runs the due time it reached: the next must not find it still going (skipped).
    await l.console.scheduler.idle();
    await nextDue(l, "long-gone");
    const [run] = (await runsOf(l, "long-gone")).runs;
    assert.equal(run?.outcome, "dry-run");
    assert.deepEqual(outcomes(run ?? { hosts: [] }).slice(0, 2), [
      [H1, "ok", [[16, "WOULD_LOG_OFF"]]],
      [H2, "ok", [[16, "WOULD_LOG_OFF"]]],
    ]);
    assert.equal(l.host(H1).backend.logoffCalls().length, 0);
  });
});
