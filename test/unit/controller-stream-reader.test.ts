/**
 * StreamReader's read-ahead bound: it takes at most STREAM_READ_AHEAD_MESSAGES from a stream its
 * owner is not reading, then pauses it (what is left stays in the stream, where gRPC's flow
 * control holds the sender back), resumes when read, and delivers the status after the last
 * message. The stream is a real object-mode Readable, as grpc-js's client stream is.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { Metadata, status, type ClientReadableStream } from "@grpc/grpc-js";
import { STREAM_READ_AHEAD_MESSAGES, StreamReader } from "../../controller/stream-reader.js";

/** An object-mode stream with the two things the reader uses of a grpc-js call besides Readable. */
function fakeCall() {
  const stream = new Readable({ objectMode: true, read: () => undefined });
  let cancelled = false;
  const finish = (code: status, details: string) => {
    stream.push(null);
    stream.emit("status", { code, details, metadata: new Metadata() });
  };
  Object.assign(stream, {
    cancel: () => {
      cancelled = true;
      finish(status.CANCELLED, "Cancelled on client");
    },
  });
  return {
    call: stream as unknown as ClientReadableStream<number>,
    stream,
    finish,
    cancelled: () => cancelled,
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

void describe("StreamReader", () => {
  void it("pauses the stream after reading a bounded number of messages ahead", async () => {
    const { call, stream, finish } = fakeCall();
    const reader = new StreamReader(call, { firstMessageMs: 60_000, silenceMs: 60_000 });
    for (let i = 0; i < 100; i++) stream.push(i);
    await turn();
    assert.equal(stream.isPaused(), true);
    assert.ok(
      stream.readableLength >= 100 - STREAM_READ_AHEAD_MESSAGES - 1,
      `the rest waits in the stream (${stream.readableLength})`,
    );
    const seen: number[] = [];
    finish(status.OK, "");
    for (;;) {
      const step = await reader.next();
      if (step.status !== undefined) {
        assert.equal(step.status.code, status.OK);
        break;
      }
      seen.push(step.message);
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 100 }, (_, i) => i),
      "all of them, in order",
    );
  });

  void it("cancels a call whose first message does not come, and says why", async () => {
    const { call, cancelled } = fakeCall();
    // A real call's socket keeps the process alive while the reader's timer (unref'd) runs; the
    // fake holds nothing, so without this the test's process could end before the timer fires.
    const standIn = setInterval(() => undefined, 60_000);
    try {
      const reader = new StreamReader(call, { firstMessageMs: 1, silenceMs: 60_000 });
      const step = await reader.next();
      assert.equal(step.status?.code, status.CANCELLED);
      assert.equal(reader.cancelled, "first-message");
      assert.equal(cancelled(), true);
    } finally {
      clearInterval(standIn);
    }
  });
});
