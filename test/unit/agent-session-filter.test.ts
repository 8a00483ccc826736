import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import type { BackendSession } from "../../agent/sessions/backend.js";
import { RpcError } from "../../agent/server/rpc-error.js";
import {
  compileFilter,
  compilePattern,
  durationToMs,
  MAX_PATTERN_LENGTH,
} from "../../agent/sessions/session-filter.js";
import { SessionState, type SessionFilter } from "../../proto/gen/wms/v1/wms_session.js";

/** The moment every filter of these tests matches at. */
const NOW = Date.parse("2026-01-05T10:00:00Z");

/** A session idle for `idleTimeMs` at {@link NOW} (`undefined`: its last input is unknown). */
function session(
  overrides: Partial<BackendSession> & { idleTimeMs?: number | undefined } = {},
): BackendSession {
  const { idleTimeMs = 0, ...rest } =
    "idleTimeMs" in overrides && overrides.idleTimeMs === undefined
      ? { ...overrides, idleTimeMs: Number.NaN }
      : overrides;
  return {
    sessionId: 3,
    state: SessionState.ACTIVE,
    userName: "stu1",
    domainName: "LAB",
    stationName: "Station 1",
    clientName: "",
    logonTime: new Date("2026-01-05T08:00:00Z"),
    lastInputTime: Number.isNaN(idleTimeMs) ? undefined : new Date(NOW - idleTimeMs),
    locked: false,
    ...rest,
  };
}

/** `compileFilter` at {@link NOW}. */
const compile = (given: SessionFilter | undefined) => compileFilter(given, () => NOW);

function filter(overrides: Partial<SessionFilter> = {}): SessionFilter {
  return { userNamePattern: "", states: [], minIdleTime: undefined, ...overrides };
}

/** Asserts `fn` throws `INVALID_ARGUMENT` with exactly `message`. */
function assertInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RpcError, `expected an RpcError, got ${String(error)}`);
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

void describe("compilePattern", () => {
  void it("matches a name without wildcards exactly, anchored", () => {
    const regex = compilePattern("stu1");
    assert.equal(regex.test("stu1"), true);
    assert.equal(regex.test("stu12"), false);
    assert.equal(regex.test("xstu1"), false);
    assert.equal(regex.test("stu"), false);
  });

  void it("makes * any run of characters, the empty run included", () => {
    const regex = compilePattern("stu*");
    for (const name of ["stu", "stu1", "student-42", "stu*"]) assert.ok(regex.test(name), name);
    for (const name of ["st", "xstu", "teacher"]) assert.ok(!regex.test(name), name);
    assert.ok(compilePattern("*").test(""));
    assert.ok(compilePattern("*").test("anything at all"));
    assert.ok(compilePattern("a*b*c").test("a--b--c"));
    assert.ok(!compilePattern("a*b*c").test("a--c--b"));
  });

  void it("makes ? exactly one character", () => {
    const regex = compilePattern("stu?");
    assert.ok(regex.test("stu1"));
    assert.ok(regex.test("stuX"));
    assert.ok(!regex.test("stu"));
    assert.ok(!regex.test("stu12"));
    assert.ok(compilePattern("??").test("ab"));
    assert.ok(!compilePattern("??").test("abc"));
  });

  void it("counts a character outside the BMP as one for ?", () => {
    assert.ok(compilePattern("a?b").test("a\u{1F600}b"));
    assert.ok(!compilePattern("a??b").test("a\u{1F600}b"));
  });

  void it("ignores case, ASCII and beyond", () => {
    assert.ok(compilePattern("STU1").test("stu1"));
    assert.ok(compilePattern("stu1").test("STU1"));
    assert.ok(compilePattern("ZOË").test("zoë"));
    assert.ok(compilePattern("zoë").test("ZOË"));
    assert.ok(compilePattern("zo?").test("ZOË"));
    assert.ok(compilePattern("ÅSA*").test("åsa.berg"));
    assert.ok(compilePattern("σοφία").test("ΣΟΦΊΑ"));
    assert.ok(compilePattern("андрей").test("Андрей"));
    assert.ok(!compilePattern("zoe").test("zoë"));
  });

  void it("treats regular expression metacharacters as themselves", () => {
    const dotted = compilePattern("a.b");
    assert.ok(dotted.test("a.b"));
    assert.ok(dotted.test("A.B"));
    assert.ok(!dotted.test("axb"));
    assert.ok(!dotted.test("a.bc"));
    for (const name of ["a(b)", "a$b", "^ab", "a{2}", "a\\b", "(x)-{y}.$^"]) {
      assert.ok(compilePattern(name).test(name), name);
    }
    assert.ok(!compilePattern("a{2}").test("aa"));
    assert.ok(!compilePattern("(x)").test("x"));
    assert.ok(!compilePattern("^ab").test("ab"));
    assert.ok(compilePattern("j.doe*").test("J.Doe2"));
    assert.ok(!compilePattern("j.doe*").test("jxdoe"));
  });

  void it("matches DOMAIN\\user with a literal backslash", () => {
    const regex = compilePattern("LAB\\stu*");
    assert.ok(regex.test("LAB\\stu1"));
    assert.ok(regex.test("lab\\STU1"));
    assert.ok(!regex.test("LABstu1"));
    assert.ok(!regex.test("stu1"));
  });

  void it("refuses more than one backslash", () => {
    assertInvalid(
      () => compilePattern("A\\B\\c"),
      'filter.user_name_pattern: at most one "\\" (DOMAIN\\user)',
    );
  });

  void it("refuses characters no Windows user name holds, naming the character", () => {
    for (const char of ['"', "/", "[", "]", ":", ";", "|", "=", ",", "+", "<", ">"]) {
      assertInvalid(
        () => compilePattern(`stu${char}1`),
        `filter.user_name_pattern: character ${JSON.stringify(char)} cannot appear in a Windows user name`,
      );
    }
    assertInvalid(
      () => compilePattern("stu\u0001"),
      'filter.user_name_pattern: character "\\u0001" cannot appear in a Windows user name',
    );
    assertInvalid(
      () => compilePattern("stu\n"),
      'filter.user_name_pattern: character "\\n" cannot appear in a Windows user name',
    );
  });

  void it("accepts up to 256 characters, counted as code points", () => {
    assert.equal(MAX_PATTERN_LENGTH, 256);
    assert.ok(compilePattern("a".repeat(256)).test("A".repeat(256)));
    // 256 emoji are 512 UTF-16 units but 256 characters.
    const emoji = "\u{1F600}".repeat(256);
    assert.ok(compilePattern(emoji).test(emoji));
    assertInvalid(
      () => compilePattern("a".repeat(257)),
      "filter.user_name_pattern: longer than 256 characters",
    );
  });

  void it("lets * match any character a user name can hold, line separators included", {}, () => {
    assert.ok(compilePattern("a*b").test("a\u2028b"));
    assert.ok(compilePattern("a?b").test("a\u2029b"));
  });

  void it("does bounded work on a hostile pattern (*?*?*?…!), whatever the name", () => {
    // As a regular expression, this pattern takes exponential time: 15 s at 29 characters.
    const hostile = "*?".repeat(127) + "!";
    assert.equal(hostile.length, 255);
    for (const name of ["a".repeat(200), "a".repeat(254) + "!", "teacher", ""]) {
      const pattern = compilePattern(hostile);
      const matched = pattern.test(name);
      assert.equal(matched, name.length >= 128 && name.endsWith("!"), name);
      // At most one comparison per (name position, pattern position) pair, plus one per search
      // step: the work grows with the product of the lengths, never exponentially.
      const bound = (name.length + 1) * (hostile.length + 1);
      assert.ok(
        pattern.steps <= bound,
        `${pattern.steps} steps for a ${name.length}-character name`,
      );
    }
  });

  void it("agrees with a regular expression on every small pattern and name", () => {
    // Every pattern of up to 4 characters over both cases and both wildcards, against every
    // name of up to 5 letters: the bounded matcher must say what the backtracking one says.
    const strings = (alphabet: readonly string[], length: number): string[] =>
      length === 0
        ? [""]
        : strings(alphabet, length - 1).flatMap((prefix) => alphabet.map((c) => prefix + c));
    const upTo = (alphabet: readonly string[], max: number) =>
      Array.from({ length: max + 1 }, (_, length) => strings(alphabet, length)).flat();
    const patterns = upTo(["a", "B", "b", "*", "?"], 4);
    const names = upTo(["a", "A", "b"], 5);
    for (const pattern of patterns) {
      const source = [...pattern]
        .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char))
        .join("");
      const regex = new RegExp(`^${source}$`, "isu");
      const compiled = compilePattern(pattern);
      for (const name of names) {
        assert.equal(compiled.test(name), regex.test(name), `${pattern} against ${name}`);
      }
    }
  });
});

void describe("durationToMs", () => {
  const field = "filter.min_idle_time";

  void it("returns undefined for an unset duration", () => {
    assert.equal(durationToMs(undefined, field), undefined);
  });

  void it("converts seconds and nanos to whole milliseconds, rounding down", () => {
    assert.equal(durationToMs({ seconds: 0, nanos: 0 }, field), 0);
    assert.equal(durationToMs({ seconds: 600, nanos: 0 }, field), 600_000);
    assert.equal(durationToMs({ seconds: 1, nanos: 500_000_000 }, field), 1_500);
    assert.equal(durationToMs({ seconds: 0, nanos: 999_999 }, field), 0);
    assert.equal(durationToMs({ seconds: 0, nanos: 1_999_999 }, field), 1);
    assert.equal(durationToMs({ seconds: 2, nanos: 999_999_999 }, field), 2_999);
    assert.equal(durationToMs({ seconds: 315_576_000_000, nanos: 0 }, field), 315_576_000_000_000);
  });

  void it("refuses negative or non-integer seconds, naming the field", () => {
    assertInvalid(
      () => durationToMs({ seconds: -1, nanos: 0 }, field),
      "filter.min_idle_time: seconds must be a non-negative integer, got -1",
    );
    assertInvalid(
      () => durationToMs({ seconds: 1.5, nanos: 0 }, "x.y"),
      "x.y: seconds must be a non-negative integer, got 1.5",
    );
    assertInvalid(
      () => durationToMs({ seconds: Number.NaN, nanos: 0 }, field),
      "filter.min_idle_time: seconds must be a non-negative integer, got NaN",
    );
    assertInvalid(
      () => durationToMs({ seconds: 2 ** 53, nanos: 0 }, field),
      /^filter\.min_idle_time: seconds must be a non-negative integer/,
    );
  });

  void it("refuses seconds beyond a protobuf Duration's range (10,000 years), naming the field", () => {
    assertInvalid(
      () => durationToMs({ seconds: 315_576_000_001, nanos: 0 }, field),
      "filter.min_idle_time: seconds must be at most 315576000000 (the range of a protobuf Duration), got 315576000001",
    );
    assertInvalid(
      () => durationToMs({ seconds: 2 ** 52, nanos: 0 }, field),
      /^filter\.min_idle_time: seconds must be at most 315576000000/,
    );
  });

  void it("refuses nanos outside 0..999999999, naming the field", () => {
    for (const nanos of [-1, 1_000_000_000, 0.5]) {
      assertInvalid(
        () => durationToMs({ seconds: 1, nanos }, field),
        `filter.min_idle_time: nanos must be within 0..999999999, got ${nanos}`,
      );
    }
  });
});

void describe("compileFilter", () => {
  void it("matches every session when the filter is absent or empty", () => {
    const sessions = [
      session(),
      session({ sessionId: 0, state: SessionState.DISCONNECTED, userName: "", domainName: "" }),
      session({ sessionId: 65536, state: SessionState.LISTEN, userName: "", domainName: "" }),
      session({ idleTimeMs: undefined }),
    ];
    for (const compiled of [compile(undefined), compile(filter())]) {
      assert.equal(compiled.description, "all");
      for (const s of sessions) assert.ok(compiled.matches(s), JSON.stringify(s));
    }
  });

  void it("matches the pattern against the user alone and against DOMAIN\\user", () => {
    const byUser = compile(filter({ userNamePattern: "stu*" }));
    assert.ok(byUser.matches(session({ userName: "stu7", domainName: "LAB" })));
    assert.ok(byUser.matches(session({ userName: "STU7", domainName: "" })));
    assert.ok(!byUser.matches(session({ userName: "teacher", domainName: "LAB" })));

    const byDomain = compile(filter({ userNamePattern: "lab\\stu?" }));
    assert.ok(byDomain.matches(session({ userName: "stu7", domainName: "LAB" })));
    assert.ok(byDomain.matches(session({ userName: "STU8", domainName: "Lab" })));
    assert.ok(!byDomain.matches(session({ userName: "stu7", domainName: "OFFICE" })));
    assert.ok(!byDomain.matches(session({ userName: "stu7", domainName: "" })));
    assert.ok(!byDomain.matches(session({ userName: "stu77", domainName: "LAB" })));

    const anyDomain = compile(filter({ userNamePattern: "*\\teacher" }));
    assert.ok(anyDomain.matches(session({ userName: "Teacher", domainName: "LAB" })));
    assert.ok(!anyDomain.matches(session({ userName: "teacher", domainName: "" })));
  });

  void it("ignores case of non-ASCII user names", () => {
    const compiled = compile(filter({ userNamePattern: "ZOË" }));
    assert.ok(compiled.matches(session({ userName: "zoë" })));
    assert.ok(compiled.matches(session({ userName: "Zoë", domainName: "" })));
    assert.ok(!compiled.matches(session({ userName: "zoe" })));
  });

  void it("does not let a . in the pattern match any character", () => {
    const compiled = compile(filter({ userNamePattern: "a.b" }));
    assert.ok(compiled.matches(session({ userName: "a.b" })));
    assert.ok(!compiled.matches(session({ userName: "axb" })));
    assert.ok(!compiled.matches(session({ userName: "b", domainName: "a" })));
  });

  void it("keeps only sessions in one of the states", () => {
    const compiled = compile(
      filter({ states: [SessionState.ACTIVE, SessionState.IDLE, SessionState.ACTIVE] }),
    );
    assert.equal(compiled.description, "states=ACTIVE,IDLE");
    assert.ok(compiled.matches(session({ state: SessionState.ACTIVE })));
    assert.ok(compiled.matches(session({ state: SessionState.IDLE })));
    for (const state of [
      SessionState.CONNECTED,
      SessionState.CONNECT_QUERY,
      SessionState.SHADOW,
      SessionState.DISCONNECTED,
      SessionState.LISTEN,
      SessionState.RESET,
      SessionState.DOWN,
      SessionState.INIT,
    ]) {
      assert.ok(!compiled.matches(session({ state })), SessionState[state]);
    }
  });

  void it("accepts each of the ten states", () => {
    for (let state = SessionState.ACTIVE; state <= SessionState.INIT; state++) {
      const compiled = compile(filter({ states: [state] }));
      assert.equal(compiled.description, `states=${SessionState[state]}`);
      assert.ok(compiled.matches(session({ state })));
    }
  });

  void it("refuses a value that is not a session state, naming its index", () => {
    for (const state of [0, -1, 11, 1.5] as SessionState[]) {
      assertInvalid(
        () => compile(filter({ states: [SessionState.ACTIVE, state] })),
        `filter.states[1]: ${state} is not a session state (1..10, ACTIVE..INIT)`,
      );
    }
  });

  void it("keeps sessions idle for at least the minimum idle time", () => {
    const compiled = compile(filter({ minIdleTime: { seconds: 600, nanos: 0 } }));
    assert.equal(compiled.description, "idle>=600s");
    assert.ok(compiled.matches(session({ idleTimeMs: 600_000 })));
    assert.ok(compiled.matches(session({ idleTimeMs: 3_600_000 })));
    assert.ok(!compiled.matches(session({ idleTimeMs: 599_999 })));
    assert.ok(!compiled.matches(session({ idleTimeMs: 0 })));
  });

  void it("counts an unknown idle time as not idle when a minimum is set", () => {
    assert.ok(
      !compile(filter({ minIdleTime: { seconds: 1, nanos: 0 } })).matches(
        session({ idleTimeMs: undefined }),
      ),
    );
    assert.ok(
      compile(filter({ minIdleTime: { seconds: 0, nanos: 0 } })).matches(
        session({ idleTimeMs: undefined }),
      ),
    );
  });

  void it("shows fractions of a second in the description", () => {
    const compiled = compile(filter({ minIdleTime: { seconds: 1, nanos: 500_000_000 } }));
    assert.equal(compiled.description, "idle>=1.5s");
    assert.ok(compiled.matches(session({ idleTimeMs: 1_500 })));
    assert.ok(!compiled.matches(session({ idleTimeMs: 1_499 })));
  });

  void it("requires every part of the filter to match", () => {
    const compiled = compile(
      filter({
        userNamePattern: "stu*",
        states: [SessionState.ACTIVE, SessionState.IDLE],
        minIdleTime: { seconds: 600, nanos: 0 },
      }),
    );
    assert.equal(compiled.description, "user=stu* states=ACTIVE,IDLE idle>=600s");
    assert.ok(compiled.matches(session({ idleTimeMs: 700_000 })));
    assert.ok(!compiled.matches(session({ idleTimeMs: 700_000, userName: "teacher" })));
    assert.ok(
      !compiled.matches(session({ idleTimeMs: 700_000, state: SessionState.DISCONNECTED })),
    );
    assert.ok(!compiled.matches(session({ idleTimeMs: 10_000 })));
  });

  void it("refuses a malformed filter with INVALID_ARGUMENT naming the field", () => {
    assertInvalid(
      () => compile(filter({ userNamePattern: "stu:1" })),
      /^filter\.user_name_pattern: character ":"/,
    );
    assertInvalid(
      () => compile(filter({ userNamePattern: "x".repeat(300) })),
      "filter.user_name_pattern: longer than 256 characters",
    );
    assertInvalid(
      () => compile(filter({ minIdleTime: { seconds: -60, nanos: 0 } })),
      "filter.min_idle_time: seconds must be a non-negative integer, got -60",
    );
    assertInvalid(
      () => compile(filter({ minIdleTime: { seconds: 0, nanos: -5 } })),
      "filter.min_idle_time: nanos must be within 0..999999999, got -5",
    );
    assertInvalid(
      () => compile(filter({ states: [SessionState.UNSPECIFIED] })),
      "filter.states[0]: 0 is not a session state (1..10, ACTIVE..INIT)",
    );
    assertInvalid(
      () => compile(filter({ states: [SessionState.UNRECOGNIZED] })),
      "filter.states[0]: -1 is not a session state (1..10, ACTIVE..INIT)",
    );
  });
});
