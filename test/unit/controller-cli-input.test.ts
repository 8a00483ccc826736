import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import {
  ALL_SESSIONS,
  NAMED_SESSIONS,
  announcedSkips,
  exitStatus,
  markSkips,
  type HostReport,
  type ResultView,
} from "../../controller/cli/report.js";
import { parseStdinSessions } from "../../controller/cli/stdin-sessions.js";
import { whatIfLine } from "../../controller/cli/table.js";
import { UsageError } from "../../controller/cli/usage-error.js";
import {
  MIN_IDLE_FLAG,
  TIMEOUT_FLAG,
  formatDurationMs,
  parseDurationMs,
  parseSessionId,
  parseSessionIds,
  parseStates,
} from "../../controller/cli/values.js";
import { backoffMs } from "../../controller/fan-out.js";
import {
  HostCallError,
  classifyFailure,
  mayHaveActed,
  type RpcName,
} from "../../controller/host-result.js";
import { resolveControllerOptions } from "../../controller/index.js";
import { credentials } from "@grpc/grpc-js";

void describe("session ids", () => {
  void it("accepts uint32 values except WTS_CURRENT_SESSION", () => {
    assert.equal(parseSessionId("0", "id"), 0);
    assert.equal(parseSessionId("4294967294", "id"), 4294967294);
    assert.deepEqual(parseSessionIds(["3", "5,7", "3"], "id"), [3, 5, 7]);
    assert.throws(() => parseSessionId("4294967295", "id"), /WTS_CURRENT_SESSION/);
    for (const bad of ["-1", "4294967296", "1.5", "x", "", "0x10", "99999999999"]) {
      assert.throws(() => parseSessionId(bad, "session id"), UsageError, bad);
    }
    const many = Array.from({ length: 4097 }, (_, i) => String(i));
    assert.throws(() => parseSessionIds(many, "id"), /at most 4096/);
  });

  void it("parses states", () => {
    assert.deepEqual(parseStates(["active,Disconnected", "connect-query"], "f"), [
      SessionState.ACTIVE,
      SessionState.DISCONNECTED,
      SessionState.CONNECT_QUERY,
    ]);
    assert.throws(() => parseStates(["sleeping"], "--state"), /unknown state "sleeping"/);
  });
});

void describe("durations: one parser for every duration flag", () => {
  void it("reads a number with a unit, combined units and fractions, in milliseconds", () => {
    const minIdle = (text: string) => parseDurationMs(text, "--min-idle", MIN_IDLE_FLAG);
    assert.equal(minIdle("90s"), 90_000);
    assert.equal(minIdle("30m"), 1_800_000);
    assert.equal(minIdle("2h"), 7_200_000);
    assert.equal(minIdle("1h30m"), 5_400_000);
    assert.equal(minIdle("2d"), 172_800_000);
    assert.equal(minIdle("1.5h"), 5_400_000);
    assert.equal(minIdle("250ms"), 250);
    assert.equal(minIdle(" 5M "), 300_000);
    assert.equal(minIdle("0s"), 0);
  });

  void it("refuses a bare number, showing the forms (--min-idle 30 meant as minutes)", () => {
    assert.throws(
      () => parseDurationMs("30", "--min-idle", MIN_IDLE_FLAG),
      (error: unknown) =>
        error instanceof UsageError &&
        /^--min-idle: "30" has no unit; write 30s, 30m or 30h \(a duration: 30s, 5m, 2h, 1d, 500ms, or combined: 1h30m\)$/.test(
          error.message,
        ),
    );
    assert.throws(() => parseDurationMs("0", "--grace", { maxMs: 3_600_000 }), /has no unit/);
  });

  void it("refuses what is not a duration, and values out of range", () => {
    for (const bad of ["soon", "", "-5m", "5 m", "m", "1h-5m", "5x", "1e3s"]) {
      assert.throws(() => parseDurationMs(bad, "--min-idle", MIN_IDLE_FLAG), UsageError, bad);
    }
    assert.throws(
      () => parseDurationMs("400d", "--min-idle", MIN_IDLE_FLAG),
      /--min-idle: "400d" is out of range \(0 to 365d\)/,
    );
  });

  void it("--timeout: a bare number is seconds (its unit is in its name); units are accepted", () => {
    const timeout = (text: string) => parseDurationMs(text, "--timeout", TIMEOUT_FLAG);
    assert.equal(timeout("10"), 10_000);
    assert.equal(timeout("0.5"), 500);
    assert.equal(timeout("2m"), 120_000);
    assert.throws(() => timeout("0"), /--timeout: "0" is out of range \(more than 0 to 1d\)/);
    assert.throws(() => timeout("2d"), /out of range/);
    assert.throws(() => timeout("ten"), /not a duration \(.*, or a number of seconds\)/);
  });

  void it("formats durations for messages", () => {
    assert.deepEqual([0, 500, 90_000, 5_400_000, 86_400_000, 90_061_000].map(formatDurationMs), [
      "0s",
      "500ms",
      "1m30s",
      "1h30m",
      "1d",
      "1d1h1m1s",
    ]);
  });
});

void describe("parseStdinSessions", () => {
  const entries = (text: string) =>
    [...parseStdinSessions(text)].map(([host, sessions]) => [
      host,
      sessions.map((s) => s.sessionId),
    ]);

  void it("reads wmsctl get -o json, skipping hosts that failed", () => {
    const json = JSON.stringify([
      { host: "h1.example", status: "ok", sessions: [{ sessionId: 3 }, { sessionId: 5 }] },
      { host: "h2.example", status: "unreachable", code: "UNAVAILABLE" },
    ]);
    assert.deepEqual(entries(json), [["h1.example", [3, 5]]]);
  });

  void it("reads wmsctl get -o ndjson", () => {
    const ndjson =
      '{"host":"h1.example","status":"ok","sessions":[{"sessionId":3}]}\n\n' +
      '{"host":"H2.example","status":"ok","sessions":[{"sessionId":4}]}\n';
    assert.deepEqual(entries(ndjson), [
      ["h1.example", [3]],
      ["h2.example", [4]],
    ]);
  });

  void it("reads PowerShell ConvertTo-Json: one object, an array, or a value/Count wrapper", () => {
    assert.deepEqual(entries('{"SessionId":5,"ComputerName":"H1.Example","UserName":"alice"}'), [
      ["h1.example", [5]],
    ]);
    assert.deepEqual(
      entries(
        '[{"SessionId":5,"ComputerName":"h1.example"},{"SessionId":"6","ComputerName":"h1.example"}]',
      ),
      [["h1.example", [5, 6]]],
    );
    assert.deepEqual(entries('{"value":[{"SessionId":7}],"Count":1}'), [["", [7]]]);
  });

  void it("keeps the skips the input announced: protection and state (wmsctl get, PowerShell)", () => {
    const json = JSON.stringify([
      {
        host: "h1.example",
        status: "ok",
        sessions: [
          { sessionId: 0, state: "DISCONNECTED", protection: "SERVICES_SESSION" },
          { sessionId: 3, state: "ACTIVE", protection: "NONE" },
          { sessionId: 16, state: "DISCONNECTED", protection: "NONE" },
          { sessionId: 65536, state: "LISTEN", protection: "NONE" },
          { sessionId: 9, state: "DOWN" },
        ],
      },
    ]);
    assert.deepEqual(parseStdinSessions(json).get("h1.example"), [
      { sessionId: 0, announced: ["PROTECTED", "ALREADY_DISCONNECTED"] },
      { sessionId: 3, announced: [] },
      { sessionId: 16, announced: ["ALREADY_DISCONNECTED"] },
      { sessionId: 65536, announced: ["NOT_DISCONNECTABLE"] },
      { sessionId: 9, announced: ["NOT_DISCONNECTABLE"] },
    ]);
    const powershell = '[{"SessionId":65536,"State":"Listen"},{"SessionId":2,"State":"WTSReset"}]';
    assert.deepEqual(parseStdinSessions(powershell).get(""), [
      { sessionId: 65536, announced: ["NOT_DISCONNECTABLE"] },
      { sessionId: 2, announced: ["NOT_DISCONNECTABLE"] },
    ]);
    const twice = '[{"SessionId":5,"protection":"CALLER_PROCESS"},{"SessionId":5}]';
    assert.deepEqual(parseStdinSessions(twice).get(""), [
      { sessionId: 5, announced: ["PROTECTED"] },
    ]);
  });

  void it("rejects malformed input with a clear message", () => {
    assert.throws(() => parseStdinSessions(""), /standard input is empty/);
    assert.throws(
      () => parseStdinSessions('{"host":"h1.example","sessions":[]}\n{oops'),
      /line 2 is not valid JSON/,
    );
    assert.throws(
      () => parseStdinSessions('[{"SessionId":-1}]'),
      /stdin\[0\]: "-1" is not a session id/,
    );
    assert.throws(() => parseStdinSessions('[{"SessionId":4294967295}]'), /WTS_CURRENT_SESSION/);
    assert.throws(
      () => parseStdinSessions('[{"ComputerName":"h1.example"}]'),
      /SessionId is missing/,
    );
    assert.throws(
      () => parseStdinSessions('[{"SessionId":1,"ComputerName":"bad_host"}]'),
      /bad_host/,
    );
    assert.throws(() => parseStdinSessions("[1,2]"), /expected an object/);
    assert.throws(() => parseStdinSessions("[]"), /names no session/);
  });
});

void describe("exit status", () => {
  const host = (over: Partial<HostReport>): HostReport => ({
    host: "h.example",
    address: "h.example:50061",
    status: "ok",
    durationMs: 1,
    attempts: 1,
    ...over,
  });
  const result = (outcome: string) => ({
    sessionId: 1,
    outcome,
    message: "",
    win32Error: 0,
    protection: "NONE",
    userName: "",
    stationName: "",
  });

  void it("is 0, 1 or 3 as DESIGN section 6 says", () => {
    assert.equal(
      exitStatus([host({ results: [result("DISCONNECTED"), result("ALREADY_DISCONNECTED")] })]),
      0,
    );
    assert.equal(exitStatus([host({ results: [result("NOT_FOUND")] })]), 1);
    assert.equal(exitStatus([host({ results: [result("PROTECTED")] })]), 1);
    const all = (report: HostReport) => markSkips(report, ALL_SESSIONS);
    assert.equal(exitStatus([all(host({ results: [result("PROTECTED")] }))]), 0, "--all skips");
    assert.equal(exitStatus([all(host({ results: [result("NOT_DISCONNECTABLE")] }))]), 0);
    assert.equal(exitStatus([all(host({ results: [result("FAILED")] }))]), 1);
    assert.equal(
      exitStatus([host({}), host({ status: "unreachable" }), host({ status: "timeout" })]),
      3,
    );
    assert.equal(exitStatus([host({ status: "timeout" }), host({ status: "denied" })]), 1);
    assert.equal(
      exitStatus([host({ status: "unreachable" }), host({ results: [result("FAILED")] })]),
      1,
    );
    assert.equal(exitStatus([host({ missing: [9] })]), 1);
  });

  void it("--stdin: a skip the input announced is not a failure; any other is", () => {
    const announced = new Map([
      [1, ["PROTECTED"]],
      [2, ["NOT_DISCONNECTABLE"]],
    ]);
    const policy = announcedSkips((_host, id) => announced.get(id) ?? []);
    const stdin = (...results: ResultView[]) => markSkips(host({ results }), policy);
    const at = (id: number, outcome: string): ResultView => ({ ...result(outcome), sessionId: id });
    const marked = stdin(at(1, "PROTECTED"), at(2, "NOT_DISCONNECTABLE"), at(3, "DISCONNECTED"));
    assert.deepEqual(
      marked.results?.map((r) => r.skipped),
      ["input", "input", undefined],
    );
    assert.equal(exitStatus([marked]), 0);
    assert.equal(exitStatus([stdin(at(3, "PROTECTED"))]), 1, "protected, not announced");
    assert.equal(exitStatus([stdin(at(1, "NOT_DISCONNECTABLE"))]), 1, "another outcome");
    assert.equal(exitStatus([stdin(at(2, "NOT_FOUND"))]), 1, "vanished: not announced");
    assert.equal(exitStatus([stdin(at(1, "FAILED"))]), 1);
    assert.equal(
      exitStatus([markSkips(host({ results: [at(1, "PROTECTED")] }), NAMED_SESSIONS)]),
      1,
    );
  });
});

void describe("what-if line, classification and backoff", () => {
  void it("prints the PowerShell what-if line", () => {
    const line = whatIfLine("h1.lab.example.com", {
      sessionId: 5,
      outcome: "WOULD_DISCONNECT",
      message: "",
      win32Error: 0,
      protection: "NONE",
      userName: "alice",
      stationName: "Station 3",
    });
    assert.equal(
      line,
      'What if: Performing the operation "Disconnect" on target "session 5 (alice, Station 3) on h1.lab.example.com".',
    );
  });

  void it("classifies gRPC failures", () => {
    assert.equal(classifyFailure(status.DEADLINE_EXCEEDED, true), "timeout");
    assert.equal(classifyFailure(status.PERMISSION_DENIED, true), "denied");
    assert.equal(classifyFailure(status.UNAUTHENTICATED, true), "denied");
    assert.equal(classifyFailure(status.UNAVAILABLE, false), "unreachable");
    assert.equal(classifyFailure(status.UNAVAILABLE, true), "failed");
    assert.equal(classifyFailure(status.FAILED_PRECONDITION, true), "failed");
    // The controller refusing the agent's certificate: reached, not trusted, nothing sent.
    const lastError = "No connection established. Last error: Error";
    for (const refusal of [
      "[ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: h2.",
      ": self-signed certificate in certificate chain",
      ": self signed certificate",
      ": unable to verify the first certificate",
      ": certificate has expired",
      ": certificate is not yet valid",
      ": unsupported certificate purpose",
    ]) {
      assert.equal(
        classifyFailure(status.UNAVAILABLE, false, lastError + refusal),
        "denied",
        refusal,
      );
    }
    assert.equal(
      classifyFailure(status.UNAVAILABLE, false, `${lastError}: connect ECONNREFUSED 127.0.0.1:9`),
      "unreachable",
    );
  });

  void it("says a failed change may have acted only when it was sent and not refused as a whole", () => {
    const failure = (rpc: RpcName, code: status, options = {}) =>
      new HostCallError("h.example", rpc, code, "details", options);
    assert.equal(mayHaveActed(failure("Disconnect", status.DEADLINE_EXCEEDED), true, true), true);
    assert.equal(mayHaveActed(failure("DisconnectAll", status.CANCELLED), true, false), true);
    assert.equal(mayHaveActed(failure("Disconnect", status.UNAVAILABLE), true, false), true);
    assert.equal(mayHaveActed(failure("Disconnect", status.INTERNAL), true, true), true);
    assert.equal(
      mayHaveActed(failure("Disconnect", status.DEADLINE_EXCEEDED), false, false),
      false,
    );
    assert.equal(mayHaveActed(failure("Disconnect", status.UNAVAILABLE), true, true), false);
    assert.equal(mayHaveActed(failure("Disconnect", status.INVALID_ARGUMENT), true, true), false);
    assert.equal(mayHaveActed(failure("Disconnect", status.PERMISSION_DENIED), true, true), false);
    assert.equal(
      mayHaveActed(failure("ListSessions", status.DEADLINE_EXCEEDED), true, true),
      false,
    );
    assert.equal(
      mayHaveActed(
        failure("Disconnect", status.FAILED_PRECONDITION, { mayHaveActed: true }),
        true,
        true,
      ),
      true,
    );
  });

  void it("backs off with full jitter under a growing, capped ceiling", () => {
    const options = { retryBaseDelayMs: 200, retryMaxDelayMs: 1000 };
    assert.equal(backoffMs(1, { ...options, random: () => 0.999 }), 199);
    assert.equal(backoffMs(3, { ...options, random: () => 0.5 }), 400);
    assert.equal(backoffMs(10, { ...options, random: () => 0.5 }), 500);
    assert.equal(backoffMs(2, { ...options, random: () => 0 }), 0);
  });

  void it("fills controller defaults and rejects bad values", () => {
    const resolved = resolveControllerOptions({ credentials: credentials.createInsecure() });
    assert.equal(resolved.throttle, 32);
    assert.equal(resolved.timeoutMs, 10_000);
    assert.equal(resolved.retries, 2);
    assert.throws(
      () => resolveControllerOptions({ credentials: credentials.createInsecure(), throttle: 0 }),
      /throttle must be an integer in 1\.\./,
    );
  });
});
