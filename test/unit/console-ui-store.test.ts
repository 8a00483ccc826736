/**
 * The web UI's fleet store (console/ui/store/fleet-store.ts), outside a browser: events are
 * applied in batches with one notification per batch, a host's whole list replaces its sessions,
 * changed rows are marked for a while, a flooded queue is dropped for a reload, and a host's
 * recent events are kept, bounded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sessionKey, type SessionView } from "../../console/ui/model.js";
import {
  FleetStore,
  HIGHLIGHT_MS,
  MAX_QUEUED_EVENTS,
  MAX_RECENT_EVENTS_PER_HOST,
} from "../../console/ui/store/fleet-store.js";

const session = (
  host: string,
  sessionId: number,
  patch: Partial<SessionView> = {},
): SessionView => ({
  key: sessionKey(host, sessionId),
  host,
  sessionId,
  user: `user${sessionId}`,
  domain: "LAB",
  state: "ACTIVE",
  locked: false,
  station: `Station-${sessionId}`,
  client: "",
  groups: ["LAB\\Students"],
  ...patch,
});

describe("the UI's fleet store", () => {
  it("applies queued events together on flush, with one notification", () => {
    let now = 1_000;
    const store = new FleetStore({ now: () => now });
    store.load([{ name: "h1", status: "online" }], [session("h1", 1), session("h1", 2)]);
    let notified = 0;
    store.subscribe(() => (notified += 1));
    const version = store.version;
    store.enqueue({
      kind: "sessions",
      host: "h1",
      replace: false,
      changes: [
        { kind: "changed", session: session("h1", 1, { state: "DISCONNECTED" }) },
        { kind: "removed", key: sessionKey("h1", 2), sessionId: 2 },
      ],
    });
    store.enqueue({
      kind: "sessions",
      host: "h1",
      replace: false,
      changes: [{ kind: "added", session: session("h1", 3) }],
    });
    assert.equal(notified, 0, "nothing is applied before the batch");
    assert.equal(store.session(sessionKey("h1", 1))?.state, "ACTIVE");
    store.flush();
    store.close();
    assert.equal(notified, 1);
    assert.equal(store.version, version + 1);
    assert.equal(store.session(sessionKey("h1", 1))?.state, "DISCONNECTED");
    assert.equal(store.session(sessionKey("h1", 2)), undefined);
    assert.deepEqual(
      store
        .sessionsOf("h1")
        .map((s) => s.sessionId)
        .sort(),
      [1, 3],
    );
    assert.equal(store.changedAt(sessionKey("h1", 1)), 1_000);
    now += HIGHLIGHT_MS + 1;
    assert.equal(store.changedAt(sessionKey("h1", 1)), undefined, "the highlight fades");
    assert.equal(store.highlighting, false);
  });

  it("applies a batch by itself after a short delay", async () => {
    const store = new FleetStore();
    store.load([{ name: "h1", status: "online" }], []);
    const applied = new Promise<void>((resolve) => store.subscribe(resolve));
    store.enqueue({
      kind: "sessions",
      host: "h1",
      replace: false,
      changes: [{ kind: "added", session: session("h1", 7) }],
    });
    await applied;
    store.close();
    assert.equal(store.sessionCount, 1);
  });

  it("a host's whole list replaces its sessions and leaves other hosts alone", () => {
    const store = new FleetStore();
    store.load(
      [
        { name: "h1", status: "online" },
        { name: "h2", status: "online" },
      ],
      [session("h1", 1), session("h1", 2), session("h2", 1)],
    );
    store.enqueue({
      kind: "sessions",
      host: "h1",
      replace: true,
      changes: [
        { kind: "added", session: session("h1", 2) },
        { kind: "added", session: session("h1", 5) },
      ],
    });
    store.flush();
    store.close();
    assert.deepEqual(
      store
        .sessionsOf("h1")
        .map((s) => s.sessionId)
        .sort(),
      [2, 5],
    );
    assert.deepEqual(
      store.sessionsOf("h2").map((s) => s.sessionId),
      [1],
    );
    assert.equal(
      store.changedAt(sessionKey("h1", 2)),
      undefined,
      "an unchanged session is not highlighted",
    );
    assert.notEqual(store.changedAt(sessionKey("h1", 5)), undefined);
  });

  it("a host's status change is highlighted and noted; a removed host takes its sessions", () => {
    const store = new FleetStore({ now: () => 5_000 });
    store.load([{ name: "h1", status: "online" }], [session("h1", 1)]);
    const sessionsVersion = store.sessionsVersion;
    store.enqueue({
      kind: "host",
      host: { name: "h1", status: "unreachable", reason: "connection refused" },
    });
    store.flush();
    assert.equal(store.host("h1")?.status, "unreachable");
    assert.equal(
      store.sessionsVersion,
      sessionsVersion,
      "a host's status alone is no session change",
    );
    assert.equal(
      store.host("h1")?.lastChangeMs,
      undefined,
      "the console says when it last changed",
    );
    assert.equal(store.changedAt("h1"), 5_000);
    assert.deepEqual(store.recentEvents("h1")[0], {
      atMs: 5_000,
      text: "status unreachable: connection refused",
      // The history does not record a host's status: its page shows this one from the stream.
      kind: "status",
    });
    store.enqueue({ kind: "host-removed", host: "h1" });
    store.flush();
    store.close();
    assert.equal(store.host("h1"), undefined);
    assert.equal(store.sessionCount, 0);
  });

  it("drops a flooded queue and asks for a reload instead", () => {
    let overflows = 0;
    const store = new FleetStore({ onOverflow: () => (overflows += 1) });
    store.load([{ name: "h1", status: "online" }], []);
    for (let i = 0; i <= MAX_QUEUED_EVENTS; i += 1) {
      store.enqueue({
        kind: "sessions",
        host: "h1",
        replace: false,
        changes: [{ kind: "added", session: session("h1", i % 100) }],
      });
    }
    store.flush();
    store.close();
    assert.equal(overflows, 1);
    assert.equal(store.sessionCount, 0, "the dropped events were not applied");
  });

  it("keeps a bounded list of a host's recent events, newest first", () => {
    const store = new FleetStore();
    store.load([{ name: "h1", status: "online" }], []);
    for (let i = 1; i <= MAX_RECENT_EVENTS_PER_HOST + 10; i += 1) {
      store.enqueue({
        kind: "sessions",
        host: "h1",
        replace: false,
        changes: [{ kind: "added", session: session("h1", i) }],
      });
    }
    store.flush();
    store.close();
    const recent = store.recentEvents("h1");
    assert.equal(recent.length, MAX_RECENT_EVENTS_PER_HOST);
    assert.match(recent[0]?.text ?? "", /^session 60 \(user60\) started, ACTIVE$/);
    assert.equal(recent[0]?.kind, "session");
  });
});
