/**
 * The watch hub alone, over the simulated backend, with sinks the test controls: what every
 * watcher is told and in what order, coalesced listings, backpressure and resynchronisation,
 * heartbeats, the watcher limit, the end of a watch.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { status as Status } from "@grpc/grpc-js";
import { createManualClock } from "../../agent/backends/sim-clock.js";
import { parseSimFixture } from "../../agent/backends/sim-fixture.js";
import { createSimulatedBackend, type SimulatedBackend } from "../../agent/backends/simulated.js";
import { RpcError } from "../../agent/server/rpc-error.js";
import {
  createSessionWatchHub,
  type SessionWatchHub,
  type SessionWatchOptions,
  type WatchSink,
} from "../../agent/sessions/session-watch.js";
import {
  ChangeKind,
  Protection,
  SessionState,
  SnapshotReason,
  type WatchSessionsResponse,
} from "../../proto/gen/wms/v1/wms_session.js";
import { TEST_FIXTURE, TEST_HOST } from "../helpers/agent-harness.js";

/** A sink that keeps what it is sent; `full` makes it refuse more, as a stream with a full buffer. */
class Sink implements WatchSink {
  readonly messages: WatchSessionsResponse[] = [];
  full = false;
  ended = false;
  cuts = 0;
  #drains: (() => void)[] = [];
  write(message: WatchSessionsResponse): boolean {
    this.messages.push(message);
    return !this.full;
  }
  onDrain(callback: () => void): void {
    this.#drains.push(callback);
  }
  end(): void {
    this.ended = true;
  }
  cut(): void {
    this.cuts++;
  }
  /** The buffer has room again. */
  drain(): void {
    this.full = false;
    for (const callback of this.#drains.splice(0)) callback();
  }
  kinds(): string[] {
    return this.messages.map((m) => m.event?.$case ?? "none");
  }
  changes(): [number, string, number][] {
    return this.messages.flatMap((m) =>
      m.event?.$case === "changes"
        ? m.event.value.changes.map(
            (c) =>
              [c.session?.sessionId ?? -1, ChangeKind[c.kind], c.revision] as [
                number,
                string,
                number,
              ],
          )
        : [],
    );
  }
}

/** Lets every callback already due run, and the promises they settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function hubFor(
  t: TestContext,
  options: Partial<SessionWatchOptions> & { backend?: SimulatedBackend } = {},
): { hub: SessionWatchHub; backend: SimulatedBackend } {
  const backend =
    options.backend ??
    createSimulatedBackend({
      fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
      env: {},
      clock: createManualClock(),
    });
  const hub = createSessionWatchHub({
    list: () => backend.listSessions(),
    watchChanges: (listener) => backend.watchChanges(listener),
    agentSessionId: () => backend.agentSessionId(),
    hostFqdn: TEST_HOST,
    ...options,
  });
  t.after(async () => {
    hub.close();
    await backend.close();
  });
  return { hub, backend };
}

void describe("session watch", () => {
  void it("sends a snapshot first: every session, the revision, the caller-independent protection", async (t) => {
    const { hub } = hubFor(t);
    const sink = new Sink();
    await hub.watch(sink);
    assert.deepEqual(sink.kinds(), ["snapshot"]);
    const [first] = sink.messages;
    assert.equal(first?.host, TEST_HOST);
    assert.equal(first?.revision, 1);
    assert.ok(first?.event?.$case === "snapshot");
    const { sessions, reason } = first.event.value;
    assert.equal(reason, SnapshotReason.INITIAL);
    assert.deepEqual(
      sessions.map((s) => s.sessionId),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 65536],
    );
    const protection = new Map(sessions.map((s) => [s.sessionId, s.protection]));
    assert.equal(protection.get(0), Protection.SERVICES_SESSION);
    assert.equal(protection.get(7), Protection.AGENT_SESSION);
    assert.equal(protection.get(1), Protection.UNSPECIFIED);
  });

  void it("tells every watcher each change once, in order, one revision per change", async (t) => {
    const { hub, backend } = hubFor(t);
    const sinks = [new Sink(), new Sink(), new Sink()];
    for (const sink of sinks) await hub.watch(sink);
    await backend.disconnectSession(2, { wait: true });
    await settle();
    backend.addSession({ sessionId: 40, state: SessionState.CONNECTED, stationName: "Station 40" });
    await settle();
    backend.removeSession(5);
    await settle();
    await backend.logoffSession(1, { wait: true });
    await settle();
    for (const sink of sinks) {
      assert.deepEqual(sink.changes(), [
        [2, "CHANGED", 2],
        [40, "ADDED", 3],
        [5, "REMOVED", 4],
        [1, "CHANGED", 5],
      ]);
      assert.deepEqual(
        sink.messages.map((m) => m.revision),
        [1, 2, 3, 4, 5],
      );
    }
    const removed = sinks[0]?.messages[3];
    assert.ok(removed?.event?.$case === "changes");
    assert.equal(removed.event.value.changes[0]?.session?.userName, "remote1", "as last seen");
    assert.equal(hub.stats().revision, 5);
  });

  void it("tells a session that could not be read whole, and back, as changes with its note", async (t) => {
    const backend = createSimulatedBackend({
      fixture: parseSimFixture(TEST_FIXTURE, "TEST_FIXTURE"),
      env: {},
      clock: createManualClock(),
    });
    let note: string | undefined;
    const { hub } = hubFor(t, {
      backend,
      list: async () =>
        (await backend.listSessions()).map((s) =>
          s.sessionId === 4 && note !== undefined ? { ...s, note } : s,
        ),
    });
    const sink = new Sink();
    await hub.watch(sink);
    note = "details unknown: WTSQuerySessionInformationW failed (5)";
    await hub.refresh();
    note = undefined;
    await hub.refresh();
    assert.deepEqual(sink.changes(), [
      [4, "CHANGED", 2],
      [4, "CHANGED", 3],
    ]);
    const notes = sink.messages.flatMap((m) =>
      m.event?.$case === "changes" ? m.event.value.changes.map((c) => c.session?.note) : [],
    );
    assert.deepEqual(notes, ["details unknown: WTSQuerySessionInformationW failed (5)", ""]);
  });

  void it("coalesces changes that come while it lists into one more listing", async (t) => {
    const { hub, backend } = hubFor(t);
    const sink = new Sink();
    await hub.watch(sink);
    const before = hub.stats().listings;
    backend.updateSession(2, { locked: true });
    backend.updateSession(3, { locked: true });
    backend.updateSession(4, { locked: true });
    await settle();
    // The first change is listed at once; the two that came while it was listed, together.
    assert.equal(hub.stats().listings - before, 2);
    assert.deepEqual(sink.changes(), [
      [2, "CHANGED", 2],
      [3, "CHANGED", 3],
      [4, "CHANGED", 4],
    ]);
    assert.deepEqual(
      sink.messages.map((m) => (m.event?.$case === "changes" ? m.event.value.changes.length : 0)),
      [0, 1, 2],
    );
  });

  void it("counts no change when only time passes (idle time is the reader's to compute)", async (t) => {
    let nowMs = Date.now();
    const { hub } = hubFor(t, { now: () => nowMs });
    const sink = new Sink();
    await hub.watch(sink);
    nowMs += 3_600_000;
    await hub.refresh();
    assert.deepEqual(sink.kinds(), ["snapshot"]);
  });

  void it("withholds changes from a watcher whose buffer is full, then resynchronises it", async (t) => {
    const { hub, backend } = hubFor(t);
    const slow = new Sink();
    const fast = new Sink();
    await hub.watch(slow);
    await hub.watch(fast);
    slow.full = true;
    backend.updateSession(2, { locked: true });
    await settle();
    assert.equal(hub.stats().behind, 1);
    backend.updateSession(3, { locked: true });
    await settle();
    backend.updateSession(4, { locked: true });
    await settle();
    // The message that filled the buffer was kept; the two after it were not queued.
    assert.deepEqual(slow.changes(), [[2, "CHANGED", 2]]);
    assert.equal(fast.changes().length, 3);
    slow.drain();
    const resync = slow.messages.at(-1);
    assert.ok(resync?.event?.$case === "snapshot");
    assert.equal(resync.event.value.reason, SnapshotReason.RESYNC);
    assert.equal(resync.revision, 4);
    assert.deepEqual(
      resync.event.value.sessions.filter((s) => s.locked).map((s) => s.sessionId),
      [2, 3, 4],
    );
    assert.equal(hub.stats().resyncs, 1);
    backend.updateSession(5, { locked: true });
    await settle();
    assert.deepEqual(slow.changes().at(-1), [5, "CHANGED", 5]);
  });

  void it("does not resynchronise a watcher that missed nothing while its buffer was full", async (t) => {
    const { hub, backend } = hubFor(t);
    const sink = new Sink();
    await hub.watch(sink);
    sink.full = true;
    backend.updateSession(2, { locked: true });
    await settle();
    sink.drain();
    assert.deepEqual(sink.kinds(), ["snapshot", "changes"]);
    assert.equal(hub.stats().resyncs, 0);
  });

  void it("sends a heartbeat after an interval in which a watcher was sent nothing", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const { hub, backend } = hubFor(t, { heartbeatIntervalMs: 15_000, now: () => 1_000_000 });
    const quiet = new Sink();
    await hub.watch(quiet);
    t.mock.timers.tick(15_000); // the snapshot was sent in this interval
    assert.deepEqual(quiet.kinds(), ["snapshot"]);
    t.mock.timers.tick(15_000);
    assert.deepEqual(quiet.kinds(), ["snapshot", "heartbeat"]);
    const beat = quiet.messages[1];
    assert.ok(beat?.event?.$case === "heartbeat");
    assert.equal(beat.event.value.time?.getTime(), 1_000_000);
    assert.equal(beat.revision, 1);
    backend.updateSession(2, { locked: true });
    await settle();
    t.mock.timers.tick(15_000);
    assert.deepEqual(quiet.kinds(), ["snapshot", "heartbeat", "changes"]);
    t.mock.timers.tick(15_000);
    assert.deepEqual(quiet.kinds(), ["snapshot", "heartbeat", "changes", "heartbeat"]);
    assert.equal(quiet.messages.at(-1)?.revision, 2);
  });

  void it("lists again every rescan interval, for a backend that reports nothing", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const { hub, backend } = hubFor(t, { watchChanges: undefined, rescanIntervalMs: 30_000 });
    const sink = new Sink();
    await hub.watch(sink);
    backend.updateSession(2, { locked: true });
    await settle();
    assert.deepEqual(sink.kinds(), ["snapshot"], "nothing told the hub");
    t.mock.timers.tick(30_000);
    await settle();
    assert.deepEqual(sink.changes(), [[2, "CHANGED", 2]]);
  });

  void it("refuses watchers beyond the limit with RESOURCE_EXHAUSTED, and counts those that left", async (t) => {
    const { hub } = hubFor(t, { maxWatchers: 2 });
    const first = await hub.watch(new Sink());
    await hub.watch(new Sink());
    await assert.rejects(hub.watch(new Sink()), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, Status.RESOURCE_EXHAUSTED);
      assert.equal(error.message, "too many watchers (limit 2); retry later");
      return true;
    });
    first();
    first();
    await hub.watch(new Sink());
    assert.equal(hub.stats().watchers, 2);
  });

  void it("answers UNAVAILABLE when the backend cannot list its sessions, and keeps no watcher", async (t) => {
    const { hub, backend } = hubFor(t);
    backend.setAvailable(false);
    await assert.rejects(hub.watch(new Sink()), /1722|RPC server/);
    assert.equal(hub.stats().watchers, 0);
    backend.setAvailable(true);
    const sink = new Sink();
    await hub.watch(sink);
    assert.deepEqual(sink.kinds(), ["snapshot"]);
  });

  void it("stops listening when the last watcher leaves; the next starts afresh, revisions go on", async (t) => {
    const { hub, backend } = hubFor(t);
    const leave = await hub.watch(new Sink());
    backend.updateSession(2, { locked: true });
    await settle();
    leave();
    const listings = hub.stats().listings;
    backend.updateSession(3, { locked: true });
    await settle();
    assert.equal(hub.stats().listings, listings, "nobody watches: nothing is listed");
    const sink = new Sink();
    await hub.watch(sink);
    // Revision 1 was the first view, 2 its change, 3 the view made again.
    assert.equal(sink.messages[0]?.revision, 3);
    const snapshot = sink.messages[0]?.event;
    assert.ok(snapshot?.$case === "snapshot");
    assert.equal(snapshot.value.sessions.find((s) => s.sessionId === 3)?.locked, true);
  });

  void it("ends every watch when closed, cuts those whose buffer is full, and refuses new ones", async (t) => {
    const { hub, backend } = hubFor(t);
    const reading = new Sink();
    const stuck = new Sink();
    await hub.watch(reading);
    await hub.watch(stuck);
    stuck.full = true;
    backend.updateSession(2, { locked: true });
    await settle();
    hub.close();
    assert.equal(reading.ended, true);
    assert.equal(stuck.ended, true);
    assert.equal(reading.cuts, 0);
    assert.equal(stuck.cuts, 1);
    await assert.rejects(hub.watch(new Sink()), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, Status.UNAVAILABLE);
      return true;
    });
    assert.equal(hub.stats().watchers, 0);
  });
});
