/**
 * The controller's watch against real agents: a change made by another client reaches every
 * watcher once and in order; an agent that restarts is a `disconnected` event, then the watch
 * is back by itself with a snapshot that says it resumed; an abort ends everything.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { startAgent } from "../../agent/server/agent.js";
import { createSimulatedBackend } from "../../agent/backends/simulated.js";
import {
  createController,
  type Controller,
  type ControllerOptions,
  type WatchEvent,
} from "../../controller/index.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { startFleet, stopFleet, type FleetHost } from "../helpers/controller-fleet.js";

const H1 = "h1.lab.example.com";
const H2 = "h2.lab.example.com";

const OPTIONS: ControllerOptions = {
  credentials: credentials.createInsecure(),
  // Short waits between reconnections: the restarted agent is back at once.
  watchReconnectBaseDelayMs: 20,
  watchReconnectMaxDelayMs: 200,
  reconnectWindowMs: 0,
};

/** Reads events from a watch into a list, and lets a test wait for one it expects. */
function record(controller: Controller, targets: FleetHost[], signal: AbortSignal) {
  const events: WatchEvent[] = [];
  const waiters: { test: (e: WatchEvent) => boolean; resolve: (e: WatchEvent) => void }[] = [];
  const done = (async () => {
    try {
      for await (const event of controller.watch(
        targets.map((h) => h.target),
        { signal },
      )) {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.test(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  })();
  /** The first event, seen or to come, that passes `test`. */
  const next = (test: (e: WatchEvent) => boolean) => {
    const seen = events.find(test);
    return seen !== undefined
      ? Promise.resolve(seen)
      : new Promise<WatchEvent>((resolve) => waiters.push({ test, resolve }));
  };
  return { events, next, done };
}

void describe("controller watch against real agents", () => {
  let fleet: FleetHost[] = [];
  let controllers: Controller[] = [];

  beforeEach(async () => {
    fleet = await startFleet([{ fqdn: H1 }, { fqdn: H2 }]);
    controllers = [];
  });
  afterEach(async () => {
    for (const controller of controllers) controller.close();
    await stopFleet(fleet);
  });

  void it("tells every watcher of a change made by another client, once and in order", async () => {
    const stop = new AbortController();
    const watchers = [createController(OPTIONS), createController(OPTIONS)];
    const actor = createController(OPTIONS);
    controllers.push(...watchers, actor);
    const watches = watchers.map((c) => record(c, fleet, stop.signal));
    for (const watch of watches) {
      for (const fqdn of [H1, H2]) {
        await watch.next((e) => e.kind === "snapshot" && e.host === fqdn);
      }
    }
    for await (const result of actor.disconnect(
      [fleet[0]?.target].filter((t) => t !== undefined),
      [2, 3],
    )) {
      assert.equal(result.status, "ok");
    }
    const changed = (e: WatchEvent, id: number) =>
      e.kind === "changes" &&
      e.changes.some(
        (c) => c.session?.sessionId === id && c.session.state === SessionState.DISCONNECTED,
      );
    for (const watch of watches) {
      await watch.next((e) => changed(e, 3));
      const changes = watch.events.flatMap((e) =>
        e.kind === "changes" && e.host === H1 ? e.changes : [],
      );
      const ids = changes.map((c) => c.session?.sessionId);
      assert.deepEqual(ids, [2, 3], "each change once, in the order made");
      const revisions = changes.map((c) => c.revision);
      assert.equal(revisions[1], (revisions[0] ?? 0) + 1, "consecutive revisions");
      assert.equal(
        watch.events.filter((e) => e.host === H2 && e.kind === "changes").length,
        0,
        "nothing happened on h2",
      );
    }
    stop.abort(new Error("done"));
    await Promise.all(watches.map((w) => w.done));
  });

  void it("reports an agent that restarts, and is back with a resumed snapshot", async () => {
    const stop = new AbortController();
    const watcher = createController(OPTIONS);
    controllers.push(watcher);
    const watch = record(watcher, fleet, stop.signal);
    await watch.next((e) => e.kind === "snapshot" && e.host === H1);
    const h1 = fleet[0] as FleetHost;
    const port = h1.agent.ports[0] as number;
    await h1.agent.shutdown({ graceMs: 0 });
    const lost = await watch.next((e) => e.kind === "disconnected" && e.host === H1);
    assert.ok(lost.kind === "disconnected");
    assert.equal(lost.wasConnected, true);
    assert.ok(["ended", "unreachable", "failed"].includes(lost.status), lost.status);

    const backend = createSimulatedBackend();
    const agent = await startAgent({
      hostFqdn: H1,
      backend,
      listen: [`127.0.0.1:${port}`],
      graceMs: 0,
      healthIntervalMs: 60_000,
    });
    fleet[0] = { ...h1, agent, backend };
    const back = await watch.next((e) => e.kind === "connected" && e.host === H1 && e.reconnected);
    assert.ok(back.kind === "connected");
    const resumed = await watch.next(
      (e) => e.kind === "snapshot" && e.host === H1 && e.cause === "reconnect",
    );
    assert.ok(resumed.kind === "snapshot" && resumed.sessions.length > 0);
    // h2 never noticed a thing.
    assert.equal(watch.events.filter((e) => e.host === H2 && e.kind === "disconnected").length, 0);
    stop.abort(new Error("done"));
    await watch.done;
  });
});
