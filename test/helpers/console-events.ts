/**
 * Waiting for the console's view to reach a state, without sleeping: a predicate checked now and
 * after every fleet event; and a reader of `GET /api/v1/events` that parses the SSE frames.
 */
import type { ApiEvent } from "../../console/api/types.js";
import type { Fleet } from "../../console/fleet/fleet.js";

/** Resolves once `predicate()` holds (checked now and after each event of the fleet). */
export function waitForFleet(fleet: Fleet, predicate: () => boolean): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = fleet.subscribe(() => {
      if (!predicate()) return;
      stop();
      resolve();
    });
  });
}

/** An open event stream. */
export interface EventStream {
  /** Resolves with the first event (received or to come) that matches; earlier ones are kept. */
  next(predicate: (event: ApiEvent) => boolean): Promise<ApiEvent>;
  /** Every event so far. */
  readonly events: ApiEvent[];
  /** Every comment line so far (`keep-alive`). */
  readonly comments: string[];
  close(): void;
}

/** Opens `GET /api/v1/events` with `headers`; resolves once the answer's headers came. */
export async function openEvents(
  url: string,
  headers: Record<string, string>,
): Promise<EventStream & { response: Response }> {
  const abort = new AbortController();
  const response = await fetch(`${url}/api/v1/events`, { headers, signal: abort.signal });
  const events: ApiEvent[] = [];
  const comments: string[] = [];
  let waiters: { predicate: (e: ApiEvent) => boolean; resolve: (e: ApiEvent) => void }[] = [];
  const deliver = (event: ApiEvent) => {
    events.push(event);
    waiters = waiters.filter((waiter) => {
      if (!waiter.predicate(event)) return true;
      waiter.resolve(event);
      return false;
    });
  };
  if (response.body !== null && response.status === 200) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split("\n")
              .filter((line) => line.startsWith("data: "))
              .map((line) => line.slice(6))
              .join("\n");
            if (block.startsWith(":")) comments.push(block.slice(1).trim());
            else if (data !== "") deliver(JSON.parse(data) as ApiEvent);
          }
        }
      } catch {
        // Closed.
      }
    })();
  }
  return {
    response,
    events,
    comments,
    next(predicate) {
      const seen = events.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    close: () => abort.abort(),
  };
}
