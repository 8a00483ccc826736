/**
 * The controller's session filter answers as the agent's does: the same sessions match the same
 * filters, and the same patterns are refused. Both are run over the same sessions here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileFilter } from "../../agent/sessions/session-filter.js";
import type { BackendSession } from "../../agent/sessions/backend.js";
import {
  compileSessionFilter,
  compileUserPattern,
  idleMsOf,
} from "../../controller/session-filter.js";
import { Session, SessionState, type SessionFilter } from "../../proto/gen/wms/v1/wms_session.js";

const NOW = Date.parse("2025-03-03T10:00:00Z");

function session(
  id: number,
  state: SessionState,
  user: string,
  domain: string,
  idleSeconds: number | undefined,
): Session {
  return Session.fromPartial({
    sessionId: id,
    state,
    userName: user,
    domainName: domain,
    stationName: `Station ${id}`,
    logonTime: user === "" ? undefined : new Date(NOW - 3_600_000),
    idleTime: idleSeconds === undefined ? undefined : { seconds: idleSeconds, nanos: 0 },
  });
}

const SESSIONS = [
  session(1, SessionState.ACTIVE, "teacher", "LAB", 5),
  session(2, SessionState.ACTIVE, "amelia.hughes", "LAB", 700),
  session(3, SessionState.DISCONNECTED, "Zoë.Brennan", "LAB", 4000),
  session(4, SessionState.IDLE, "józef", "", 9000),
  session(5, SessionState.ACTIVE, "console-user", "LAB", undefined),
  session(6, SessionState.CONNECTED, "", "", undefined),
  session(7, SessionState.LISTEN, "", "", undefined),
  session(8, SessionState.DISCONNECTED, "student07", "SCHOOL", 1800),
];

/** The same session as the agent's backend port describes it. */
function backendSession(s: Session): BackendSession {
  return {
    sessionId: s.sessionId,
    state: s.state,
    userName: s.userName,
    domainName: s.domainName,
    stationName: s.stationName,
    clientName: s.clientName,
    logonTime: s.logonTime,
    lastInputTime: ((idle) => (idle === undefined ? undefined : new Date(NOW - idle)))(
      idleMsOf(s, NOW),
    ),
    locked: s.locked,
  };
}

const FILTERS: Partial<SessionFilter>[] = [
  {},
  { userNamePattern: "*" },
  { userNamePattern: "ZOË*" },
  { userNamePattern: "lab\\*" },
  { userNamePattern: "LAB\\a*.hughes" },
  { userNamePattern: "student??" },
  { userNamePattern: "?" },
  { userNamePattern: "józef" },
  { states: [SessionState.DISCONNECTED] },
  { states: [SessionState.ACTIVE, SessionState.IDLE] },
  { minIdleTime: { seconds: 600, nanos: 0 } },
  { minIdleTime: { seconds: 0, nanos: 0 } },
  { minIdleTime: { seconds: 1800, nanos: 0 } },
  { minIdleTime: { seconds: 1799, nanos: 999_000_000 } },
  {
    userNamePattern: "*",
    states: [SessionState.DISCONNECTED],
    minIdleTime: { seconds: 1800, nanos: 0 },
  },
];

void describe("the controller's session filter", () => {
  void it("matches exactly the sessions the agent's filter matches", () => {
    for (const partial of FILTERS) {
      const filter = {
        userNamePattern: partial.userNamePattern ?? "",
        states: partial.states ?? [],
        minIdleTime: partial.minIdleTime,
      };
      const agent = compileFilter(filter, () => NOW);
      const controller = compileSessionFilter(filter);
      const agentIds = SESSIONS.filter((s) => agent.matches(backendSession(s))).map(
        (s) => s.sessionId,
      );
      const controllerIds = SESSIONS.filter((s) => controller.matches(s, idleMsOf(s, NOW))).map(
        (s) => s.sessionId,
      );
      assert.deepEqual(controllerIds, agentIds, JSON.stringify(partial));
    }
  });

  void it("refuses the patterns the agent refuses, and accepts the ones it accepts", () => {
    const patterns = [
      "a".repeat(256),
      "a".repeat(257),
      "stu*",
      "bad|name",
      "a,b",
      "x\u0007",
      "LAB\\x\\y",
      "[abc]",
      "LAB\\*",
      "what?",
    ];
    for (const pattern of patterns) {
      const agentRefuses = (() => {
        try {
          compileFilter({ userNamePattern: pattern, states: [], minIdleTime: undefined });
          return false;
        } catch {
          return true;
        }
      })();
      const controllerRefuses = (() => {
        try {
          compileUserPattern(pattern);
          return false;
        } catch (error) {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^user name pattern: /);
          return true;
        }
      })();
      assert.equal(controllerRefuses, agentRefuses, pattern);
    }
  });

  void it("matches a hostile pattern with bounded work (the agent's matcher, not a regular expression)", () => {
    const pattern = `${"*?".repeat(120)}!`;
    const name = "a".repeat(104);
    const matcher = compileUserPattern(pattern);
    assert.equal(matcher.test(name), false);
    assert.ok(
      matcher.steps <= (name.length + 1) * (pattern.length + 1),
      `${matcher.steps} comparisons`,
    );
  });

  void it("says why a session does not match, and never treats an unknown idle time as idle", () => {
    const filter = compileSessionFilter({
      userNamePattern: "stu*",
      states: [SessionState.DISCONNECTED],
      minIdleTime: { seconds: 1800, nanos: 0 },
    });
    const [teacher, , zoe, , consoleUser, , , student] = SESSIONS as [
      Session,
      Session,
      Session,
      Session,
      Session,
      Session,
      Session,
      Session,
    ];
    assert.equal(filter.mismatch(student, idleMsOf(student, NOW)), undefined);
    assert.equal(filter.mismatch(teacher, 5000), "it is ACTIVE, not DISCONNECTED");
    assert.equal(filter.mismatch(student, 12_000), "it has been idle 12s, less than 30m");
    assert.equal(filter.mismatch(zoe, 4_000_000), "its user LAB\\Zoë.Brennan does not match stu*");
    const idle = compileSessionFilter({
      userNamePattern: "",
      states: [],
      minIdleTime: { seconds: 60, nanos: 0 },
    });
    assert.equal(
      idle.mismatch(consoleUser, idleMsOf(consoleUser, NOW)),
      "its idle time is unknown, which is never idle",
    );
  });

  void it("computes idle time from the agent's idle_time, else from last_input_time", () => {
    const answered = Session.fromPartial({
      idleTime: { seconds: 90, nanos: 500_000_000 },
      lastInputTime: new Date(NOW - 5000),
    });
    assert.equal(idleMsOf(answered, NOW), 90_500, "the agent's own figure wins: no clock skew");
    const live = Session.fromPartial({ lastInputTime: new Date(NOW - 5000) });
    assert.equal(idleMsOf(live, NOW), 5000);
    assert.equal(idleMsOf(Session.fromPartial({}), NOW), undefined);
  });
});
