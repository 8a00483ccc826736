/**
 * A cap on connection attempts in progress at once. grpc-js can block the event loop for hundreds
 * of milliseconds while many subchannels start connecting (TLS handshakes, name resolution); a
 * console that watches a thousand hosts opens their streams a few dozen at a time instead, and
 * does the same when they all come back after a network outage.
 */

/** A counting semaphore whose waiters are served in order. */
export class ConnectSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new TypeError(`maxConcurrentConnects must be an integer ≥ 1, not ${size}`);
    }
    this.#free = size;
  }

  /** Attempts in progress. */
  get busy(): number {
    return this.size - this.#free;
  }

  /**
   * Waits for a free slot; resolves with the function that frees it (call it once; later calls
   * do nothing). Rejects with the signal's reason when it aborts first.
   */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#free > 0) {
      this.#free -= 1;
    } else {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const index = this.#waiting.indexOf(wake);
          if (index >= 0) this.#waiting.splice(index, 1);
          reject(signal.reason as Error);
        };
        this.#waiting.push(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#free += 1;
      else next();
    };
  }
}
