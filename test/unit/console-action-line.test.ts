/**
 * The lines of `POST /api/v1/actions` as the controller's host results make them (`hostLine`):
 * each kind of line with its fields, and the session results with the API names of the wire's
 * enums, which are made once per value and are the wire's JSON names without their prefix.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { hostLine } from "../../console/api/routes/actions-route.js";
import type { ActionHostResult } from "../../console/api/types.js";
import { outcomeName, protectionName, stateName } from "../../console/fleet/sessions-view.js";
import {
  Outcome,
  outcomeToJSON,
  Protection,
  protectionToJSON,
  SessionState,
  sessionStateToJSON,
  type Session,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";

function session(sessionId: number, userName: string, state: SessionState): Session {
  return {
    sessionId,
    state,
    userName,
    domainName: "LAB",
    stationName: `Station ${sessionId}`,
    clientName: "",
    logonTime: new Date("2026-12-01T08:00:00Z"),
    idleTime: undefined,
    protection: Protection.UNSPECIFIED,
    lastInputTime: undefined,
    locked: false,
    note: "",
    groups: ["LAB\\Pupils"],
    groupsKnown: true,
  };
}

const results: SessionResult[] = [
  {
    sessionId: 1,
    outcome: Outcome.PROTECTED,
    // Characters JSON must escape, a lone surrogate, and text beyond the ASCII range.
    message: 'the agent\'s own session "Console"\n\\ \u0001 \ud800 élève 学生',
    win32Error: 0,
    protection: Protection.AGENT_SESSION,
    session: session(1, "svc-wms", SessionState.ACTIVE),
    response: 0,
  },
  {
    sessionId: 2,
    outcome: Outcome.WOULD_DISCONNECT,
    message: "what if: would disconnect",
    win32Error: 0,
    protection: Protection.UNSPECIFIED,
    session: session(2, "pupil-02", SessionState.DISCONNECTED),
    response: 0,
  },
  {
    sessionId: 99,
    outcome: Outcome.NOT_FOUND,
    message: "no such session",
    win32Error: 7022,
    protection: Protection.UNSPECIFIED,
    session: undefined,
    response: 0,
  },
];

/** A controller result with the fields `hostLine` reads (not its address, error or timing). */
const result = (fields: Record<string, unknown>) =>
  fields as unknown as Parameters<typeof hostLine>[0];

const lines = [
  hostLine(
    result({
      host: "pc-01.lab.example",
      status: "ok",
      durationMs: 12.6,
      attempts: 1,
      response: { results },
    }),
  ),
  hostLine(
    result({
      host: "pc-02.lab.example",
      status: "ok",
      durationMs: 30_012.4,
      attempts: 2,
      response: { results: results.slice(1), warnings: results.slice(0, 1) },
    }),
  ),
  hostLine(
    result({
      host: "pc-03.lab.example",
      status: "unreachable",
      code: "UNAVAILABLE",
      message: "connect ECONNREFUSED 127.0.0.1:50061",
      mayHaveActed: true,
      durationMs: 5_000,
      attempts: 3,
    }),
  ),
  hostLine(
    result({
      host: "pc-04.lab.example",
      status: "denied",
      code: "PERMISSION_DENIED",
      message: "the role reader may not disconnect",
      durationMs: 3,
      attempts: 1,
    }),
  ),
];

it("makes each kind of line with its fields, in the order the API documents", () => {
  // As the answer carries them: through JSON.
  const [ok, warned, unreachable, denied] = lines.map(
    (line) => JSON.parse(JSON.stringify(line)) as ActionHostResult,
  );
  assert.deepEqual(Object.keys(ok ?? {}), ["host", "status", "durationMs", "attempts", "results"]);
  assert.equal(ok?.durationMs, 13);
  assert.equal(ok?.results.length, 3);
  assert.deepEqual(
    warned?.warnings?.map((w) => w.sessionId),
    [1],
  );
  assert.deepEqual(
    warned?.results.map((r) => r.sessionId),
    [2, 99],
  );
  assert.deepEqual(unreachable, {
    host: "pc-03.lab.example",
    status: "unreachable",
    code: "UNAVAILABLE",
    message: "connect ECONNREFUSED 127.0.0.1:50061",
    mayHaveActed: true,
    durationMs: 5000,
    attempts: 3,
    results: [],
  } satisfies ActionHostResult);
  assert.deepEqual(Object.keys(denied ?? {}), [
    "host",
    "status",
    "code",
    "message",
    "durationMs",
    "attempts",
    "results",
  ]);
});

it("shows the session results with their API names", () => {
  assert.deepEqual(lines[0]?.results, [
    {
      sessionId: 1,
      outcome: "PROTECTED",
      message: results[0]?.message,
      win32Error: 0,
      protection: "AGENT_SESSION",
      user: "svc-wms",
      state: "ACTIVE",
    },
    {
      sessionId: 2,
      outcome: "WOULD_DISCONNECT",
      message: "what if: would disconnect",
      win32Error: 0,
      protection: null,
      user: "pupil-02",
      state: "DISCONNECTED",
    },
    {
      sessionId: 99,
      outcome: "NOT_FOUND",
      message: "no such session",
      win32Error: 7022,
      protection: null,
      user: null,
      state: null,
    },
  ]);
});

it("names every value of the wire's enums as their JSON names without the prefix", () => {
  const values = <T extends number>(e: Record<string, string | T>) =>
    Object.values(e).filter((v): v is T => typeof v === "number" && v >= 0);
  for (const value of values(Outcome)) {
    assert.equal(outcomeName(value), outcomeToJSON(value).replace(/^OUTCOME_/, ""));
  }
  for (const value of values(SessionState)) {
    const name = sessionStateToJSON(value).replace(/^SESSION_STATE_/, "");
    assert.equal(stateName(session(1, "u", value)), name);
  }
  for (const value of values(Protection)) {
    assert.equal(
      protectionName(value),
      value === Protection.UNSPECIFIED ? null : protectionToJSON(value).replace(/^PROTECTION_/, ""),
    );
  }
  // A value this console does not know (a newer agent's) is named as the wire names it.
  assert.equal(outcomeName(1234 as Outcome), "UNRECOGNIZED");
  assert.equal(protectionName(1234 as Protection), "UNRECOGNIZED");
});
