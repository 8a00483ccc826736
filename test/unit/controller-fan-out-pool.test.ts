/**
 * The fan-out's pool of workers, with calls a test finishes by hand (no agent: the channels are
 * made but never dialled): never more than `throttle` calls in flight, every host called once and
 * reported once in the order hosts finish, a consumer slower than the calls still gets every
 * result, and leaving the loop early cancels the calls in flight and starts no more.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { ChannelPool } from "../../controller/channel-pool.js";
import { resolveControllerOptions } from "../../controller/controller-options.js";
import { fanOut, type AttemptContext } from "../../controller/fan-out.js";
import { resolveTargets } from "../../controller/index.js";

const hosts = (n: number) =>
  resolveTargets({
    servers: Array.from({ length: n }, (_, i) => `lab-${String(i + 1).padStart(2, "0")}.test`),
  });

/** Calls the test answers: each waits until `finish(host)`; records what was called when. */
function handCalls() {
  const waiting = new Map<string, { context: AttemptContext; done: (value: string) => void }>();
  const called: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const started: (() => void)[] = [];
  return {
    called,
    waiting,
    get mostInFlight() {
      return mostInFlight;
    },
    call(context: AttemptContext): Promise<string> {
      called.push(context.target.fqdn);
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      return new Promise<string>((resolve, reject) => {
        waiting.set(context.target.fqdn, {
          context,
          done: (value) => {
            inFlight -= 1;
            waiting.delete(context.target.fqdn);
            resolve(value);
          },
        });
        context.signal.addEventListener("abort", () => {
          inFlight -= 1;
          waiting.delete(context.target.fqdn);
          reject(new Error("cancelled"));
        });
        for (const wake of started.splice(0)) wake();
      });
    },
    /** Resolves once `count` calls are waiting. */
    async untilWaiting(count: number): Promise<void> {
      while (waiting.size < count) await new Promise<void>((resolve) => started.push(resolve));
    },
    /** Resolves once `host` is called and waiting. */
    async untilCalled(host: string): Promise<void> {
      while (!waiting.has(host)) await new Promise<void>((resolve) => started.push(resolve));
    },
    finish(host: string): void {
      const call = waiting.get(host);
      assert.ok(call, `${host} is not waiting`);
      call.done(`answer of ${host}`);
    },
  };
}

void describe("fan-out pool", () => {
  const options = resolveControllerOptions({
    credentials: credentials.createInsecure(),
    throttle: 3,
  });

  void it("keeps at most `throttle` calls in flight and reports each host once, as it finishes", async () => {
    const pool = new ChannelPool({ credentials: credentials.createInsecure() });
    const calls = handCalls();
    const targets = hosts(7);
    try {
      const results = fanOut(targets, "GetAgentInfo", (c) => calls.call(c), pool, options);
      const reported: string[] = [];
      const reading = (async () => {
        for await (const result of results) {
          assert.equal(result.status, "ok");
          reported.push(result.host);
          // A slow consumer: the calls go on meanwhile.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await calls.untilWaiting(3);
      assert.deepEqual(calls.called, ["lab-01.test", "lab-02.test", "lab-03.test"]);
      // Out of order: each finished call makes room for the next host.
      const order = [2, 3, 1, 5, 4, 7, 6].map((i) => `lab-0${i}.test`);
      for (const host of order) {
        await calls.untilCalled(host);
        calls.finish(host);
      }
      await reading;
      assert.equal(calls.mostInFlight, 3);
      assert.deepEqual(
        calls.called,
        targets.map((t) => t.fqdn),
      );
      assert.deepEqual(reported, order);
    } finally {
      pool.close();
    }
  });

  void it("leaving the loop early cancels the calls in flight and starts no more", async () => {
    const pool = new ChannelPool({ credentials: credentials.createInsecure() });
    const calls = handCalls();
    try {
      const results = fanOut(hosts(10), "GetAgentInfo", (c) => calls.call(c), pool, options);
      const first = (async () => {
        for await (const result of results) return result;
        return undefined;
      })();
      await calls.untilWaiting(3);
      const signals = [...calls.waiting.values()].map((w) => w.context.signal);
      calls.finish("lab-01.test");
      assert.equal((await first)?.host, "lab-01.test");
      // The two still in flight were cancelled; the one the finished call's worker may have
      // begun before the consumer left was too; nothing began after.
      assert.ok(signals.every((signal) => signal.aborted));
      assert.equal(calls.waiting.size, 0);
      const begun = calls.called.length;
      assert.ok(begun <= 4, `${begun} calls began`);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(calls.called.length, begun);
    } finally {
      pool.close();
    }
  });
});
