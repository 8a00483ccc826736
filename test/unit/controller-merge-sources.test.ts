/**
 * mergeSources, the one fan-out of the controller: items as they come, at most one read ahead per
 * source, sources stopped when the consumer leaves, the signal's reason thrown on abort.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergeSources } from "../../controller/merge-sources.js";
import { until } from "../helpers/until.js";

/** A source whose items are released one by one by the test. */
function gatedSource(name: string, count: number) {
  const log: string[] = [];
  const gates: (() => void)[] = [];
  let pulled = 0;
  let finished = false;
  async function* source(): AsyncGenerator<string> {
    try {
      for (let i = 0; i < count; i++) {
        pulled++;
        await new Promise<void>((resolve) => gates.push(resolve));
        yield `${name}${i}`;
      }
    } finally {
      finished = true;
      log.push(`${name} finally`);
    }
  }
  return {
    source: source(),
    release: () => gates.shift()?.(),
    pulled: () => pulled,
    waiting: () => gates.length,
    finished: () => finished,
    log,
  };
}

void describe("mergeSources", () => {
  void it("yields items in the order the sources produce them, pulling one ahead per source", async () => {
    const a = gatedSource("a", 2);
    const b = gatedSource("b", 2);
    const merged = mergeSources([a.source, b.source], new AbortController().signal);
    const first = merged.next();
    await until(() => a.pulled() === 1 && b.pulled() === 1);
    b.release();
    assert.deepEqual(await first, { value: "b0", done: false });
    // Nothing more is read from b until its item is taken and the next one asked for.
    assert.equal(b.pulled(), 1);
    const second = merged.next();
    await until(() => b.pulled() === 2);
    assert.equal(a.pulled(), 1);
    a.release();
    assert.deepEqual(await second, { value: "a0", done: false });
    const rest: string[] = [];
    for (;;) {
      let settled = false;
      const next = merged.next().finally(() => (settled = true));
      // Release whichever source now waits at a gate (a is pulled again only by this next()).
      await until(() => settled || a.waiting() + b.waiting() > 0);
      a.release();
      b.release();
      const item = await next;
      if (item.done === true) break;
      rest.push(item.value);
    }
    assert.deepEqual(rest.sort(), ["a1", "b1"]);
    assert.ok(a.finished() && b.finished());
  });

  void it("stops every source still running when the consumer leaves early", async () => {
    const a = gatedSource("a", 3);
    const b = gatedSource("b", 3);
    const merged = mergeSources([a.source, b.source], new AbortController().signal);
    const first = merged.next();
    await until(() => a.pulled() === 1 && b.pulled() === 1);
    a.release();
    assert.equal((await first).value, "a0");
    await merged.return(undefined);
    // Their pending next() must settle before the queued return() runs: release them.
    a.release();
    b.release();
    await until(() => a.finished() && b.finished());
    assert.deepEqual([...a.log, ...b.log].sort(), ["a finally", "b finally"]);
  });

  void it("throws the signal's reason when it aborts, and a source's error as it comes", async () => {
    const controller = new AbortController();
    const a = gatedSource("a", 1);
    const merged = mergeSources([a.source], controller.signal);
    const pending = merged.next();
    await until(() => a.pulled() === 1);
    controller.abort(new Error("stop now"));
    await assert.rejects(pending, /stop now/);
    a.release();

    async function* broken(): AsyncGenerator<string> {
      yield* [];
      await Promise.resolve();
      throw new Error("source broke");
    }
    await assert.rejects(async () => {
      for await (const item of mergeSources([broken()], new AbortController().signal)) {
        assert.fail(`unexpected ${item}`);
      }
    }, /source broke/);
  });

  void it("ends at once with no sources", async () => {
    const items: unknown[] = [];
    for await (const item of mergeSources([], new AbortController().signal)) items.push(item);
    assert.deepEqual(items, []);
  });
});
