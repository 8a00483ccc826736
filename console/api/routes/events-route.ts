/**
 * `GET /api/v1/events`: server-sent events of the fleet. The stream opens with a `snapshot` of
 * every host and session, then carries each change as it happens (`host`, `host-removed`,
 * `sessions`; see {@link ApiEvent}), and a `: keep-alive` comment every
 * {@link KEEP_ALIVE_MS} ms when nothing else was sent, so proxies keep it open.
 *
 * No client can make the console queue without bound: a stream whose unsent data passes
 * {@link MAX_BUFFERED_BYTES} beyond its last snapshot (a browser that stopped reading) is sent
 * nothing more until it has drained, and then a fresh `snapshot` that replaces what it missed. At most
 * {@link MAX_EVENT_STREAMS} streams are open at once (503 beyond).
 */
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Fleet } from "../../fleet/fleet.js";
import { ApiError } from "../api-error.js";
import type { ApiEvent } from "../types.js";
import { queryOf } from "../validate.js";

/** Milliseconds between keep-alive comments: under the 30–60 s idle limits of common proxies. */
export const KEEP_ALIVE_MS = 15_000;
/**
 * Unsent bytes a stream may have before it is paused until it drains: 1 MiB, a few seconds of
 * the busiest fleet's changes, and about two snapshots of 1,000 hosts × 20 sessions.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Streams open at once: a console serves a team, not the public; each costs a listener. */
export const MAX_EVENT_STREAMS = 200;

/** One SSE frame. */
function frame(event: ApiEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Registers the events route; returns a function that ends every open stream. */
export function eventsRoute(
  app: FastifyInstance,
  fleet: Fleet,
  security: Readonly<Record<string, string>>,
): () => void {
  const open = new Set<ServerResponse>();

  app.get("/api/v1/events", { config: { access: "reader" } }, (request, reply) => {
    queryOf(request.query, []);
    if (open.size >= MAX_EVENT_STREAMS) {
      throw new ApiError("unavailable", `${MAX_EVENT_STREAMS} event streams are open already`);
    }
    void reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      ...security,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      // nginx: pass events on as they come.
      "x-accel-buffering": "no",
    });
    open.add(response);
    let paused = false;
    // Whether an event was left out while paused: only then does the stream need a snapshot.
    let missed = false;
    let sentAt = Date.now();
    // A snapshot of a large fleet is itself megabytes (1,000 hosts × 20 sessions: about 8 MB):
    // what a stream may have waiting is counted beyond the last snapshot, or a slow reader
    // would be sent snapshot after snapshot and never a change.
    let allowance = MAX_BUFFERED_BYTES;
    const write = (text: string) => {
      sentAt = Date.now();
      response.write(text);
      if (response.writableLength > allowance && !paused) {
        paused = true;
        response.once("drain", () => {
          paused = false;
          if (!missed) return;
          missed = false;
          sendSnapshot();
        });
      }
    };
    const sendSnapshot = () => {
      const text = frame({ type: "snapshot", hosts: fleet.hosts(), sessions: fleet.sessions() });
      allowance = MAX_BUFFERED_BYTES + Buffer.byteLength(text);
      write(text);
    };
    const unsubscribe = fleet.subscribe((event) => {
      if (paused) missed = true;
      else write(frame(event));
    });
    const keepAlive = setInterval(() => {
      if (!paused && Date.now() - sentAt >= KEEP_ALIVE_MS / 2) write(": keep-alive\n\n");
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    response.on("close", () => {
      open.delete(response);
      unsubscribe();
      clearInterval(keepAlive);
    });
    sendSnapshot();
  });

  return () => {
    for (const response of open) response.end();
  };
}
