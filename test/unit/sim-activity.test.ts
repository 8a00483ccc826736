/**
 * The activity model of the simulated backend on a manual clock: a seed replays the same day,
 * every kind of event happens, each reaches the backend's change listeners, and the model stops.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  mulberry32,
  type SimActivityEvent,
  type SimActivityOptions,
} from "../../agent/backends/sim-activity.js";
import { createManualClock, type ManualClock } from "../../agent/backends/sim-clock.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";

const HOUR = 3_600_000;

/** The shipped classroom with activity on a manual clock; closed after the test. */
function classroom(
  t: TestContext,
  activity: Omit<SimActivityOptions, "onEvent">,
): { backend: SimulatedBackend; clock: ManualClock; events: SimActivityEvent[] } {
  const clock = createManualClock();
  const events: SimActivityEvent[] = [];
  const backend = createSimulatedBackend({
    clock,
    env: {},
    activity: { ...activity, onEvent: (event) => events.push(event) },
  });
  t.after(() => backend.close());
  return { backend, clock, events };
}

/** Moves the clock forward by `ms`, a minute at a time. */
function live(clock: ManualClock, ms: number): void {
  for (let done = 0; done < ms; done += 60_000) clock.advance(Math.min(60_000, ms - done));
}

void describe("simulated activity", () => {
  void it("replays the same day from the same seed, and another from another", (t) => {
    const first = classroom(t, { seed: 20260310 });
    const again = classroom(t, { seed: 20260310 });
    const other = classroom(t, { seed: 7 });
    for (const run of [first, again, other]) live(run.clock, 4 * HOUR);
    assert.ok(first.events.length > 100, `${first.events.length} events in 4 hours`);
    assert.deepEqual(again.events, first.events);
    assert.deepEqual(again.backend.snapshot(), first.backend.snapshot());
    assert.notDeepEqual(other.events, first.events);
    assert.equal(first.backend.activity?.seed, 20260310);
    assert.equal(first.backend.activity?.events(), first.events.length);
  });

  void it("makes every kind of event of a school day", (t) => {
    const { clock, events, backend } = classroom(t, { seed: 1 });
    live(clock, 8 * HOUR);
    assert.deepEqual([...new Set(events.map((e) => e.kind))].sort(), [
      "disconnect",
      "input",
      "lock",
      "logoff",
      "logon",
      "reconnect",
      "remote-logon",
      "unlock",
    ]);
    // Every event names a user, and happened at the clock's time, in order.
    assert.ok(events.every((e) => e.userName !== ""));
    assert.ok(events.every((e, i) => i === 0 || e.timeMs >= (events[i - 1]?.timeMs ?? 0)));
    const remote = backend.snapshot().filter((s) => /#\d+$/.test(s.stationName));
    assert.ok(remote.length <= 8, "at most maxRemoteSessions remote sessions");
  });

  void it("changes the sessions as people do, and tells the backend's watchers", (t) => {
    const clock = createManualClock();
    let changes = 0;
    const seen = new Set<string>();
    const backend: SimulatedBackend = createSimulatedBackend({
      clock,
      env: {},
      activity: {
        seed: 3,
        // Each event is checked against the host the moment it has happened.
        onEvent: (event) => {
          seen.add(event.kind);
          const session = backend.snapshot().find((s) => s.sessionId === event.sessionId);
          const at = event.timeMs;
          switch (event.kind) {
            case "logon":
            case "remote-logon":
              assert.equal(session?.userName, event.userName);
              assert.equal(session.state, SessionState.ACTIVE);
              assert.equal(session.logonTime?.getTime(), at);
              break;
            case "input":
              assert.equal(session?.lastInputTime?.getTime(), at);
              break;
            case "lock":
              assert.equal(session?.locked, true);
              break;
            case "unlock":
              assert.equal(session?.locked, false);
              // Coming back is input, where Windows tracks it (a Remote Desktop session).
              assert.equal(
                session.lastInputTime?.getTime(),
                /^(Console|Station \d+)$/.test(session.stationName) ? undefined : at,
              );
              break;
            case "disconnect":
              assert.equal(session?.state, SessionState.DISCONNECTED);
              assert.equal(session.clientName, "");
              break;
            case "reconnect":
              assert.equal(session?.state, SessionState.ACTIVE);
              assert.notEqual(session.clientName, "");
              break;
            case "logoff":
              assert.ok(session === undefined || session.userName === "");
              break;
          }
        },
      },
    });
    t.after(() => backend.close());
    backend.watchChanges(() => changes++);
    live(clock, 8 * HOUR);
    assert.equal(seen.size, 8);
    assert.equal(changes, backend.activity?.events(), "one change per event");
  });

  void it("never gives the console or a station a last input time: Windows does not track it", (t) => {
    const { backend, clock, events } = classroom(t, { seed: 20260310 });
    const local = (stationName: string) => /^(Console|Station \d+)$/.test(stationName);
    let remoteInputs = 0;
    for (let hour = 0; hour < 8; hour++) {
      live(clock, HOUR);
      for (const session of backend.snapshot()) {
        if (local(session.stationName)) {
          assert.equal(session.lastInputTime, undefined, `${session.stationName} after ${hour} h`);
        } else if (session.lastInputTime !== undefined) remoteInputs++;
      }
    }
    assert.ok(remoteInputs > 0, "remote sessions' input is tracked");
    // People work at the stations (they log on, lock, come back), but that is no input event.
    const stationEvents = events.filter((e) => {
      const session = backend.snapshot().find((s) => s.sessionId === e.sessionId);
      return session !== undefined && local(session.stationName);
    });
    assert.ok(stationEvents.some((e) => e.kind === "logon" || e.kind === "unlock"));
    assert.ok(stationEvents.every((e) => e.kind !== "input"));
  });

  void it("runs faster with speed, and stops for good when stopped or closed", async (t) => {
    const slow = classroom(t, { seed: 5 });
    const fast = classroom(t, { seed: 5, speed: 60 });
    live(slow.clock, HOUR);
    live(fast.clock, HOUR);
    assert.ok(fast.events.length > 10 * slow.events.length);
    fast.backend.activity?.stop();
    const count = fast.events.length;
    live(fast.clock, HOUR);
    assert.equal(fast.events.length, count);
    await slow.backend.close();
    const before = slow.events.length;
    live(slow.clock, 4 * HOUR);
    assert.equal(slow.events.length, before);
    assert.equal(slow.clock.pending(), 0);
  });

  void it("does nothing when every rate is zero", (t) => {
    const { clock, events } = classroom(t, {
      seed: 1,
      rates: {
        logonPerHour: 0,
        remoteLogonPerHour: 0,
        inputPerHour: 0,
        lockPerHour: 0,
        unlockPerHour: 0,
        disconnectPerHour: 0,
        reconnectPerHour: 0,
        logoffPerHour: 0,
      },
    });
    live(clock, 8 * HOUR);
    assert.deepEqual(events, []);
    assert.equal(clock.pending(), 0);
  });

  void it("refuses options it cannot run with, naming them", () => {
    const cases: [Omit<SimActivityOptions, "onEvent">, RegExp][] = [
      [{ seed: -1 }, /activity seed: -1 is not an integer 0\.\.4294967295/],
      [{ seed: 2 ** 32 }, /activity seed: 4294967296/],
      [
        { seed: 1, rates: { lockPerHour: -1 } },
        /activity rates\.lockPerHour: -1 is not a non-negative rate per hour/,
      ],
      [{ seed: 1, rates: { inputPerHour: Number.NaN } }, /rates\.inputPerHour: NaN/],
      [{ seed: 1, speed: 0 }, /activity speed: 0 is not a positive factor/],
      [{ seed: 1, maxRemoteSessions: 1.5 }, /maxRemoteSessions: 1\.5/],
    ];
    for (const [activity, message] of cases) {
      assert.throws(() => createSimulatedBackend({ env: {}, activity }), message);
    }
  });

  void it("draws the same numbers from the same seed (mulberry32)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const first = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      first,
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(first.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(first, Array.from({ length: 5 }, mulberry32(43)));
  });
});
