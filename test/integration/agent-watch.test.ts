/**
 * `WatchSessions` (DESIGN section 8) against a real agent over real gRPC: a change made by another
 * client reaches every watcher once and in order, a dropped connection resumes with a snapshot, a
 * slow watcher is resynchronised instead of queued for, a drain ends every watch (one that reads
 * nothing included), the watcher limit, and the checks every call gets.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client, credentials, status as Status, type StatusObject } from "@grpc/grpc-js";
import { AccessDeniedError } from "../../agent/server/access.js";
import {
  ChangeKind,
  SessionState,
  SnapshotReason,
  WmsSessionServiceClient,
  type WatchSessionsResponse,
} from "../../proto/gen/wms/v1/wms_session.js";
import { startHarness, TEST_HOST } from "../helpers/agent-harness.js";
import { until } from "../helpers/until.js";
import { startAgentRelay } from "../helpers/controller-proxy.js";
import { isSnapshot, startWatch } from "../helpers/watch-client.js";

const changeList = (messages: readonly WatchSessionsResponse[]) =>
  messages.flatMap((m) =>
    m.event?.$case === "changes"
      ? m.event.value.changes.map(
          (c) =>
            [
              c.session?.sessionId,
              ChangeKind[c.kind],
              SessionState[c.session?.state ?? 0],
              c.revision,
            ] as const,
        )
      : [],
  );

describe("WatchSessions", () => {
  it("tells every watcher each change made by another client, once and in order", async (t) => {
    const { address, client, agent } = await startHarness(t);
    const watchers = [0, 1, 2].map(() => {
      const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
      t.after(() => raw.close());
      return startWatch(raw, { expectedHost: TEST_HOST }, t);
    });
    const snapshots = await Promise.all(watchers.map((w) => w.next(isSnapshot())));
    const start = snapshots[0]?.revision ?? 0;
    assert.ok(snapshots.every((s) => s.revision === start));
    await until(() => agent.watchStats().watchers === 3);

    await client.disconnect({ sessionIds: [2] });
    await client.logoff({ sessionIds: [5] });
    await client.logoff({ sessionIds: [3] });
    for (const watcher of watchers) {
      await watcher.next((m) => m.revision === start + 3);
    }
    for (const watcher of watchers) {
      assert.deepEqual(changeList(watcher.messages), [
        [2, "CHANGED", "DISCONNECTED", start + 1],
        [5, "REMOVED", "DISCONNECTED", start + 2],
        [3, "REMOVED", "ACTIVE", start + 3],
      ]);
      assert.equal(watcher.messages[0]?.event?.$case, "snapshot");
    }
  });

  it("resumes a dropped connection with a snapshot that has what changed meanwhile", async (t) => {
    const { agent, client, backend } = await startHarness(t);
    const relay = await startAgentRelay(agent.ports[0] ?? 0);
    t.after(() => relay.close());
    const raw = new WmsSessionServiceClient(
      `127.0.0.1:${relay.port}`,
      credentials.createInsecure(),
    );
    t.after(() => raw.close());
    const first = startWatch(raw, {}, t);
    await first.next(isSnapshot(SnapshotReason.INITIAL));
    await relay.kill();
    const ended = await first.ended;
    assert.equal(Status[ended.code], "UNAVAILABLE");
    await until(() => agent.watchStats().watchers === 0);

    await client.disconnect({ sessionIds: [4] });
    backend.updateSession(2, { locked: true });
    await relay.restart(agent.ports[0] ?? 0);
    const second = startWatch(raw, {}, t);
    const snapshot = await second.next(isSnapshot(SnapshotReason.INITIAL));
    assert.ok(snapshot.event?.$case === "snapshot");
    const byId = new Map(snapshot.event.value.sessions.map((s) => [s.sessionId, s]));
    assert.equal(byId.get(4)?.state, SessionState.DISCONNECTED);
    assert.equal(byId.get(2)?.locked, true);
  });

  it("resynchronises a watcher that reads too slowly with a snapshot, instead of queueing", async (t) => {
    const { address, agent, backend, client } = await startHarness(t);
    const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
    t.after(() => raw.close());
    const slow = startWatch(raw, {}, t);
    await slow.next(isSnapshot());
    slow.pause();
    // Large changes fill the stream's HTTP/2 window and buffer in a few dozen messages.
    const big = "X".repeat(8 * 1024);
    let changes = 0;
    while (agent.watchStats().behind === 0) {
      assert.ok(changes < 10_000, "the watcher never fell behind");
      backend.updateSession(11, { clientName: `${big}${changes++}` });
      const revision = agent.watchStats().revision;
      await until(() => agent.watchStats().revision > revision);
    }
    // Withheld from the slow watcher, not queued for it.
    const behindAt = agent.watchStats().revision;
    backend.updateSession(2, { locked: true });
    backend.updateSession(3, { locked: true });
    await until(() => agent.watchStats().revision >= behindAt + 2);
    slow.resume();
    const resync = await slow.next(isSnapshot(SnapshotReason.RESYNC));
    assert.ok(resync.event?.$case === "snapshot");
    const listed = await client.listSessions();
    assert.deepEqual(
      resync.event.value.sessions.map((s) => [s.sessionId, s.state, s.locked, s.clientName]),
      listed.sessions.map((s) => [s.sessionId, s.state, s.locked, s.clientName]),
    );
    assert.equal(agent.watchStats().resyncs, 1);
    // After the snapshot, changes go on from its revision.
    const after = slow.messages.indexOf(resync);
    backend.updateSession(4, { locked: true });
    const next = await slow.next((m) => m.event?.$case === "changes", after + 1);
    assert.ok(next.event?.$case === "changes");
    assert.equal(next.event.value.changes[0]?.revision, resync.revision + 1);
    assert.ok(changes > 0);
  });

  it("ends every watch when the agent drains, one whose reader reads nothing included", async (t) => {
    const { address, agent, backend } = await startHarness(t);
    const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
    t.after(() => raw.close());
    const reading = startWatch(raw, {}, t);
    const stuck = startWatch(raw, {}, t);
    await reading.next(isSnapshot());
    await stuck.next(isSnapshot());
    stuck.pause();
    const big = "X".repeat(8 * 1024);
    for (let i = 0; agent.watchStats().behind === 0; i++) {
      assert.ok(i < 10_000, "the watcher never fell behind");
      backend.updateSession(11, { clientName: `${big}${i}` });
      const revision = agent.watchStats().revision;
      await until(() => agent.watchStats().revision > revision);
    }
    const outcome = await agent.shutdown({ graceMs: 60_000 });
    assert.equal(outcome, "drained", "no watch held the drain until it was forced");
    assert.deepEqual(await reading.ended, { code: Status.OK, details: "OK" });
    assert.equal(Status[(await stuck.ended).code], "CANCELLED");
  });

  it("refuses watchers beyond the limit with RESOURCE_EXHAUSTED", async (t) => {
    const { address, agent } = await startHarness(t, { maxWatchers: 2 });
    const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
    t.after(() => raw.close());
    const first = startWatch(raw, {}, t);
    const second = startWatch(raw, {}, t);
    await first.next(isSnapshot());
    await second.next(isSnapshot());
    const third = startWatch(raw, {}, t);
    const refused = await third.ended;
    assert.equal(Status[refused.code], "RESOURCE_EXHAUSTED");
    assert.equal(refused.details, "too many watchers (limit 2); retry later");
    first.cancel();
    await until(() => agent.watchStats().watchers === 1);
    const fourth = startWatch(raw, {}, t);
    await fourth.next(isSnapshot());
  });

  it("sends heartbeats while nothing changes", async (t) => {
    const { address } = await startHarness(t, { watchHeartbeatIntervalMs: 20 });
    const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
    t.after(() => raw.close());
    const watch = startWatch(raw, {}, t);
    const snapshot = await watch.next(isSnapshot());
    const beat = await watch.next((m) => m.event?.$case === "heartbeat");
    assert.equal(beat.revision, snapshot.revision);
    assert.equal(beat.host, TEST_HOST);
  });

  it("refuses a request that does not decode with INVALID_ARGUMENT", async (t) => {
    const { address } = await startHarness(t);
    const raw = new Client(address, credentials.createInsecure());
    t.after(() => raw.close());
    // Field 1 (expected_host) announces 255 bytes and brings one.
    const stream = raw.makeServerStreamRequest(
      "/wms.v1.WmsSessionService/WatchSessions",
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      Buffer.from([0x0a, 0xff, 0x01, 0x41]),
    );
    stream.on("error", () => undefined);
    const status = await new Promise<StatusObject>((resolve) => stream.on("status", resolve));
    assert.equal(Status[status.code], "INVALID_ARGUMENT");
    assert.match(status.details, /^the WatchSessions request is not a valid message/);
  });

  it("refuses a watch meant for another host, or by an identity not allowed", async (t) => {
    const { address } = await startHarness(t, {
      authorize: (call) => {
        if (call.method.endsWith("/WatchSessions") && call.peer.startsWith("127.0.0.1:")) {
          return "watcher";
        }
        throw new AccessDeniedError(Status.PERMISSION_DENIED, `may not call ${call.method}`, "x");
      },
    });
    const raw = new WmsSessionServiceClient(address, credentials.createInsecure());
    t.after(() => raw.close());
    const wrong = await startWatch(raw, { expectedHost: "mps02.lab.example.com" }, t).ended;
    assert.equal(Status[wrong.code], "FAILED_PRECONDITION");
    assert.match(wrong.details, /mps02\.lab\.example\.com/);
    const other = await startHarness(t, {
      authorize: (call) => {
        throw new AccessDeniedError(Status.PERMISSION_DENIED, `may not call ${call.method}`, "x");
      },
    });
    const denied = await startWatch(other.client.raw, {}, t).ended;
    assert.deepEqual(denied, {
      code: Status.PERMISSION_DENIED,
      details: "may not call /wms.v1.WmsSessionService/WatchSessions",
    });
  });
});
