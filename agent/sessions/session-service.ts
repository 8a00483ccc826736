/**
 * The four RPCs of `wms.v1.WmsSessionService` as plain async functions over a `SessionBackend`.
 * Transport concerns (status conversion, auth, logging, lifecycle) live in `grpc-adapter.ts`.
 */
import { status as Status } from "@grpc/grpc-js";
import pLimit from "p-limit";
import {
  Outcome,
  Protection,
  SessionState,
  type DisconnectAllRequest,
  type DisconnectAllResponse,
  type DisconnectRequest,
  type DisconnectResponse,
  type GetAgentInfoResponse,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type Session,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { Win32Error, type BackendSession, type SessionBackend } from "./backend.js";
import {
  protectionOf,
  protectionResultMessage,
  type CallerProcess,
  type ProtectionContext,
} from "./protection.js";
import { checkExpectedHost, checkSessionId, validateSessionIds } from "./request-validation.js";
import { RpcError } from "../server/rpc-error.js";
import { compileFilter } from "./session-filter.js";
import { win32ErrorMeaning } from "./win32-errors.js";

/** What a handler knows about the call beyond its request. */
export interface CallContext {
  /** The call came over a loopback address (`localhost` is then a valid `expected_host`). */
  readonly peerIsLoopback: boolean;
  /**
   * The calling process when it runs on this host (protection rule 3), looked up by the transport
   * when a handler first asks (requests refused before that never pay for it).
   */
  readonly callerProcess: () => Promise<CallerProcess>;
}

/** Dependencies of the session service. */
export interface SessionServiceOptions {
  readonly backend: SessionBackend;
  /** The agent's fully qualified host name, answered in `host` and checked against `expected_host`. */
  readonly hostFqdn: string;
  readonly version: string;
  readonly startTime: Date;
  /**
   * Disconnects of one request run at most this many at a time.
   * @default 8 — the session manager serialises most of the work; a few in parallel hide latency.
   */
  readonly maxParallelDisconnects?: number;
  /** Called when the backend reports that the session manager is unreachable. */
  readonly onBackendUnavailable?: (error: unknown) => void;
}

/** Per-request counts of outcomes, for logs and audit. */
export type OutcomeCounts = Partial<Record<keyof typeof Outcome, number>>;

/** The handlers of `WmsSessionService`. */
export interface SessionService {
  listSessions(request: ListSessionsRequest, context: CallContext): Promise<ListSessionsResponse>;
  disconnect(request: DisconnectRequest, context: CallContext): Promise<DisconnectResponse>;
  disconnectAll(
    request: DisconnectAllRequest,
    context: CallContext,
  ): Promise<DisconnectAllResponse>;
  getAgentInfo(): Promise<GetAgentInfoResponse>;
}

const NOT_DISCONNECTABLE: ReadonlyMap<SessionState, string> = new Map([
  [SessionState.LISTEN, "a listener session cannot be disconnected"],
  [SessionState.DOWN, "the session is down"],
  [SessionState.INIT, "the session is still initializing"],
  [SessionState.RESET, "the session is being reset"],
]);

/** Creates the handlers of `WmsSessionService` over one backend. */
export function createSessionService(options: SessionServiceOptions): SessionService {
  const { backend, hostFqdn } = options;
  const limit = pLimit(options.maxParallelDisconnects ?? 8);
  // A process never changes session, so the agent's own is asked for once (a failure is retried).
  let agentSession: Promise<number> | undefined;
  const ownSessionId = (): Promise<number> =>
    (agentSession ??= backend.agentSessionId().catch((error: unknown) => {
      agentSession = undefined;
      throw error;
    }));

  async function listBackendSessions(): Promise<BackendSession[]> {
    try {
      return await backend.listSessions();
    } catch (error) {
      options.onBackendUnavailable?.(error);
      const detail = error instanceof Error ? error.message : String(error);
      throw new RpcError(Status.UNAVAILABLE, `the session backend cannot be reached: ${detail}`, {
        cause: error,
      });
    }
  }

  async function protectionContext(
    context: CallContext,
    requestCallerSessionId: number | undefined,
  ): Promise<ProtectionContext> {
    const [agentSessionId, caller] = await Promise.all([ownSessionId(), context.callerProcess()]);
    return { agentSessionId, caller, requestCallerSessionId };
  }

  /**
   * What happens to one session. Only a real disconnect waits, for the backend, through the
   * agent-wide limit; every other outcome (not found, protected, what-if, ...) is answered at once
   * without a promise or a queue slot of its own.
   */
  function act(
    sessionId: number,
    session: BackendSession | undefined,
    protection: ProtectionContext,
    flags: { whatIf: boolean; noWait: boolean },
  ): SessionResult | Promise<SessionResult> {
    const result = (outcome: Outcome, message: string, extra: Partial<SessionResult> = {}) => ({
      sessionId,
      outcome,
      message,
      win32Error: 0,
      protection: Protection.UNSPECIFIED,
      session: session === undefined ? undefined : toProtoSession(session, protection),
      ...extra,
    });
    if (session === undefined) return result(Outcome.NOT_FOUND, `no session with id ${sessionId}`);
    const rule = protectionOf(sessionId, protection);
    if (rule !== Protection.UNSPECIFIED) {
      return result(Outcome.PROTECTED, protectionResultMessage(rule, protection), {
        protection: rule,
      });
    }
    if (session.state === SessionState.DISCONNECTED) {
      return result(Outcome.ALREADY_DISCONNECTED, "the session is already disconnected");
    }
    const refusal = NOT_DISCONNECTABLE.get(session.state);
    if (refusal !== undefined) return result(Outcome.NOT_DISCONNECTABLE, refusal);
    if (flags.whatIf) return result(Outcome.WOULD_DISCONNECT, "what if: would disconnect");
    return limit(() => backend.disconnectSession(sessionId, { wait: !flags.noWait })).then(
      () =>
        result(
          Outcome.DISCONNECTED,
          flags.noWait ? "disconnect started (no_wait)" : "disconnected",
        ),
      (error: unknown) => {
        if (!(error instanceof Win32Error)) throw error;
        const meaning = win32ErrorMeaning(error.code);
        if (meaning.backendUnavailable) options.onBackendUnavailable?.(error);
        return result(meaning.outcome, meaning.message, { win32Error: error.code });
      },
    );
  }

  return {
    async listSessions(request, context) {
      const ids = validateSessionIds(request.sessionIds, { allowEmpty: true });
      checkExpectedHost(request.expectedHost, hostFqdn, context.peerIsLoopback);
      const wanted = ids.length === 0 ? undefined : new Set(ids);
      const sessions = (await listBackendSessions()).filter(
        (s) => wanted === undefined || wanted.has(s.sessionId),
      );
      const protection = await protectionContext(context, undefined);
      return { host: hostFqdn, sessions: sessions.map((s) => toProtoSession(s, protection)) };
    },

    async disconnect(request, context) {
      const ids = validateSessionIds(request.sessionIds, { allowEmpty: false });
      if (request.callerSessionId !== undefined) {
        checkSessionId(request.callerSessionId, "caller_session_id");
      }
      checkExpectedHost(request.expectedHost, hostFqdn, context.peerIsLoopback);
      const byId = new Map((await listBackendSessions()).map((s) => [s.sessionId, s]));
      const protection = await protectionContext(context, request.callerSessionId);
      const flags = { whatIf: request.whatIf, noWait: request.noWait };
      const results = await settled(ids.map((id) => act(id, byId.get(id), protection, flags)));
      return { host: hostFqdn, results };
    },

    async disconnectAll(request, context) {
      const filter = compileFilter(request.filter);
      if (request.callerSessionId !== undefined) {
        checkSessionId(request.callerSessionId, "caller_session_id");
      }
      checkExpectedHost(request.expectedHost, hostFqdn, context.peerIsLoopback);
      const sessions = (await listBackendSessions()).filter((s) => filter.matches(s));
      const protection = await protectionContext(context, request.callerSessionId);
      const flags = { whatIf: request.whatIf, noWait: request.noWait };
      const results = await settled(sessions.map((s) => act(s.sessionId, s, protection, flags)));
      return { host: hostFqdn, results };
    },

    async getAgentInfo() {
      return {
        host: hostFqdn,
        version: options.version,
        backend: backend.name,
        agentSessionId: await ownSessionId(),
        startTime: options.startTime,
      };
    },
  };
}

/** The results in order, once those still under way (real disconnects) have settled. */
function settled(
  results: readonly (SessionResult | Promise<SessionResult>)[],
): SessionResult[] | Promise<SessionResult[]> {
  if (!results.some((result) => result instanceof Promise)) return results as SessionResult[];
  return Promise.all(results.map((result) => Promise.resolve(result)));
}

/** The wire form of a backend session, with the rule that protects it. */
export function toProtoSession(session: BackendSession, protection: ProtectionContext): Session {
  return {
    sessionId: session.sessionId,
    state: session.state,
    userName: session.userName,
    domainName: session.domainName,
    stationName: session.stationName,
    clientName: session.clientName,
    logonTime: session.logonTime,
    idleTime:
      session.idleTimeMs === undefined
        ? undefined
        : {
            seconds: Math.floor(session.idleTimeMs / 1000),
            nanos: Math.floor(session.idleTimeMs % 1000) * 1_000_000,
          },
    protection: protectionOf(session.sessionId, protection),
  };
}

/** Counts the outcomes of a response's results, for the RPC log line and the audit record. */
export function countOutcomes(results: readonly SessionResult[]): OutcomeCounts {
  const counts: OutcomeCounts = {};
  for (const { outcome } of results) {
    const name = Outcome[outcome] as keyof typeof Outcome;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
