/**
 * Reads a grpc-js server stream one message at a time, with backpressure and a silence timer:
 * the stream is paused while {@link STREAM_READ_AHEAD_MESSAGES} messages wait unread (so HTTP/2
 * flow control, not memory, absorbs a slow reader), and a stream that delivers nothing for a
 * while is cancelled. The end is the call's status, delivered after every message before it.
 */
import { type ClientReadableStream, type StatusObject } from "@grpc/grpc-js";

/**
 * Messages read ahead of the consumer before the stream is paused: enough to smooth a burst,
 * few enough that a paused watch holds little (each message may be a whole snapshot).
 */
export const STREAM_READ_AHEAD_MESSAGES = 16;

/** One step of a stream: a message, or its end with the call's status. */
export type StreamStep<T> =
  | { readonly message: T; readonly status?: undefined }
  | { readonly status: StatusObject; readonly message?: undefined };

/**
 * Why the reader itself cancelled the call: no first message in time, a silence after it, or
 * {@link StreamReader.cancel} by its owner.
 */
export type ReaderCancel = "first-message" | "silence" | "stop";

/** Timers of a {@link StreamReader}, in milliseconds. */
export interface StreamReaderTimeouts {
  /** Cancel the call when its first message has not arrived this long after the start. */
  readonly firstMessageMs: number;
  /**
   * Cancel the call when no message arrives for this long after the first, while the stream is
   * read (a stream the reader paused is not silent: the reader stopped it).
   */
  readonly silenceMs: number;
}

/** A stream being read. Call {@link StreamReader.next} until it returns a status. */
export class StreamReader<T> {
  readonly #call: ClientReadableStream<T>;
  readonly #queue: T[] = [];
  readonly #timeouts: StreamReaderTimeouts;
  #received = false;
  #timer: NodeJS.Timeout | undefined;
  #status: StatusObject | undefined;
  #ended = false;
  #paused = false;
  #wake: (() => void) | undefined;
  /** Set when the reader cancelled the call: the status then says `CANCELLED`, this says why. */
  cancelled: ReaderCancel | undefined;

  constructor(call: ClientReadableStream<T>, timeouts: StreamReaderTimeouts) {
    this.#call = call;
    this.#timeouts = timeouts;
    call.on("data", (message: T) => {
      this.#queue.push(message);
      if (!this.#received) {
        this.#received = true;
        this.#startTimer();
      } else {
        this.#timer?.refresh();
      }
      if (this.#queue.length >= STREAM_READ_AHEAD_MESSAGES && !this.#paused) {
        this.#paused = true;
        call.pause();
        this.#stopTimer();
      }
      this.#notify();
    });
    // The status event carries every error; without a listener, 'error' would throw.
    call.on("error", () => undefined);
    call.on("status", (status: StatusObject) => {
      this.#status = status;
      this.#stopTimer();
      this.#notify();
    });
    call.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    this.#startTimer();
  }

  /** The next message, or the status once every message has been read. */
  async next(): Promise<StreamStep<T>> {
    for (;;) {
      const message = this.#queue.shift();
      if (message !== undefined) {
        if (this.#paused && this.#queue.length < STREAM_READ_AHEAD_MESSAGES / 2) {
          this.#paused = false;
          this.#call.resume();
          if (this.#status === undefined) this.#startTimer();
        }
        return { message };
      }
      // 'end' comes after the last message; a status without it may still have messages behind.
      if (this.#status !== undefined && (this.#ended || this.#call.destroyed)) {
        return { status: this.#status };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Cancels the call (its status becomes `CANCELLED`), remembering why. Idempotent. */
  cancel(why: ReaderCancel): void {
    this.cancelled ??= why;
    this.#stopTimer();
    if (this.#status === undefined) this.#call.cancel();
    // A paused stream must flow again for its end to arrive.
    if (this.#paused) {
      this.#paused = false;
      this.#call.resume();
    }
  }

  #startTimer(): void {
    this.#stopTimer();
    const [why, ms]: [ReaderCancel, number] = this.#received
      ? ["silence", this.#timeouts.silenceMs]
      : ["first-message", this.#timeouts.firstMessageMs];
    this.#timer = setTimeout(() => this.cancel(why), ms);
    // The call keeps the process alive while it runs; its timer need not.
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }
}
