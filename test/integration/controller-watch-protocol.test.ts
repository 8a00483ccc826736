/**
 * The controller's watch against agents that misbehave in ways a real agent should not, over real
 * gRPC: it checks what the contract promises (a snapshot first, revisions without gaps, the host
 * asked), notices silence, reconnects after each of these with a fresh snapshot, and loses
 * nothing when its consumer stops reading for a while (the agent's writes are held back).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials, status } from "@grpc/grpc-js";
import {
  createController,
  type ControllerOptions,
  type WatchEvent,
} from "../../controller/index.js";
import {
  changesMessage,
  scriptSession,
  snapshotMessage,
  startScriptedWatchAgent,
  type ScriptedWatchAgent,
} from "../helpers/scripted-watch-agent.js";

const HOST = "watch.lab.example.com";

// How far the reader reads ahead (16 messages, then the stream is paused) is
// test/unit/controller-stream-reader.test.ts; here the pauses and resumes run over real gRPC.

const OPTIONS: ControllerOptions = {
  credentials: credentials.createInsecure(),
  watchReconnectBaseDelayMs: 20,
  watchReconnectMaxDelayMs: 50,
};

/** Runs a watch, collecting events until `stop` says so; closes everything after. */
async function watchUntil(
  agent: ScriptedWatchAgent,
  stop: (events: WatchEvent[]) => boolean,
  options: Partial<ControllerOptions> = {},
): Promise<WatchEvent[]> {
  const controller = createController({ ...OPTIONS, ...options });
  const events: WatchEvent[] = [];
  try {
    for await (const event of controller.watch([agent.target])) {
      events.push(event);
      if (stop(events)) break;
    }
  } finally {
    controller.close();
    await agent.close();
  }
  return events;
}

const kinds = (events: WatchEvent[]) =>
  events.map((e) => (e.kind === "snapshot" ? `snapshot:${e.cause}` : e.kind));

void describe("controller watch protocol checks", () => {
  void it("reports snapshot, changes and heartbeat, then reconnects after a drain with a resumed snapshot", async () => {
    const agent = await startScriptedWatchAgent(HOST, (call, index) => {
      if (index === 0) {
        call.write(snapshotMessage(HOST, 3, [scriptSession(1)]));
        call.write(changesMessage(HOST, [4, 5]));
        call.write({
          host: HOST,
          revision: 5,
          event: { $case: "heartbeat", value: { time: new Date() } },
        });
        call.end(); // a drain: the agent ends the stream with OK
      } else {
        call.write(snapshotMessage(HOST, 1, [scriptSession(2)]));
      }
    });
    const events = await watchUntil(
      agent,
      (list) => list.filter((e) => e.kind === "snapshot").length === 2,
    );
    assert.deepEqual(kinds(events), [
      "connected",
      "snapshot:initial",
      "changes",
      "heartbeat",
      "disconnected",
      "connected",
      "snapshot:reconnect",
    ]);
    const [connected, snapshot, changes, , lost, again] = events;
    assert.equal(connected?.kind === "connected" && connected.reconnected, false);
    assert.equal(snapshot?.kind === "snapshot" && snapshot.revision, 3);
    assert.deepEqual(changes?.kind === "changes" && changes.changes.map((c) => c.revision), [4, 5]);
    assert.ok(lost?.kind === "disconnected");
    assert.equal(lost.status, "ended");
    assert.equal(lost.wasConnected, true);
    assert.equal(lost.failures, 1);
    assert.ok(lost.retryInMs >= 10 && lost.retryInMs < 20, `retry in ${lost.retryInMs} ms`);
    assert.equal(again?.kind === "connected" && again.reconnected, true);
    assert.equal(
      events.every((e) => e.host === HOST),
      true,
    );
  });

  void it("treats a revision gap, a first message that is no snapshot, and a wrong host as lost streams", async () => {
    const agent = await startScriptedWatchAgent(HOST, (call, index) => {
      if (index === 0) {
        call.write(snapshotMessage(HOST, 1, []));
        call.write(changesMessage(HOST, [3])); // revision 2 never came
      } else if (index === 1) {
        call.write(changesMessage(HOST, [1]));
      } else if (index === 2) {
        call.write(snapshotMessage("elsewhere.lab.example.com", 1, []));
      } else {
        call.write(snapshotMessage(HOST, 9, []));
      }
    });
    const events = await watchUntil(
      agent,
      (list) => list.filter((e) => e.kind === "snapshot").length === 2,
    );
    const lost = events.filter((e) => e.kind === "disconnected");
    assert.deepEqual(
      lost.map((e) => [e.status, e.code, e.message, e.wasConnected, e.failures]),
      [
        ["failed", "DATA_LOSS", "changes skipped from revision 1 to 3; resynchronising", true, 1],
        ["failed", "DATA_LOSS", "the watch began with changes, not a snapshot", false, 2],
        [
          "failed",
          "DATA_LOSS",
          `the agent answered as "elsewhere.lab.example.com", not ${HOST}`,
          false,
          3,
        ],
      ],
    );
    assert.match(
      lost[0]?.error?.message ?? "",
      /^watch\.lab\.example\.com WmsSessionService\/WatchSessions DATA_LOSS: /,
    );
    const last = events.at(-1);
    assert.equal(last?.kind === "snapshot" && last.cause, "reconnect");
    // Every stream the controller gave up on was cancelled, not left open.
    for (const call of agent.calls.slice(0, 3)) assert.equal(call.cancelled, true);
  });

  void it("accepts the agent's own name when it was asked as localhost (the default target)", async () => {
    const agent = await startScriptedWatchAgent("localhost", (call) => {
      call.write(snapshotMessage("mps01.lab.example.com", 1, [scriptSession(1)]));
    });
    const events = await watchUntil(agent, (list) => list.some((e) => e.kind === "snapshot"));
    assert.deepEqual(kinds(events), ["connected", "snapshot:initial"]);
    assert.equal(events[1]?.host, "localhost", "events name the target as it was asked");
  });

  void it("reconnects a stream that goes silent, and one the agent refuses, with growing backoff", async () => {
    const agent = await startScriptedWatchAgent(HOST, (call, index) => {
      if (index === 0)
        call.write(snapshotMessage(HOST, 1, [])); // then nothing, not a heartbeat
      else if (index < 3) call.emit("error", { code: status.PERMISSION_DENIED, details: "no" });
      else call.write(snapshotMessage(HOST, 1, []));
    });
    const events = await watchUntil(
      agent,
      (list) => list.filter((e) => e.kind === "snapshot").length === 2,
      { watchSilenceTimeoutMs: 200 },
    );
    const lost = events.filter((e) => e.kind === "disconnected");
    assert.deepEqual(
      lost.map((e) => [e.status, e.code, e.failures]),
      [
        ["timeout", "DEADLINE_EXCEEDED", 1],
        ["denied", "PERMISSION_DENIED", 2],
        ["denied", "PERMISSION_DENIED", 3],
      ],
    );
    assert.equal(lost[0]?.message, "nothing received for 200 ms, not even a heartbeat");
    assert.ok((lost[2]?.retryInMs ?? 0) >= 25, "the third wait is at least half the cap");
  });

  void it("delivers every change in order through a consumer that stops and resumes reading", async () => {
    let heldBack = false;
    const agent = await startScriptedWatchAgent(HOST, (call) => {
      call.write(snapshotMessage(HOST, 0, []));
      const padding = "x".repeat(4096);
      let revision = 0;
      const writeMore = () => {
        while (revision < 10_000) {
          revision++;
          const message = changesMessage(HOST, [revision]);
          const change =
            message.event?.$case === "changes" ? message.event.value.changes[0] : undefined;
          if (change?.session !== undefined) change.session.clientName = padding;
          if (!call.write(message)) {
            heldBack = true;
            call.once("drain", writeMore);
            return;
          }
        }
        call.end();
      };
      writeMore();
    });
    const controller = createController(OPTIONS);
    try {
      const events = controller.watch([agent.target])[Symbol.asyncIterator]();
      assert.equal(((await events.next()).value as WatchEvent).kind, "connected");
      assert.equal(((await events.next()).value as WatchEvent).kind, "snapshot");
      // The consumer stops reading here until the agent's writes are held back.
      while (!heldBack) await new Promise((resolve) => setImmediate(resolve));
      // Reading on delivers every change in order: nothing was dropped while held back.
      let expected = 1;
      while (expected <= 10_000) {
        const event = (await events.next()).value as WatchEvent;
        assert.equal(event.kind, "changes");
        for (const change of event.kind === "changes" ? event.changes : []) {
          assert.equal(change.revision, expected++);
        }
      }
      await events.return?.();
    } finally {
      controller.close();
      await agent.close();
    }
  });

  void it("stops on abort with the signal's reason, cancelling the stream", async () => {
    const agent = await startScriptedWatchAgent(HOST, (call) => {
      call.write(snapshotMessage(HOST, 1, []));
    });
    const controller = createController(OPTIONS);
    const abort = new AbortController();
    try {
      await assert.rejects(async () => {
        for await (const event of controller.watch([agent.target], { signal: abort.signal })) {
          if (event.kind === "snapshot") abort.abort(new Error("operator stopped the watch"));
        }
      }, /operator stopped the watch/);
      const call = agent.calls[0];
      assert.ok(call !== undefined);
      if (!call.cancelled) await new Promise((resolve) => call.once("cancelled", resolve));
    } finally {
      controller.close();
      await agent.close();
    }
  });
});
