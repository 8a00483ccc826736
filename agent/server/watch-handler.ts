/**
 * The grpc-js handler of the server-streaming `WatchSessions`. Authorization, refusal while
 * draining and the in-flight limit are the interceptor chain's (`call-chain.ts`), as for every
 * call; this handler checks `expected_host`, then hands the stream to the watch hub
 * (`sessions/session-watch.ts`), which writes to it until the client goes or the agent drains.
 * One log line when a watch starts; the chain's line for the call says how it ended.
 */
import { constants as http2 } from "node:http2";
import {
  status as Status,
  type handleServerStreamingCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import type {
  WatchSessionsRequest,
  WatchSessionsResponse,
  WmsSessionServiceService,
} from "../../proto/gen/wms/v1/wms_session.js";
import { isLoopbackAddress } from "../../common/ip-address.js";
import { checkExpectedHost } from "../sessions/request-validation.js";
import type { SessionWatchHub, WatchSink } from "../sessions/session-watch.js";
import { callScope, type CallScope } from "./call-chain.js";
import { UndecodableRequest } from "./request-decoding.js";
import { invalidArgument, RpcError } from "./rpc-error.js";

/** What the watch handler needs from the agent around it. */
export interface WatchHandlerOptions {
  readonly hub: SessionWatchHub;
  readonly hostFqdn: string;
  readonly logger: Logger;
}

type WatchCall = ServerWritableStream<WatchSessionsRequest, WatchSessionsResponse>;

/** The grpc-js implementation of `WatchSessions`. */
export function createWatchHandler(
  options: WatchHandlerOptions,
): handleServerStreamingCall<WatchSessionsRequest, WatchSessionsResponse> {
  const { hub, logger } = options;
  return (call: WatchCall) => {
    let scope: CallScope;
    const refuse = (error: unknown) => {
      const rpcError = RpcError.from(error);
      if (rpcError.code === Status.INTERNAL) {
        logger.error({ err: error, rpc: "WatchSessions", peer: call.getPeer() }, "internal error");
      }
      call.emit("error", rpcError.toServiceError());
    };
    try {
      scope = callScope(call.metadata);
      const request: unknown = call.request;
      if (request instanceof UndecodableRequest) {
        throw invalidArgument(request.message("WatchSessions"));
      }
      checkExpectedHost(
        call.request.expectedHost,
        options.hostFqdn,
        scope.remote !== undefined && isLoopbackAddress(scope.remote.address),
      );
    } catch (error) {
      refuse(error);
      return;
    }

    let remove: (() => void) | undefined;
    let gone = false;
    const end = (why: string) => {
      if (gone) return;
      gone = true;
      remove?.();
      scope.annotate({ why });
    };
    call.once("cancelled", () => end("the client went away"));
    call.once("finish", () => end("the agent ended it"));
    call.once("error", () => end("the stream failed"));
    const sink: WatchSink = {
      write: (message) => call.write(message),
      onDrain: (callback) => call.once("drain", callback),
      end: () => call.end(),
      cut: () => cutStream(call),
    };
    hub.watch(sink).then(
      (unwatch) => {
        remove = unwatch;
        if (gone) unwatch();
        else
          logger.info(
            {
              rpc: "wms.v1.WmsSessionService/WatchSessions",
              peer: scope.peer,
              identity: scope.identity,
            },
            "watch started",
          );
      },
      (error: unknown) => {
        gone = true;
        refuse(error);
      },
    );
  };
}

/**
 * The service definition with `WatchSessions` answers encoded once per message instead of once
 * per watcher: the hub writes the same changes object to every stream, and grpc-js serialises
 * each write. The encoding is kept by the message's identity (a `WeakMap`), so it goes with the
 * message. grpc-js copies the bytes into each frame and never changes them.
 */
export function encodeWatchMessagesOnce(
  definition: typeof WmsSessionServiceService,
): typeof WmsSessionServiceService {
  const watch = definition.watchSessions;
  const encoded = new WeakMap<WatchSessionsResponse, Buffer>();
  return {
    ...definition,
    watchSessions: {
      ...watch,
      responseSerialize(message: WatchSessionsResponse): Buffer {
        let bytes = encoded.get(message);
        if (bytes === undefined) {
          bytes = watch.responseSerialize(message);
          encoded.set(message, bytes);
        }
        return bytes;
      },
    },
  };
}

/** What this module reaches for inside grpc-js (1.14) to end a stream its reader left full. */
interface InterceptingCall {
  readonly nextCall?: InterceptingCall;
  readonly stream?: { close(code?: number): void; readonly closed?: boolean };
}

/**
 * Resets the HTTP/2 stream of a call (`RST_STREAM CANCEL`). grpc-js has no public way for a
 * server to give up on a stream whose reader takes nothing: ending it waits for the buffered
 * messages to be read, and so would the agent's drain. The stream sits on the innermost
 * intercepting call (grpc-js 1.14: `call.call(.nextCall)*.stream`); if it cannot be found the
 * stream is left to end when its reader reads or goes away. `test/integration/agent-watch.test.ts`
 * fails if this stops working ("a drain ends a watch whose client reads nothing").
 */
export function cutStream(call: object): boolean {
  let inner = (call as { call?: InterceptingCall }).call;
  for (let depth = 0; inner !== undefined && depth < 32; depth++) {
    const stream = inner.stream;
    if (stream !== undefined && typeof stream.close === "function") {
      if (stream.closed !== true) stream.close(http2.NGHTTP2_CANCEL);
      return true;
    }
    inner = inner.nextCall;
  }
  return false;
}
