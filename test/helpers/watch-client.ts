/**
 * A `WatchSessions` stream as a test reads it: every message kept in order, a promise for the
 * next one that matches, the final status, and control over reading (a paused watch is a slow
 * watcher: its messages pile up in the agent's buffers until it resumes).
 */
import type { ClientReadableStream, ServiceError, StatusObject } from "@grpc/grpc-js";
import {
  WatchSessionsRequest,
  type SessionChange,
  type SnapshotReason,
  type WatchSessionsResponse,
  type WmsSessionServiceClient,
} from "../../proto/gen/wms/v1/wms_session.js";

/** A watch in progress. */
export interface TestWatch {
  readonly stream: ClientReadableStream<WatchSessionsResponse>;
  /** Every message so far, in order. */
  readonly messages: WatchSessionsResponse[];
  /** The first message (seen or to come) after the `from`-th that matches. */
  next(
    predicate?: (message: WatchSessionsResponse) => boolean,
    from?: number,
  ): Promise<WatchSessionsResponse>;
  /** Every change so far, in the order received. */
  changes(): SessionChange[];
  /** Resolves with the status the stream ended with (OK included); never rejects. */
  readonly ended: Promise<{ code: number; details: string }>;
  pause(): void;
  resume(): void;
  cancel(): void;
}

/** Starts a watch on `client`; it is cancelled after the test if still open. */
export function startWatch(
  client: WmsSessionServiceClient,
  request: Partial<WatchSessionsRequest> = {},
  t?: { after(fn: () => void): void },
): TestWatch {
  const stream = client.watchSessions(WatchSessionsRequest.fromPartial(request));
  const messages: WatchSessionsResponse[] = [];
  const waiters: {
    predicate: (message: WatchSessionsResponse) => boolean;
    from: number;
    resolve: (message: WatchSessionsResponse) => void;
    reject: (error: Error) => void;
  }[] = [];
  let finished: { code: number; details: string } | undefined;
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    stream.on("status", (status: StatusObject) => {
      finished = { code: status.code, details: status.details };
      resolve(finished);
      for (const waiter of waiters.splice(0)) {
        waiter.reject(new Error(`the watch ended (${status.code} ${status.details})`));
      }
    });
  });
  // The status event carries errors too; an 'error' listener keeps them from being thrown.
  stream.on("error", (_error: ServiceError) => undefined);
  stream.on("data", (message: WatchSessionsResponse) => {
    messages.push(message);
    const index = messages.length - 1;
    for (const waiter of [...waiters]) {
      if (index >= waiter.from && waiter.predicate(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  t?.after(() => stream.cancel());
  return {
    stream,
    messages,
    next(predicate = () => true, from = 0) {
      const seen = messages.slice(from).find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      if (finished !== undefined) {
        return Promise.reject(new Error(`the watch ended (${finished.code} ${finished.details})`));
      }
      return new Promise((resolve, reject) => waiters.push({ predicate, from, resolve, reject }));
    },
    changes: () =>
      messages.flatMap((m) => (m.event?.$case === "changes" ? m.event.value.changes : [])),
    ended,
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    cancel: () => stream.cancel(),
  };
}

/** Whether a message is a snapshot (of `reason`, when given). */
export function isSnapshot(reason?: SnapshotReason): (message: WatchSessionsResponse) => boolean {
  return (message) =>
    message.event?.$case === "snapshot" &&
    (reason === undefined || message.event.value.reason === reason);
}
