/**
 * A gRPC server on 127.0.0.1:0 that serves only `WatchSessions`, each call answered by a script
 * the test writes: the agent's behaviour where a real agent would not misbehave (a revision gap, a
 * first message that is no snapshot, silence, a stream that never drains) and the controller must
 * still do the right thing.
 */
import {
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  Session,
  SessionState,
  WmsSessionServiceService,
  type WatchSessionsRequest,
  type WatchSessionsResponse,
} from "../../proto/gen/wms/v1/wms_session.js";
import type { Target } from "../../controller/index.js";
import { loopbackTarget } from "./controller-fleet.js";

/** One server-side watch call. */
export type WatchCall = ServerWritableStream<WatchSessionsRequest, WatchSessionsResponse>;

/** Answers the n-th call (0-based). */
export type WatchScript = (call: WatchCall, index: number) => void;

/** A running scripted agent. */
export interface ScriptedWatchAgent {
  readonly fqdn: string;
  readonly target: Target;
  /** Calls received so far, in order. */
  readonly calls: WatchCall[];
  /** Resolves when the server has received `count` calls. */
  callsReceived(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A session for scripts. */
export function scriptSession(id: number, user = `student${id}`): Session {
  return Session.fromPartial({
    sessionId: id,
    state: SessionState.ACTIVE,
    userName: user,
    domainName: "LAB",
    stationName: `Station ${id}`,
  });
}

/** A snapshot message at `revision`. */
export function snapshotMessage(
  host: string,
  revision: number,
  sessions: Session[],
): WatchSessionsResponse {
  return { host, revision, event: { $case: "snapshot", value: { sessions, reason: 1 } } };
}

/** A message with one change per given revision (kind CHANGED). */
export function changesMessage(host: string, revisions: number[]): WatchSessionsResponse {
  return {
    host,
    revision: revisions.at(-1) ?? 0,
    event: {
      $case: "changes",
      value: {
        changes: revisions.map((revision) => ({
          kind: 2,
          session: scriptSession(revision),
          revision,
        })),
      },
    },
  };
}

/** Starts the server. */
export async function startScriptedWatchAgent(
  fqdn: string,
  script: WatchScript,
): Promise<ScriptedWatchAgent> {
  const server = new Server();
  const calls: WatchCall[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const implementation: UntypedServiceImplementation = {
    watchSessions(call: WatchCall) {
      calls.push(call);
      script(call, calls.length - 1);
      for (const waiter of [...waiters]) {
        if (calls.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
  };
  server.addService(WmsSessionServiceService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
  return {
    fqdn,
    target: loopbackTarget(fqdn, port),
    calls,
    callsReceived: (count) =>
      calls.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
