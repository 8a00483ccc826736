/**
 * The one interceptor chain every call of every service goes through (grpc-js server
 * interceptors, `new Server({ interceptors })`): the session service, health, reflection and
 * whatever is mounted later, with nothing to re-wrap per service.
 *
 * When a call starts — on its headers, before its request message is read, so that a refused
 * caller's message is never buffered — the chain, in this order:
 * 1. authorizes it by its method path (`Authorizer`); a refused caller with no role at all costs
 *    a token of its refused-call allowance, and once that is spent its connection is closed;
 * 2. refuses it with `UNAVAILABLE` while the agent drains;
 * 3. refuses it with `RESOURCE_EXHAUSTED` beyond `maxInFlightCalls`;
 * and when it ends, logs one line: method, peer, identity, duration, status, and whatever the
 * handler added ({@link CallScope.annotate}); at level debug, also one when the request reaches
 * the handler ("rpc started").
 *
 * Handlers learn what the chain found through {@link callScope}: the identity, the connection's
 * two endpoints (`getConnectionInfo()`: the local one is what rule 3 needs), the auth context.
 * Audit is the audit interceptor's (`agent/audit/audit-interceptor.ts`), which comes before the
 * chain and sees its refusals go out; those of a caller past its allowance are marked
 * ({@link isQuietRefusal}) and not recorded one by one.
 */
import {
  ServerInterceptingCall,
  status as Status,
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { AccessDeniedError, type AuthContext, type Authorizer } from "./access.js";
import type { Listener } from "./listener.js";
import { RpcError } from "./rpc-error.js";
import type { RefusalLimiter } from "../security/refusal-limiter.js";
import type { TcpEndpoint } from "../../common/ip-address.js";

/** What a handler learns about its call from the chain. */
export interface CallScope {
  /** The method's path, `/package.Service/Method`. */
  readonly method: string;
  /** The caller's address as grpc-js gives it (`ADDRESS:PORT`). */
  readonly peer: string;
  /** The client's end of the connection; `undefined` if it closed before the call started. */
  readonly remote: TcpEndpoint | undefined;
  /** The agent's end: the address the client dialled and the listening port. */
  readonly local: TcpEndpoint | undefined;
  /** The caller's identity; `undefined` under insecure loopback. */
  readonly identity: string | undefined;
  readonly authContext: AuthContext;
  /** Adds fields to the call's log line (e.g. the outcomes of a disconnect). */
  annotate(fields: Readonly<Record<string, unknown>>): void;
}

/** What the chain needs from the agent around it. */
export interface CallChainOptions {
  readonly logger: Logger;
  /** Finds the connection of a call. */
  readonly connections: Pick<Listener, "connection">;
  /** Who may call what; `undefined` lets every caller in (insecure loopback). */
  readonly authorize: Authorizer | undefined;
  /** Whether new calls are still accepted; `false` while the agent drains. */
  readonly accepting: () => boolean;
  /** Calls answered `RESOURCE_EXHAUSTED` beyond this many in flight. */
  readonly maxInFlightCalls: number;
  /** Counts the refused calls of callers without a role, per client. */
  readonly refusals: RefusalLimiter;
  /** Clock for durations, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

/** The chain, and what the agent's lifecycle needs of it. */
export interface CallChain {
  /** Pass to `new Server({ interceptors })`. */
  readonly interceptors: ServerInterceptor[];
  /** Calls admitted and not yet ended. */
  inFlight(): number;
  /** The calls admitted and not yet ended, oldest first: what a forced shutdown cuts. */
  openCalls(): OpenCall[];
  /**
   * Ends every open streaming call (a health or session watch) with `OK`, after what it has sent,
   * so that a drain does not wait for watchers to hang up.
   */
  endStreams(): void;
}

/** A call in flight, as the log names it. */
export interface OpenCall {
  readonly rpc: string;
  readonly peer: string;
  readonly identity: string | undefined;
  /** Milliseconds since the call arrived. */
  readonly durationMs: number;
}

// The handler receives the very `Metadata` object the chain passed on, so it is the key under
// which a call's scope waits for its handler.
const scopes = new WeakMap<Metadata, CallScope>();
// The metadata of calls refused past their caller's allowance (see `isQuietRefusal`).
const quietRefusals = new WeakSet<Metadata>();

/**
 * Whether the chain refused the call of `metadata` past its caller's allowance of refused calls:
 * such a refusal has no log line of its own, and is not audited one by one.
 */
export function isQuietRefusal(metadata: Metadata): boolean {
  return quietRefusals.has(metadata);
}

/**
 * The scope the chain made for a call, by the call's metadata (`call.metadata` in a handler).
 * @throws RpcError `INTERNAL` when there is none: a call that bypassed the chain is never served.
 */
export function callScope(metadata: Metadata): CallScope {
  const scope = scopes.get(metadata);
  if (scope === undefined) {
    throw new RpcError(Status.INTERNAL, "internal error in wms-agent (call outside the chain)", {
      cause: new Error("no call scope: the interceptor chain did not run for this call"),
    });
  }
  return scope;
}

const DRAINING = "wms-agent is shutting down; retry another time";

/** Makes the chain. */
export function createCallChain(options: CallChainOptions): CallChain {
  const { logger } = options;
  const now = options.now ?? (() => performance.now());
  let inFlight = 0;
  const streams = new Set<() => void>();
  const open = new Set<() => OpenCall>();

  const interceptor: ServerInterceptor = (definition, next) => {
    const method = definition.path;
    const rpc = method.slice(1);
    const started = now();
    let peer = "unknown";
    let identity: string | undefined;
    let admitted = false;
    let handling = false;
    let ended = false;
    let quiet = false;
    const annotations: Record<string, unknown> = {};
    const describe = (): OpenCall => ({
      rpc,
      peer,
      identity,
      durationMs: Math.round(now() - started),
    });

    const end = (status: { code: Status; details?: string }) => {
      if (ended) return;
      ended = true;
      if (admitted) {
        inFlight -= 1;
        streams.delete(endStream);
        open.delete(describe);
      }
      if (quiet) return;
      const fields = {
        rpc,
        peer,
        identity,
        durationMs: Math.round((now() - started) * 1000) / 1000,
        code: Status[status.code],
        ...annotations,
      };
      if (status.code === Status.OK) logger.info(fields, "rpc");
      else logger.info({ ...fields, error: status.details }, "rpc failed");
    };

    const call: ServerInterceptingCall = new ServerInterceptingCall(next, {
      start(startNext) {
        startNext({
          onReceiveMetadata(metadata, passOn) {
            peer = call.getPeer();
            const admission = admit(method, peer, next);
            identity = admission.identity;
            if ("refused" in admission) {
              quiet = admission.quiet;
              if (quiet) quietRefusals.add(metadata);
              call.sendStatus({ code: admission.refused.code, details: admission.refused.message });
              admission.after?.();
              return;
            }
            admitted = true;
            inFlight += 1;
            open.add(describe);
            if (definition.responseStream) streams.add(endStream);
            scopes.set(metadata, {
              method,
              peer,
              remote: admission.remote,
              local: admission.local,
              identity,
              authContext: admission.authContext,
              annotate: (fields) => Object.assign(annotations, fields),
            });
            passOn(metadata);
          },
          onReceiveMessage(message, passOn) {
            // When the request reaches the handler (after its audit intent, for a mutating call).
            if (!handling && logger.isLevelEnabled("debug")) {
              logger.debug({ rpc, peer, identity }, "rpc started");
            }
            handling = true;
            passOn(message);
          },
          onCancel() {
            end({
              code: Status.CANCELLED,
              details:
                "ended without an answer from the agent: the client cancelled, its deadline passed, or grpc-js refused it (a message over the size limit)",
            });
          },
        });
      },
      sendStatus(status, passOn) {
        end(status);
        passOn(status);
      },
    });
    function endStream() {
      call.sendStatus({ code: Status.OK, details: "wms-agent is shutting down" });
    }
    return call;
  };

  type Admission =
    | {
        identity: string | undefined;
        authContext: AuthContext;
        remote: TcpEndpoint | undefined;
        local: TcpEndpoint | undefined;
      }
    | {
        identity: string | undefined;
        refused: RpcError;
        /** Refused beyond the client's allowance: no log line of its own, no audit. */
        quiet: boolean;
        after?: () => void;
      };

  function admit(method: string, peer: string, call: ServerInterceptingCallInterface): Admission {
    const connection = options.connections.connection(call.getConnectionInfo());
    const authContext =
      connection === undefined
        ? call.getAuthContext()
        : connection.authContext(() => call.getAuthContext());
    let identity: string | undefined;
    try {
      identity = options.authorize?.({ method, authContext, peer });
    } catch (caught) {
      const error = RpcError.from(caught);
      if (error.code === Status.INTERNAL) {
        logger.error({ err: caught, rpc: method.slice(1), peer }, "internal error");
      }
      const presented = caught instanceof AccessDeniedError ? caught.identity : undefined;
      if (!(caught instanceof AccessDeniedError && caught.roleless)) {
        // A caller with a role (a reader trying a Disconnect) is refused like any other call.
        return { identity: presented, refused: error, quiet: false };
      }
      // A client is its certificate; without one (refused for lack of it), its address.
      const client =
        authContext.sslPeerCertificate?.fingerprint256 ??
        `address ${connection?.remote.address ?? peer}`;
      const verdict = options.refusals.refuse(client);
      if (verdict.withinAllowance) {
        return { identity: presented, refused: error, quiet: false };
      }
      if (verdict.firstOverLimit) {
        logger.warn(
          { rpc: method.slice(1), peer, identity: presented },
          "too many refused calls from this client: closing its connections until its allowance refills",
        );
      }
      return {
        identity: presented,
        quiet: true,
        refused: new RpcError(
          Status.RESOURCE_EXHAUSTED,
          `too many refused calls from this client; the connection is closed (last refusal: ${error.message})`,
        ),
        // After the status is on its way: the call's answer comes first.
        after: () => setImmediate(() => connection?.close()),
      };
    }
    connection?.markAuthorized();
    let refused: RpcError | undefined;
    if (!options.accepting()) {
      refused = new RpcError(Status.UNAVAILABLE, DRAINING);
    } else if (inFlight >= options.maxInFlightCalls) {
      refused = new RpcError(
        Status.RESOURCE_EXHAUSTED,
        `too many calls in flight (limit ${options.maxInFlightCalls}); retry later`,
      );
    }
    if (refused !== undefined) {
      return { identity, refused, quiet: false };
    }
    return { identity, authContext, remote: connection?.remote, local: connection?.local };
  }

  return {
    interceptors: [interceptor],
    inFlight: () => inFlight,
    openCalls: () => [...open].map((call) => call()),
    endStreams() {
      for (const endStream of [...streams]) endStream();
    },
  };
}
