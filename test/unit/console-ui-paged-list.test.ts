/**
 * The web UI's paged-list reader (console/ui/paged-list.ts), outside a browser: pages are read
 * one at a time and appended, a read clears the problem, a failure keeps what was read, the cap
 * stops the offer of older pages, and once closed (the list restarted) the reader aborts its read
 * and never reports again — the answer to an older page asked for before a filter changed cannot
 * reach the new filter's list, nor clear its `loading`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PagedListReader, type Page, type PagedListState } from "../../console/ui/paged-list.js";

/** A read the test answers when it chooses. */
interface HeldRead {
  readonly before: number | undefined;
  readonly signal: AbortSignal;
  readonly answer: (page: Page<string, number>) => Promise<void>;
  readonly fail: (error: Error) => Promise<void>;
}

/** A reader whose reads wait for the test, and every state it reported. */
function heldReader(options: { maxItems?: number; now?: () => number } = {}) {
  const reads: HeldRead[] = [];
  const states: PagedListState<string, number>[] = [];
  const reader = new PagedListReader<string, number>(
    (before, signal) =>
      new Promise<Page<string, number>>((resolve, reject) => {
        // Answering settles the read's promise; the reader's continuation runs a few microtasks
        // later, so each answer waits for a macrotask (no timer: setImmediate runs after them).
        const settled = () => new Promise<void>((done) => setImmediate(done));
        reads.push({
          before,
          signal,
          answer: (page) => (resolve(page), settled()),
          fail: (error) => (reject(error), settled()),
        });
      }),
    (state) => states.push(state),
    options,
  );
  const last = () => reader.state;
  return { reader, reads, states, last };
}

const page = (items: string[], next?: number): Page<string, number> => ({ items, next });

describe("PagedListReader", () => {
  it("reads the first page, then appends older ones on demand, one read at a time", async () => {
    let clock = 1000;
    const { reader, reads, last } = heldReader({ now: () => clock });
    assert.deepEqual(last(), {
      items: [],
      next: undefined,
      loading: true,
      problem: undefined,
      askedAtMs: undefined,
    });
    reader.start();
    assert.equal(reads.length, 1);
    assert.equal(reads[0]!.before, undefined);
    reader.older();
    assert.equal(reads.length, 1, "nothing older is asked for before the first page is in");
    clock = 2000;
    await reads[0]!.answer(page(["e9", "e8"], 8));
    assert.deepEqual(last(), {
      items: ["e9", "e8"],
      next: 8,
      loading: false,
      problem: undefined,
      askedAtMs: 1000,
    });

    reader.older();
    reader.older();
    assert.equal(reads.length, 2, "a second press while a page is read asks for nothing");
    assert.equal(reads[1]!.before, 8);
    assert.equal(last().loading, true);
    assert.deepEqual(last().items, ["e9", "e8"], "what was read stays while an older page is");
    await reads[1]!.answer(page(["e7"]));
    assert.deepEqual(last().items, ["e9", "e8", "e7"]);
    assert.equal(last().next, undefined);
    assert.equal(last().askedAtMs, 1000, "the first page's time, not an older page's");
    reader.older();
    assert.equal(reads.length, 2, "no older page: nothing is asked for");
  });

  it("clears the problem when a read starts, keeps what was read when one fails", async () => {
    const { reader, reads, last, states } = heldReader();
    reader.start();
    await reads[0]!.answer(page(["e9"], 9));
    const refused = new Error("HTTP 503");
    reader.older();
    await reads[1]!.fail(refused);
    assert.deepEqual(last(), {
      items: ["e9"],
      next: 9,
      loading: false,
      problem: refused,
      askedAtMs: last().askedAtMs,
    });
    reader.older();
    assert.equal(reads[2]!.before, 9, "the same page again");
    assert.equal(last().problem, undefined, "the problem is cleared as the read starts");
    assert.equal(last().loading, true);
    await reads[2]!.answer(page(["e8"]));
    assert.deepEqual(last().items, ["e9", "e8"]);
    assert.deepEqual(
      states.map((state) => state.loading),
      [true, false, true, false, true, false],
    );
  });

  it("keeps at most maxItems and then offers no older page", async () => {
    const { reader, reads, last } = heldReader({ maxItems: 3 });
    reader.start();
    await reads[0]!.answer(page(["a", "b"], 2));
    assert.equal(last().next, 2, "under the cap: the older page is offered");
    reader.older();
    await reads[1]!.answer(page(["c", "d"], 4));
    assert.deepEqual(last().items, ["a", "b", "c"]);
    assert.equal(last().next, undefined);
    assert.throws(
      () =>
        new PagedListReader(
          () => Promise.reject(new Error()),
          () => {},
          { maxItems: 0 },
        ),
      {
        name: "TypeError",
        message: "maxItems: 0 is not a number of items",
      },
    );
  });

  it("once closed, aborts the older page being read and lets its answer change nothing", async () => {
    const { reader, reads, states } = heldReader();
    reader.start();
    await reads[0]!.answer(page(["old filter 9", "old filter 8"], 8));
    reader.older();
    const older = reads[1]!;
    const reported = states.length;
    // The filter changes: the list's reader is closed (a new one reads the new filter's list).
    reader.close();
    assert.equal(older.signal.aborted, true, "the older page's request is aborted");
    // Even if its answer comes anyway (a fetch that ignored the abort), nothing is reported.
    await older.answer(page(["old filter 7"]));
    assert.equal(states.length, reported, "the closed reader reports nothing");
    reader.older();
    assert.equal(reads.length, 2, "a closed reader reads nothing");
  });

  it("once closed, a first page that fails as aborted reports no problem and no end of loading", async () => {
    const { reader, reads, states } = heldReader();
    reader.start();
    reader.close();
    assert.equal(reads[0]!.signal.aborted, true);
    await reads[0]!.fail(new DOMException("This operation was aborted", "AbortError"));
    assert.deepEqual(
      states.map((state) => [state.loading, state.problem]),
      [[true, undefined]],
      "only the start of the read, never its end: the next list's loading is its own",
    );
  });
});
