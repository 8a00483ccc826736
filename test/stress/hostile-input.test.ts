/**
 * Hostile input straight to the agent over HTTP/2 (`node:http2`, no gRPC library on the client):
 * truncated and garbage protobuf, oversized messages, a wrong content-type, unknown methods and a
 * flood of streams. Each is answered with a gRPC status (or, for streams beyond the connection's
 * limit, refused by HTTP/2 itself), the agent stays up and SERVING, and no session is touched.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { describe, it } from "node:test";
import { credentials, loadPackageDefinition, status as Status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { DisconnectRequest } from "../../proto/gen/wms/v1/wms_session.js";
import { startHarness } from "../helpers/agent-harness.js";

const DISCONNECT = "/wms.v1.WmsSessionService/Disconnect";
const DISCONNECT_ALL = "/wms.v1.WmsSessionService/DisconnectAll";

/** A gRPC length-prefixed message frame; `declared` overrides the length in the prefix. */
function frame(body: Uint8Array, declared = body.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(0, 0);
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, body]);
}

/** What came back for one raw request. */
interface RawAnswer {
  readonly httpStatus: number | undefined;
  /** `grpc-status` from the headers (trailers-only) or the trailers. */
  readonly grpcStatus: Status | undefined;
  /** The stream was reset instead (e.g. refused beyond the concurrency limit). */
  readonly rstCode: number | undefined;
}

function rawCall(
  session: ClientHttp2Session,
  path: string,
  body: Buffer,
  contentType = "application/grpc",
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let httpStatus: number | undefined;
    let grpcStatus: Status | undefined;
    const read = (headers: IncomingHttpHeaders) => {
      const value = headers["grpc-status"];
      if (value !== undefined) grpcStatus = Number(value);
    };
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": contentType,
      te: "trailers",
    });
    stream.on("response", (headers) => {
      httpStatus = Number(headers[":status"]);
      read(headers);
    });
    stream.on("trailers", read);
    stream.on("error", () => undefined);
    stream.on("data", () => undefined);
    stream.on("close", () =>
      resolve({
        httpStatus,
        grpcStatus,
        rstCode: stream.rstCode === constants.NGHTTP2_NO_ERROR ? undefined : stream.rstCode,
      }),
    );
    stream.end(body);
  });
}

function healthStatus(address: string): Promise<string | undefined> {
  const Health = (
    loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (a: string, c: unknown) => HealthClient } } };
    }
  ).grpc.health.v1.Health;
  const client = new Health(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.check({ service: "" }, (error, response) => {
      client.close();
      resolve(error === null ? response?.status : undefined);
    });
  });
}

interface HealthClient {
  check(
    request: { service: string },
    callback: (error: Error | null, response?: { status: string }) => void,
  ): void;
  close(): void;
}

void describe("hostile input to the agent over raw HTTP/2", () => {
  void it("answers each with a gRPC status, stays healthy and touches no session", async (t) => {
    // The default receive limit (64 KiB).
    const harness = await startHarness(t);
    const session = connect(`http://${harness.address}`);
    session.on("error", () => undefined);
    t.after(() => session.close());
    // A well-formed request, used where the framing around it is what is wrong. What-if, so
    // that even a server that accepted it could not change a session.
    const valid = DisconnectRequest.encode(
      DisconnectRequest.fromPartial({ sessionIds: [2, 3], whatIf: true, expectedHost: "" }),
    ).finish();

    const cases: [string, Promise<RawAnswer>][] = [
      // The prefix promises 100 bytes; the stream ends after 10.
      ["truncated message", rawCall(session, DISCONNECT, frame(valid.subarray(0, 10), 100))],
      ["truncated prefix", rawCall(session, DISCONNECT, Buffer.from([0, 0, 0]))],
      ["garbage protobuf", rawCall(session, DISCONNECT, frame(randomBytes(64)))],
      [
        "field of the wrong wire type",
        rawCall(session, DISCONNECT, frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))),
      ],
      ["oversized message", rawCall(session, DISCONNECT_ALL, frame(Buffer.alloc(256 * 1024)))],
      ["oversized declared length", rawCall(session, DISCONNECT_ALL, frame(valid, 0x7fffffff))],
      [
        "two messages in a unary call",
        rawCall(session, DISCONNECT, Buffer.concat([frame(valid), frame(valid)])),
      ],
      ["unknown method", rawCall(session, "/wms.v1.WmsSessionService/Nope", frame(valid))],
      ["unknown service", rawCall(session, "/evil.Service/Disconnect", frame(valid))],
      ["empty body", rawCall(session, DISCONNECT, Buffer.alloc(0))],
    ];
    for (const [name, answer] of cases) {
      const { grpcStatus, httpStatus, rstCode } = await answer;
      assert.ok(
        grpcStatus !== undefined && grpcStatus !== Status.OK,
        `${name}: expected a gRPC error status, got grpc-status ${grpcStatus}, HTTP ${httpStatus}, RST ${rstCode}`,
      );
    }
    // Not gRPC at all: the gRPC HTTP/2 protocol answers 415 (gRPC clients map it to UNKNOWN),
    // so that no HTTP client mistakes it for a success.
    const json = await rawCall(session, DISCONNECT, Buffer.from("{}"), "application/json");
    assert.equal(json.httpStatus, constants.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE);

    // The compressed flag without a grpc-encoding header: grpc-js reads the message as
    // uncompressed (lenient, not unsafe); all that is required is a status.
    const flagged = await rawCall(session, DISCONNECT, frame(valid).fill(1, 0, 1));
    assert.notEqual(flagged.grpcStatus, undefined, "compressed flag: a gRPC status");

    const byName = new Map(
      await Promise.all(cases.map(async ([name, answer]) => [name, await answer] as const)),
    );
    assert.equal(byName.get("unknown method")?.grpcStatus, Status.UNIMPLEMENTED);
    assert.equal(byName.get("unknown service")?.grpcStatus, Status.UNIMPLEMENTED);
    assert.equal(byName.get("oversized message")?.grpcStatus, Status.RESOURCE_EXHAUSTED);
    assert.equal(byName.get("oversized declared length")?.grpcStatus, Status.RESOURCE_EXHAUSTED);

    // A flood: far more streams than the connection allows at once, each a DisconnectAll that
    // would change sessions were it ever parsed (it is truncated).
    const flood = await Promise.all(
      Array.from({ length: 2000 }, () =>
        rawCall(session, DISCONNECT_ALL, frame(Buffer.from([0x08, 0x00]), 50)),
      ),
    );
    for (const answer of flood) {
      assert.ok(
        (answer.grpcStatus !== undefined && answer.grpcStatus !== Status.OK) ||
          answer.rstCode !== undefined,
        `flood: ${JSON.stringify(answer)}`,
      );
    }
    assert.ok(
      flood.filter((a) => a.grpcStatus !== undefined).length > 0,
      "some of the flood reached the agent and was answered",
    );

    assert.equal(await healthStatus(harness.address), "SERVING");
    assert.equal(harness.agent.state(), "serving");
    assert.deepEqual(harness.backend.disconnectCalls(), [], "no session touched");
    // And the agent still does its job for a well-formed call.
    const listed = await harness.client.listSessions();
    assert.equal(listed.sessions.length, 13);
  });
});
