/**
 * How the controller turns many hosts' streams into one: every host is an async source of items
 * (a watch's events, without end), and {@link mergeSources} yields their items as they come.
 * (Unary calls, one result per host, go through the fan-out's pool of workers instead.) It pulls at most one item ahead per
 * source, so a consumer that reads slowly slows the sources down (a watch's gRPC stream stops
 * being read, and HTTP/2 flow control tells the agent) instead of growing a queue: at most one
 * item per source is ever buffered here.
 */

type Settled<T> =
  | { readonly index: number; readonly result: IteratorResult<T, unknown> }
  | { readonly index: number; readonly error: unknown };

/**
 * Yields the items of every source in the order they arrive, until every source is done.
 *
 * - A source that throws makes the merge throw that error (after the others are stopped): a
 *   source reports its failures as items, and a throw is a bug or a cancellation.
 * - `signal` aborting makes the merge throw its reason at once; sources are expected to watch the
 *   same signal and end.
 * - Leaving early (`break`, a throw in the consumer) calls `return()` on every source still
 *   running, so their `finally` blocks run (cancelling calls in flight).
 */
export async function* mergeSources<T>(
  sources: readonly AsyncIterable<T>[],
  signal: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  signal.throwIfAborted();
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const running = new Set<number>(iterators.keys());
  const ready: Settled<T>[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const pull = (index: number) => {
    (iterators[index] as AsyncIterator<T>).next().then(
      (result) => {
        ready.push({ index, result });
        notify();
      },
      (error: unknown) => {
        ready.push({ index, error });
        notify();
      },
    );
  };
  signal.addEventListener("abort", notify);
  try {
    for (const index of running) pull(index);
    while (running.size > 0) {
      while (ready.length === 0) {
        signal.throwIfAborted();
        await new Promise<void>((resolve) => (wake = resolve));
      }
      signal.throwIfAborted();
      const item = ready.shift() as Settled<T>;
      if ("error" in item) {
        running.delete(item.index);
        throw item.error;
      }
      if (item.result.done === true) {
        running.delete(item.index);
        continue;
      }
      yield item.result.value;
      pull(item.index);
    }
  } finally {
    signal.removeEventListener("abort", notify);
    // A source whose next() is still pending gets its return() queued behind it; nothing waits
    // for that here (the sources end with the signal), but a rejection must not go unhandled.
    for (const index of running) {
      void (iterators[index] as AsyncIterator<T>).return?.()?.catch(() => undefined);
    }
  }
}
