/**
 * Policies: the definition's validation (each mistake named with its field), what a compiled
 * policy covers, and its due times — cron in the console's time zone and intervals.
 */
process.env["TZ"] = "Europe/Paris";

import assert from "node:assert/strict";
import { it } from "node:test";
import { ApiError } from "../../console/api/api-error.js";
import { compilePolicy, parsePolicy } from "../../console/policies/policy.js";

const BASE = {
  name: "evening",
  hosts: { kind: "all" },
  sessions: { states: ["DISCONNECTED"], minIdle: "30m" },
  action: "logoff",
  schedule: { cron: "30 17 * * 1-5" },
};

it("a valid definition is taken with its defaults filled in", () => {
  assert.deepEqual(parsePolicy(BASE), {
    name: "evening",
    description: "",
    hosts: { kind: "all" },
    sessions: {
      states: ["DISCONNECTED"],
      user: "",
      minIdle: "30m",
      exemptUsers: [],
      exemptGroups: [],
    },
    action: "logoff",
    schedule: { cron: "30 17 * * 1-5" },
    enabled: false,
    dryRun: false,
  });
  const full = parsePolicy({
    ...BASE,
    hosts: { kind: "list", names: ["WS1.lab", "ws1.lab", "ws2.lab"] },
    sessions: {
      states: ["disconnected", "IDLE"],
      user: "LAB\\*",
      disconnectedFor: "2h",
      exemptUsers: ["LAB\\teacher*"],
    },
    warning: { text: "You will be logged off in 5 minutes", grace: "5m" },
    schedule: { every: "15m" },
    enabled: true,
    dryRun: true,
  });
  assert.deepEqual(full.hosts, { kind: "list", names: ["ws1.lab", "ws2.lab"] });
  assert.deepEqual(full.sessions.states, ["DISCONNECTED", "IDLE"]);
});

it("each mistake is a 400 naming the field and what was expected", () => {
  const cases: [unknown, RegExp][] = [
    [[], /the body must be a JSON object/],
    [{ ...BASE, name: "Evening!" }, /"name": 1 to 63 lower-case letters/],
    [{ ...BASE, name: undefined }, /"name" is required/],
    [{ ...BASE, colour: "red" }, /unknown field "colour"/],
    [{ ...BASE, hosts: { kind: "some" } }, /"hosts.kind" must be all, list or pattern/],
    [{ ...BASE, hosts: { kind: "list", names: [] } }, /"hosts.names" must name at least one host/],
    [
      { ...BASE, hosts: { kind: "all", names: ["a"] } },
      /"hosts" of kind all: unknown field "names"/,
    ],
    [{ ...BASE, hosts: { kind: "pattern", pattern: "lab/*" } }, /"hosts.pattern": only letters/],
    [
      { ...BASE, sessions: { states: ["ASLEEP"] } },
      /"sessions.states": "ASLEEP" is not a session state/,
    ],
    [{ ...BASE, sessions: { user: "a|b" } }, /"sessions.user": user name pattern: character "\|"/],
    [
      { ...BASE, sessions: { minIdle: "30" } },
      /"sessions.minIdle": "30" is not a duration with a unit/,
    ],
    [{ ...BASE, sessions: { minIdle: "31d" } }, /"sessions.minIdle": 31d is longer than 720 h/],
    [
      { ...BASE, sessions: { states: ["ACTIVE"], disconnectedFor: "1h" } },
      /"sessions.disconnectedFor" selects DISCONNECTED sessions, which "sessions.states" leaves out/,
    ],
    [
      { ...BASE, sessions: { exemptUsers: ["ok", "a:b"] } },
      /"sessions.exemptUsers\[1\]": user name pattern/,
    ],
    [
      { ...BASE, sessions: { exemptGroups: ["LAB\\Teachers", "A\\B\\C"] } },
      /"sessions.exemptGroups\[1\]": group name pattern: at most one "\\"/,
    ],
    [
      { ...BASE, sessions: { exemptGroups: [""] } },
      /"sessions.exemptGroups\[0\]" must not be empty/,
    ],
    [
      { ...BASE, sessions: { exemptGroups: ["LAB\\Staff<1>"] } },
      /"sessions.exemptGroups\[0\]": group name pattern: character "<" cannot appear/,
    ],
    [
      { ...BASE, sessions: { exemptGroups: Array(101).fill("LAB\\Staff") } },
      /"sessions.exemptGroups" has at most 100 entries/,
    ],
    [{ ...BASE, action: "reboot" }, /"action" must be disconnect or logoff/],
    [{ ...BASE, warning: { text: "bye" } }, /"warning": "grace" is required/],
    [
      { ...BASE, warning: { text: "bye", grace: "25h" } },
      /"warning.grace": 25h is longer than 24 h/,
    ],
    [{ ...BASE, warning: { text: "", grace: "5m" } }, /"warning.text" must not be empty/],
    [{ ...BASE, schedule: {} }, /"schedule" needs exactly one of "every" .* or "cron"/],
    [{ ...BASE, schedule: { every: "15m", cron: "* * * * *" } }, /"schedule" needs exactly one/],
    [{ ...BASE, schedule: { every: "30s" } }, /"schedule.every" must be at least 1m/],
    [
      { ...BASE, schedule: { cron: "30 17 * *" } },
      /"schedule.cron": "30 17 \* \*" must have five fields/,
    ],
    [{ ...BASE, schedule: { cron: "61 17 * * *" } }, /"schedule.cron": "61 17 \* \* \*": /],
    [{ ...BASE, schedule: { cron: "0 0 30 2 *" } }, /"schedule.cron": "0 0 30 2 \*" never comes/],
    [{ ...BASE, enabled: "yes" }, /"enabled" must be true or false/],
  ];
  for (const [body, message] of cases) {
    assert.throws(
      () => parsePolicy(body),
      (error: unknown) =>
        error instanceof ApiError && error.code === "bad_request" && message.test(error.message),
      `${JSON.stringify(body)} should fail with ${String(message)}`,
    );
  }
  assert.throws(
    () => parsePolicy({ ...BASE, name: "other" }, "evening"),
    /"name" is "other" but the path names "evening"; a policy cannot be renamed/,
  );
  assert.equal(parsePolicy({ ...BASE, name: undefined }, "evening").name, "evening");
});

it("exempt groups are taken as patterns and compiled with the bounded matcher", () => {
  const policy = compilePolicy(
    parsePolicy({ ...BASE, sessions: { exemptGroups: ["LAB\\Teachers", "*staff"] } }),
  );
  assert.deepEqual(policy.definition.sessions.exemptGroups, ["LAB\\Teachers", "*staff"]);
  assert.deepEqual(
    policy.exemptGroups.map((g) => g.pattern),
    ["LAB\\Teachers", "*staff"],
  );
  assert.equal(policy.exemptGroups[0]?.matcher.test("lab\\TEACHERS"), true);
});

it("covers all hosts, a list, or a host-name pattern (case-insensitive)", () => {
  const covers = (hosts: object, fqdn: string) =>
    compilePolicy(parsePolicy({ ...BASE, hosts })).coversHost(fqdn);
  assert.equal(covers({ kind: "all" }, "anything.example"), true);
  assert.equal(covers({ kind: "list", names: ["ws1.lab"] }, "WS1.LAB"), true);
  assert.equal(covers({ kind: "list", names: ["ws1.lab"] }, "ws2.lab"), false);
  assert.equal(covers({ kind: "pattern", pattern: "ws?.lab*" }, "WS3.lab.example.com"), true);
  assert.equal(covers({ kind: "pattern", pattern: "ws?.lab*" }, "ws10.lab.example.com"), false);
});

it("cron due times are in the console's time zone; intervals are multiples of the interval", () => {
  const cron = compilePolicy(parsePolicy(BASE));
  // Friday 27 November 2026, 17:00 in Paris (16:00Z): due at 17:30 Paris, then Monday's.
  const friday = Date.parse("2026-11-27T16:00:00Z");
  assert.equal(new Date(cron.nextDue(friday) ?? 0).toISOString(), "2026-11-27T16:30:00.000Z");
  assert.equal(
    new Date(cron.nextDue(Date.parse("2026-11-27T16:30:00Z")) ?? 0).toISOString(),
    "2026-11-30T16:30:00.000Z",
  );
  // Summer time: 17:30 in Paris is 15:30Z.
  assert.equal(
    new Date(cron.nextDue(Date.parse("2026-07-01T00:00:00Z")) ?? 0).toISOString(),
    "2026-07-01T15:30:00.000Z",
  );
  const every = compilePolicy(parsePolicy({ ...BASE, schedule: { every: "15m" } }));
  const t = Date.parse("2026-11-27T16:07:12Z");
  assert.equal(new Date(every.nextDue(t) ?? 0).toISOString(), "2026-11-27T16:15:00.000Z");
  assert.equal(
    new Date(every.nextDue(Date.parse("2026-11-27T16:15:00Z")) ?? 0).toISOString(),
    "2026-11-27T16:30:00.000Z",
  );
  assert.equal(every.actor, "policy evening");
  const disconnected = compilePolicy(parsePolicy({ ...BASE, sessions: { disconnectedFor: "2h" } }));
  assert.deepEqual([...disconnected.states], ["DISCONNECTED"]);
  assert.equal(disconnected.disconnectedForMs, 7_200_000);
});
