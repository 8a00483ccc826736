import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import {
  defaultSimFixture,
  loadSimFixture,
  parseSimFixture,
  SimFixtureError,
  type SimFixture,
} from "../../agent/backends/sim-fixture.js";
import { MessageResponse, SessionState } from "../../proto/gen/wms/v1/wms_session.js";

const fixtures = fileURLToPath(new URL("../fixtures/sim/", import.meta.url));
const STATES =
  "ACTIVE, CONNECTED, CONNECT_QUERY, SHADOW, DISCONNECTED, IDLE, LISTEN, RESET, DOWN, INIT";

async function tempFile(t: TestContext, name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wmsfleet-fixture-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Asserts that parsing fails with a `SimFixtureError` for `field` whose message has `detail`. */
function assertInvalid(value: unknown, field: string | undefined, detail: string | RegExp): void {
  assert.throws(
    () => parseSimFixture(value, "test.json"),
    (error: unknown) => {
      assert.ok(error instanceof SimFixtureError, String(error));
      assert.equal(error.source, "test.json");
      assert.equal(error.field, field);
      const prefix = field === undefined ? "test.json: " : `test.json: ${field}: `;
      assert.ok(error.message.startsWith(prefix), error.message);
      if (typeof detail === "string") assert.ok(error.detail.includes(detail), error.message);
      else assert.match(error.detail, detail);
      return true;
    },
  );
}

const teacherOf = (fixture: SimFixture) => {
  const teacher = fixture.sessions.find((s) => s.stationName === "Console");
  assert.ok(teacher);
  return teacher;
};

const session = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  sessionId: 3,
  state: "ACTIVE",
  ...extra,
});

void describe("the shipped classroom", () => {
  const fixture: SimFixture = defaultSimFixture();
  const byId = new Map(fixture.sessions.map((s) => [s.sessionId, s]));
  const studentStations = fixture.sessions.filter((s) => /^Station \d+$/.test(s.stationName ?? ""));

  void it("has the services session and the teacher at the console", () => {
    assert.deepEqual(byId.get(0), {
      sessionId: 0,
      state: SessionState.DISCONNECTED,
      stationName: "Services",
    });
    const teacher = byId.get(1);
    assert.ok(teacher);
    assert.equal(teacher.state, SessionState.ACTIVE);
    assert.equal(teacher.stationName, "Console");
    assert.notEqual(teacher.userName ?? "", "");
    assert.equal(fixture.agentSessionId, 0);
  });

  void it("has stations with students, one at the logon screen, whose idle times are unknown", () => {
    assert.equal(studentStations.length, 10);
    const loggedOn = studentStations.filter((s) => s.userName !== undefined);
    assert.ok(loggedOn.every((s) => s.domainName === "LAB" && s.logonTime instanceof Date));
    assert.ok(
      loggedOn.some((s) => [...(s.userName ?? "")].some((c) => c > "\u007f")),
      "a non-ASCII name",
    );
    const states = studentStations.map((s) => s.state);
    assert.ok(states.filter((s) => s === SessionState.ACTIVE).length >= 8);
    // Windows does not track a console-type session's input (issue 17): the console's and the
    // stations' idle times are unknown, never guessed.
    for (const local of [...studentStations, teacherOf(fixture)]) {
      assert.equal(local.idleSeconds ?? local.lastInputTime, undefined, local.stationName);
    }
    const waiting = studentStations.filter((s) => s.state === SessionState.CONNECTED);
    assert.equal(waiting.length, 1);
    assert.equal(waiting[0]?.userName, undefined);
    assert.equal(waiting[0]?.logonTime, undefined);
  });

  void it("has remote sessions, idle ones, a disconnected one and the listener", () => {
    const remote = fixture.sessions.filter((s) => /^RDP-Tcp#\d+$/.test(s.stationName ?? ""));
    assert.ok(remote.length >= 4);
    assert.ok(remote.every((s) => (s.clientName ?? "") !== "" && s.idleSeconds !== undefined));
    const idle = remote.filter((s) => s.state === SessionState.IDLE);
    assert.ok(idle.length >= 2 && idle.every((s) => (s.idleSeconds ?? 0) >= 1800));
    const disconnected = fixture.sessions.filter(
      (s) => s.state === SessionState.DISCONNECTED && s.userName !== undefined,
    );
    assert.equal(disconnected.length, 1);
    // A disconnected remote session has no WinStation name: its protocol says it is remote.
    assert.equal(disconnected[0]?.protocol, "rdp");
    assert.ok((disconnected[0]?.idleSeconds ?? 0) > 0);
    const listener = fixture.sessions.filter((s) => s.state === SessionState.LISTEN);
    assert.deepEqual(listener, [
      { sessionId: 65536, state: SessionState.LISTEN, stationName: "RDP-Tcp" },
    ]);
  });

  void it("logs everybody on during one school morning", () => {
    const days = new Set(
      fixture.sessions.flatMap((s) =>
        s.logonTime ? [s.logonTime.toISOString().slice(0, 10)] : [],
      ),
    );
    assert.equal(days.size, 1);
    const ids = fixture.sessions.map((s) => s.sessionId);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
  });

  void it("gives each caller its own copy", () => {
    assert.notEqual(defaultSimFixture(), fixture);
    assert.deepEqual(defaultSimFixture(), fixture);
  });
});

void describe("loadSimFixture", () => {
  void it("loads a valid file, with state names in any case and injection", async () => {
    const fixture = await loadSimFixture(join(fixtures, "good-small.json"));
    assert.equal(fixture.agentSessionId, 2);
    assert.equal(fixture.listLatencyMs, 5);
    assert.deepEqual(
      fixture.sessions.map((s) => s.state),
      [SessionState.DISCONNECTED, SessionState.ACTIVE, SessionState.ACTIVE, SessionState.LISTEN],
    );
    assert.deepEqual(fixture.sessions[1], {
      sessionId: 2,
      state: SessionState.ACTIVE,
      userName: "józef.nowak",
      domainName: "LAB",
      stationName: "RDP-Tcp#1",
      protocol: "rdp",
      logonTime: new Date("2026-03-10T07:42:10Z"),
      idleSeconds: 31.5,
    });
    assert.equal(fixture.sessions[2]?.disconnectLatencyMs, 250);
    assert.equal(fixture.sessions[2]?.disconnectWin32Error, 7024);
    assert.equal(fixture.sessions[2]?.disconnectFailTimes, 1);
  });

  void it("names the file and the field of a bad state", async () => {
    const path = join(fixtures, "bad-state.json");
    await assert.rejects(loadSimFixture(path), {
      name: "SimFixtureError",
      message: `${path}: sessions[3].state: expected one of ${STATES}, got "ACTIV"`,
    });
  });

  void it("names duplicate ids, unknown keys and a top level that is not an object", async () => {
    await assert.rejects(loadSimFixture(join(fixtures, "bad-duplicate-id.json")), {
      message:
        /bad-duplicate-id\.json: sessions\[2\]\.sessionId: duplicate session id 1 \(also sessions\[0\]\)$/,
    });
    await assert.rejects(loadSimFixture(join(fixtures, "bad-unknown-key.json")), {
      message:
        /bad-unknown-key\.json: sessions\[0\]\.idleSecond: unknown key \(did you mean "idleSeconds"\?\)$/,
    });
    await assert.rejects(loadSimFixture(join(fixtures, "bad-top-level.json")), {
      message: /bad-top-level\.json: expected the fixture \(a JSON object\), got an array$/,
    });
  });

  void it("reports JSON syntax errors with the file, line and column", async (t) => {
    const path = await tempFile(
      t,
      "broken.json",
      '{\n  "sessions": [\n    { "sessionId": 01 }\n  ]\n}\n',
    );
    await assert.rejects(loadSimFixture(path), (error: unknown) => {
      assert.ok(error instanceof SimFixtureError);
      assert.equal(error.source, path);
      assert.equal(error.message, `${path}: invalid JSON at line 3, column 21: Unexpected number`);
      assert.ok(error.cause instanceof SyntaxError);
      return true;
    });
  });

  void it("locates syntax errors where JSON.parse names the place", async (t) => {
    const cases: [string, RegExp][] = [
      ['{"sessions": []} x', /^line 1, column 18: Unexpected non-whitespace character after JSON$/],
      ["{'sessions': []}", /^line 1, column 2: Expected property name or '}'$/],
      ['{"sessions": [], }', /^line 1, column 18: Expected double-quoted property name$/],
      ['{"sessions" []}', /^line 1, column 13: Expected ':' after property name$/],
      ['{"description": "tab\there", "sessions": []}', /^line 1, column 21: Bad control character/],
      ['{"sessions": [', /^line 1, column 15: Unexpected end of JSON input$/],
    ];
    for (const [text, where] of cases) {
      const path = await tempFile(t, "case.json", text);
      await assert.rejects(loadSimFixture(path), (error: unknown) => {
        assert.ok(error instanceof SimFixtureError);
        const prefix = `${path}: invalid JSON at `;
        assert.ok(error.message.startsWith(prefix), error.message);
        assert.match(error.message.slice(prefix.length), where, text);
        return true;
      });
    }
  });

  void it("quotes JSON.parse where it names no place (a stray token), on one line", async (t) => {
    const path = await tempFile(
      t,
      "comma.json",
      '{\n  "sessions": [\n    { "sessionId": 1 },\n  ]\n}\n',
    );
    await assert.rejects(loadSimFixture(path), (error: unknown) => {
      assert.ok(error instanceof SimFixtureError);
      assert.match(
        error.message,
        new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: invalid JSON`),
      );
      assert.match(error.message, /']'/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  void it("accepts a byte order mark", async (t) => {
    const path = await tempFile(t, "bom.json", '\uFEFF{ "sessions": [] }');
    assert.deepEqual(await loadSimFixture(path), { sessions: [] });
  });

  void it("reports files that cannot be read", async (t) => {
    const missing = join(fixtures, "no-such-fixture.json");
    await assert.rejects(loadSimFixture(missing), {
      name: "SimFixtureError",
      message: `${missing}: no such file`,
    });
    await assert.rejects(loadSimFixture(fixtures), {
      message: `${fixtures}: is a directory, not a fixture file`,
    });
    const empty = await tempFile(t, "empty.json", "");
    await assert.rejects(loadSimFixture(empty), {
      message: `${empty}: invalid JSON at line 1, column 1: Unexpected end of JSON input`,
    });
  });
});

void describe("parseSimFixture", () => {
  void it("accepts an empty host and keeps optional fields absent", () => {
    assert.deepEqual(parseSimFixture({ sessions: [] }, "empty.json"), { sessions: [] });
    assert.deepEqual(parseSimFixture({ sessions: [session()] }, "one.json"), {
      sessions: [{ sessionId: 3, state: SessionState.ACTIVE }],
    });
  });

  void it("accepts every state name in any case, and the id limits", () => {
    const names = STATES.split(", ");
    const parsed = parseSimFixture(
      { sessions: names.map((state, index) => ({ sessionId: index, state: state.toLowerCase() })) },
      "states.json",
    );
    assert.deepEqual(
      parsed.sessions.map((s) => s.state),
      names.map((_, index) => index + 1),
    );
    const limits = parseSimFixture(
      {
        agentSessionId: 4294967294,
        sessions: [session({ sessionId: 4294967294 }), session({ sessionId: 0 })],
      },
      "limits.json",
    );
    assert.equal(limits.sessions[0]?.sessionId, 4294967294);
  });

  void it("rejects a malformed top level", () => {
    assertInvalid(null, undefined, "expected the fixture (a JSON object), got null");
    assertInvalid("sessions", undefined, 'got "sessions"');
    assertInvalid({}, "sessions", "required");
    assertInvalid({ sessions: {} }, "sessions", "expected an array, got an object");
    assertInvalid(
      { sessions: [], hosts: [] },
      "hosts",
      "unknown key (known keys: description, agentSessionId",
    );
    assertInvalid({ sessions: [], Sessions: [] }, "Sessions", 'did you mean "sessions"?');
    assertInvalid({ sessions: [], description: 7 }, "description", "expected a string, got 7");
    assertInvalid({ sessions: [], agentSessionId: -1 }, "agentSessionId", "expected a session id");
    assertInvalid(
      { sessions: [], listLatencyMs: -5 },
      "listLatencyMs",
      "non-negative number, got -5",
    );
    assertInvalid(
      { sessions: [], listLatencyMs: 2 ** 31 },
      "listLatencyMs",
      "at most 2147483647 ms",
    );
  });

  void it("rejects malformed sessions, naming the field", () => {
    const cases: [unknown, string, string | RegExp][] = [
      [7, "sessions[0]", "expected a session (a JSON object), got 7"],
      [null, "sessions[0]", "got null"],
      [{ state: "ACTIVE" }, "sessions[0].sessionId", "required"],
      [{ sessionId: 1 }, "sessions[0].state", "required"],
      [session({ sessionId: 4294967295 }), "sessions[0].sessionId", "WTS_CURRENT_SESSION"],
      [session({ sessionId: -1 }), "sessions[0].sessionId", "got -1"],
      [session({ sessionId: 1.5 }), "sessions[0].sessionId", "got 1.5"],
      [session({ sessionId: "3" }), "sessions[0].sessionId", 'got "3"'],
      [session({ sessionId: 2 ** 32 }), "sessions[0].sessionId", "got 4294967296"],
      [session({ state: 1 }), "sessions[0].state", `expected one of ${STATES}, got 1`],
      [session({ state: "WTSActive" }), "sessions[0].state", 'got "WTSActive"'],
      [session({ state: "UNSPECIFIED" }), "sessions[0].state", 'got "UNSPECIFIED"'],
      [session({ userName: null }), "sessions[0].userName", "expected a string, got null"],
      [session({ clientName: ["x"] }), "sessions[0].clientName", "got an array"],
      [session({ logonTime: "yesterday" }), "sessions[0].logonTime", "ISO 8601"],
      [session({ logonTime: "2026-03-10" }), "sessions[0].logonTime", "ISO 8601"],
      [session({ logonTime: "2026-03-10T08:00:00" }), "sessions[0].logonTime", "with a zone"],
      [session({ logonTime: "2026-02-30T08:00:00Z" }), "sessions[0].logonTime", "not a real date"],
      [
        session({ logonTime: "2026-03-10T24:10:00Z" }),
        "sessions[0].logonTime",
        /ISO 8601|not a real/,
      ],
      [session({ logonTime: 1773130000000 }), "sessions[0].logonTime", "got 1773130000000"],
      [session({ idleSeconds: -1 }), "sessions[0].idleSeconds", "non-negative number, got -1"],
      [
        session({ idleSeconds: Number.NaN }),
        "sessions[0].idleSeconds",
        "non-negative number, got NaN",
      ],
      [session({ idleSeconds: "40" }), "sessions[0].idleSeconds", 'got "40"'],
      [
        session({ disconnectLatencyMs: Infinity }),
        "sessions[0].disconnectLatencyMs",
        "non-negative",
      ],
      [
        session({ disconnectWin32Error: 0 }),
        "sessions[0].disconnectWin32Error",
        "(a positive integer), got 0",
      ],
      [session({ disconnectWin32Error: 7.5 }), "sessions[0].disconnectWin32Error", "got 7.5"],
      [
        session({ disconnectFailTimes: 2 }),
        "sessions[0].disconnectFailTimes",
        "needs disconnectWin32Error",
      ],
      [
        session({ disconnectWin32Error: 5, disconnectFailTimes: -1 }),
        "sessions[0].disconnectFailTimes",
        "non-negative integer, got -1",
      ],
      [session({ locked: "yes" }), "sessions[0].locked", 'expected true or false, got "yes"'],
      [session({ lastInputTime: "soon" }), "sessions[0].lastInputTime", "ISO 8601"],
      [
        session({ protocol: "ica" }),
        "sessions[0].protocol",
        'expected "console" or "rdp", got "ica"',
      ],
      // Windows does not track a console-type session's input: an idle time for one is a lie.
      [
        session({ stationName: "Station 3", idleSeconds: 40 }),
        "sessions[0].idleSeconds",
        "a console-type session (the console, a MultiPoint station) has no idle time",
      ],
      [
        session({ stationName: "RDP-Tcp#3", protocol: "console", idleSeconds: 40 }),
        "sessions[0].idleSeconds",
        'give "protocol": "rdp" for a Remote Desktop session',
      ],
      [
        session({ lastInputTime: "2026-03-10T08:00:00Z" }),
        "sessions[0].lastInputTime",
        "Windows does not track its input, so it is unknown",
      ],
      [
        session({ lastInputTime: "2026-03-10T08:00:00Z", idleSeconds: 5 }),
        "sessions[0].idleSeconds",
        "give the last input once: lastInputTime (a date-time) or idleSeconds, not both",
      ],
      [session({ logoffWin32Error: -5 }), "sessions[0].logoffWin32Error", "got -5"],
      [session({ logoffFailTimes: 1 }), "sessions[0].logoffFailTimes", "needs logoffWin32Error"],
      [session({ logoffLatencyMs: 2 ** 31 }), "sessions[0].logoffLatencyMs", "at most 2147483647"],
      [session({ messageFailTimes: 1 }), "sessions[0].messageFailTimes", "needs messageWin32Error"],
      [
        session({ messageResponse: "MAYBE" }),
        "sessions[0].messageResponse",
        'expected one of OK, CANCEL, ABORT, RETRY, IGNORE, YES, NO, TIMEOUT, got "MAYBE"',
      ],
      [
        session({ messageResponseDelayMs: 100 }),
        "sessions[0].messageResponseDelayMs",
        "needs messageResponse (the answer to give)",
      ],
      [
        session({ messageResponse: "yes", messageResponseDelayMs: -1 }),
        "sessions[0].messageResponseDelayMs",
        "got -1",
      ],
      [session({ lockd: true }), "sessions[0].lockd", 'did you mean "locked"?'],
      [session({ station: "Console" }), "sessions[0].station", 'did you mean "stationName"?'],
      [session({ sessionID: 3 }), "sessions[0].sessionID", 'did you mean "sessionId"?'],
      [session({ colour: "red" }), "sessions[0].colour", "known keys: sessionId, state, userName"],
    ];
    for (const [value, field, detail] of cases) {
      assertInvalid({ sessions: [value] }, field, detail);
    }
  });

  void it("reads lock, last input and the injection of log-offs and messages", () => {
    const parsed = parseSimFixture(
      {
        sessions: [
          session({
            sessionId: 1,
            stationName: "RDP-Tcp#1",
            locked: true,
            lastInputTime: "2026-03-10T08:59:00Z",
            logoffLatencyMs: 20,
            logoffWin32Error: 7024,
            logoffFailTimes: 1,
            messageLatencyMs: 5,
            messageWin32Error: 7045,
            messageFailTimes: 2,
            messageResponse: "no",
            messageResponseDelayMs: 1500,
          }),
        ],
      },
      "family.json",
    );
    const [first] = parsed.sessions;
    assert.equal(first?.locked, true);
    assert.equal(first.lastInputTime?.toISOString(), "2026-03-10T08:59:00.000Z");
    assert.equal(first.messageResponse, MessageResponse.NO);
    assert.deepEqual(
      [first.logoffLatencyMs, first.logoffWin32Error, first.logoffFailTimes],
      [20, 7024, 1],
    );
    assert.deepEqual(
      [first.messageLatencyMs, first.messageWin32Error, first.messageFailTimes],
      [5, 7045, 2],
    );
    assert.equal(first.messageResponseDelayMs, 1500);
  });

  void it("points at the later of two duplicate ids", () => {
    assertInvalid(
      {
        sessions: [session({ sessionId: 5 }), session({ sessionId: 6 }), session({ sessionId: 5 })],
      },
      "sessions[2].sessionId",
      "duplicate session id 5 (also sessions[0])",
    );
  });

  void it("accepts zone offsets and fractions in logon times", () => {
    const parsed = parseSimFixture(
      {
        sessions: [
          session({ sessionId: 1, logonTime: "2026-03-10T08:42:10.250+01:00" }),
          session({ sessionId: 2, logonTime: "2028-02-29T23:59:59z" }),
          session({ sessionId: 3, logonTime: "2026-03-10T08:42-05:30" }),
        ],
      },
      "zones.json",
    );
    assert.deepEqual(
      parsed.sessions.map((s) => s.logonTime?.toISOString()),
      ["2026-03-10T07:42:10.250Z", "2028-02-29T23:59:59.000Z", "2026-03-10T14:12:00.000Z"],
    );
  });

  void it("takes a user's groups, null for unknown, and refuses groups of nobody or too many", () => {
    const parsed = parseSimFixture(
      {
        sessions: [
          session({ sessionId: 1, userName: "t", groups: ["LAB\\Teachers"] }),
          session({ sessionId: 2, userName: "p", groups: null }),
        ],
      },
      "groups.json",
    );
    assert.deepEqual(
      parsed.sessions.map((s) => s.groups),
      [["LAB\\Teachers"], null],
    );
    const cases: [object, RegExp][] = [
      [session({ sessionId: 3, groups: [] }), /sessions\[0\]\.groups: only a session with a user/],
      [
        session({ sessionId: 3, userName: "u", groups: "LAB\\Staff" }),
        /sessions\[0\]\.groups: expected an array of group names or null/,
      ],
      [
        session({ sessionId: 3, userName: "u", groups: ["ok", ""] }),
        /sessions\[0\]\.groups\[1\]: expected a group name/,
      ],
      [
        session({ sessionId: 3, userName: "u", groups: Array(201).fill("G") }),
        /sessions\[0\]\.groups: at most 200 groups, got 201/,
      ],
    ];
    for (const [entry, message] of cases) {
      assert.throws(() => parseSimFixture({ sessions: [entry] }, "bad.json"), message);
    }
  });
});
