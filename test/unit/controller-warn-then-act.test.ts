/**
 * The pure parts of warn, then act and of the family's options: the check after the grace period
 * (who came back), the message limits checked before anything is sent, and the watch's backoff.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import {
  compileSessionFilter,
  createController,
  recheck,
  watchBackoffMs,
} from "../../controller/index.js";
import { messageFields } from "../../controller/message.js";
import { MessageButtons, Session, SessionState } from "../../proto/gen/wms/v1/wms_session.js";

const NOW = Date.parse("2025-03-03T10:00:00Z");
const LOGON = new Date(NOW - 7_200_000);

const warned = Session.fromPartial({
  sessionId: 5,
  state: SessionState.DISCONNECTED,
  userName: "amelia",
  domainName: "LAB",
  logonTime: LOGON,
  idleTime: { seconds: 3600, nanos: 0 },
});
const idleFilter = compileSessionFilter({
  userNamePattern: "",
  states: [SessionState.DISCONNECTED],
  minIdleTime: { seconds: 1800, nanos: 0 },
});

void describe("recheck after the grace period", () => {
  void it("keeps a session that is the same logon, in the same state, still idle", () => {
    const later = { ...warned, idleTime: { seconds: 3900, nanos: 0 } };
    assert.deepEqual(recheck(warned, later, idleFilter, NOW), { stillMatches: true });
    assert.deepEqual(recheck(warned, later, undefined, NOW), { stillMatches: true });
  });

  void it("leaves alone a user who came back, a logon that changed and a session that ended", () => {
    const reconnected = {
      ...warned,
      state: SessionState.ACTIVE,
      idleTime: { seconds: 3, nanos: 0 },
    };
    assert.deepEqual(recheck(warned, reconnected, idleFilter, NOW), {
      stillMatches: false,
      reason: "it went from DISCONNECTED to ACTIVE during the grace period: the user came back",
    });
    const activeBefore = { ...warned, state: SessionState.ACTIVE };
    const touched = { ...activeBefore, idleTime: { seconds: 12, nanos: 0 } };
    const activeIdle = compileSessionFilter({
      userNamePattern: "",
      states: [],
      minIdleTime: { seconds: 1800, nanos: 0 },
    });
    assert.deepEqual(recheck(activeBefore, touched, activeIdle, NOW), {
      stillMatches: false,
      reason: "the user came back: idle 12s now, less than the 30m asked for",
    });
    // Without a filter (sessions named by id), input alone is no reason to spare the session.
    assert.deepEqual(recheck(activeBefore, touched, undefined, NOW), { stillMatches: true });
    const other = { ...warned, userName: "bob", logonTime: new Date(NOW - 60_000) };
    assert.deepEqual(recheck(warned, other, undefined, NOW), {
      stillMatches: false,
      reason: "another logon has this session id now (LAB\\bob; warned: LAB\\amelia)",
    });
    const relogged = { ...warned, logonTime: new Date(NOW - 60_000) };
    assert.equal(recheck(warned, relogged, undefined, NOW).stillMatches, false);
    assert.deepEqual(recheck(warned, undefined, idleFilter, NOW), {
      stillMatches: false,
      reason: "the session ended during the grace period",
    });
  });
});

void describe("checks made before anything is sent", () => {
  void it("message text, title, timeout and wait", () => {
    assert.throws(() => messageFields({ text: "" }), /message text is empty/);
    assert.throws(() => messageFields({ text: "x".repeat(4097) }), /4097 characters; at most 4096/);
    assert.doesNotThrow(() => messageFields({ text: "ü".repeat(4096) }));
    assert.throws(
      () => messageFields({ text: "hi", title: "t".repeat(257) }),
      /title is 257 characters; at most 256/,
    );
    assert.throws(() => messageFields({ text: "hi", timeoutMs: 999 }), /outside 1000\.\.86400000/);
    assert.throws(() => messageFields({ text: "hi", wait: true }), /needs a message timeout/);
    assert.deepEqual(
      messageFields({ text: "hi", timeoutMs: 1500, wait: true, buttons: MessageButtons.YES_NO }),
      {
        title: "",
        text: "hi",
        buttons: MessageButtons.YES_NO,
        timeout: { seconds: 2, nanos: 0 },
        wait: true,
        whatIf: false,
      },
    );
  });

  void it("sendMessage and warnThenAct throw at the call, before iterating", () => {
    const controller = createController({ credentials: credentials.createInsecure() });
    try {
      assert.throws(
        () => controller.sendMessage([], { kind: "all" }, { text: "" }),
        /message text is empty/,
      );
      assert.throws(
        () =>
          controller.warnThenAct([], {
            action: "logoff",
            selection: { kind: "all" },
            warning: { text: "bye" },
            graceMs: -1,
          }),
        /grace period -1 ms is outside/,
      );
      assert.throws(
        () =>
          controller.warnThenAct([], {
            action: "logoff",
            selection: {
              kind: "all",
              filter: { userNamePattern: "a|b", states: [], minIdleTime: undefined },
            },
            warning: { text: "bye" },
            graceMs: 1000,
          }),
        /user name pattern: character "\|"/,
      );
    } finally {
      controller.close();
    }
  });
});

void describe("watch reconnection backoff", () => {
  void it("grows from the base to the cap, never below half the ceiling", () => {
    const options = (random: number) => ({
      watchReconnectBaseDelayMs: 500,
      watchReconnectMaxDelayMs: 15_000,
      random: () => random,
    });
    assert.equal(watchBackoffMs(1, options(0)), 250);
    assert.equal(watchBackoffMs(1, options(0.999_999)), 499);
    assert.equal(watchBackoffMs(3, options(0)), 1000);
    assert.equal(watchBackoffMs(10, options(0)), 7500);
    assert.equal(watchBackoffMs(10, options(0.999_999)), 14_999);
    assert.equal(watchBackoffMs(1000, options(0.5)), 11_250, "no overflow after many failures");
  });
});
