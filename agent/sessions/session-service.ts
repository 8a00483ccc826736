/**
 * The unary RPCs of `wms.v1.WmsSessionService` as plain async functions over a `SessionBackend`.
 * Every verb (disconnect, log off, message) goes through one pipeline (`session-verbs.ts`); this
 * file gathers the facts of a request (its sessions, who is asking) and runs it. Transport
 * concerns (status conversion, auth, logging, lifecycle) live in `server/grpc-adapter.ts`.
 */
import { status as Status } from "@grpc/grpc-js";
import pLimit from "p-limit";
import {
  MessageResponse,
  Outcome,
  Protection,
  type DisconnectAllRequest,
  type DisconnectAllResponse,
  type DisconnectRequest,
  type DisconnectResponse,
  type GetAgentInfoResponse,
  type ListSessionsRequest,
  type ListSessionsResponse,
  type LogoffAllRequest,
  type LogoffAllResponse,
  type LogoffRequest,
  type LogoffResponse,
  type SendMessageRequest,
  type SendMessageResponse,
  type Session,
  type SessionResult,
} from "../../proto/gen/wms/v1/wms_session.js";
import { idleMsAt, Win32Error, type BackendSession, type SessionBackend } from "./backend.js";
import { createLogoffMemory, type LogoffMemoryOptions } from "./logoff-memory.js";
import { validateMessageRequest } from "./message-request.js";
import { protectionOf, type CallerProcess, type ProtectionContext } from "./protection.js";
import { checkExpectedHost, checkSessionId, validateSessionIds } from "./request-validation.js";
import { RpcError } from "../server/rpc-error.js";
import { compileFilter, type CompiledFilter } from "./session-filter.js";
import {
  decide,
  disconnectVerb,
  logoffVerb,
  messageVerb,
  type Decision,
  type Verb,
} from "./session-verbs.js";
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

/**
 * Most message boxes waiting for an answer at once, agent-wide.
 * @default 64 — a class answering one question; on Windows each waiting box holds a thread of
 *   the session backend for up to its timeout, so they must stay few
 */
export const DEFAULT_MAX_WAITING_MESSAGES = 64;

/**
 * Longest timeout a `SendMessage` with `wait` may ask for, in milliseconds.
 * @default 3600000 (1 hour) — a question to a class is answered within minutes; an hour bounds
 *   what one call can hold
 */
export const DEFAULT_MAX_MESSAGE_WAIT_MS = 3_600_000;

/**
 * Milliseconds a waiting message gets beyond its own timeout before the agent stops waiting for
 * the backend's answer and reports a failure (a session manager that never reports back).
 */
export const MESSAGE_WAIT_SLACK_MS = 5_000;

/** Dependencies of the session service. */
export interface SessionServiceOptions {
  readonly backend: SessionBackend;
  /** The agent's fully qualified host name, answered in `host` and checked against `expected_host`. */
  readonly hostFqdn: string;
  readonly version: string;
  readonly startTime: Date;
  /**
   * Disconnects, log-offs and messages not waited for that one request runs at once.
   * @default 4 — the session manager serialises much of the work; a few at a time hide its
   *   latency without letting one request of 4,096 ids take every slot of the agent.
   */
  readonly maxParallelOperationsPerRequest?: number;
  /**
   * The same, over every request of the agent; each request queues for these with at most
   * {@link maxParallelOperationsPerRequest} of its own, so requests take turns and a slow
   * session holds one slot, not the agent.
   * @default 16
   */
  readonly maxParallelOperations?: number;
  /** @default {@link DEFAULT_MAX_WAITING_MESSAGES} */
  readonly maxWaitingMessages?: number;
  /** @default {@link DEFAULT_MAX_MESSAGE_WAIT_MS} */
  readonly maxMessageWaitMs?: number;
  /** Bounds of the memory that makes log-off idempotent. @default 1024 entries, 10 minutes */
  readonly logoffMemory?: Omit<LogoffMemoryOptions, "now">;
  /**
   * Aborted when the agent starts to shut down: calls waiting for the answers of messages stop
   * waiting, so that they do not hold the drain.
   */
  readonly stopping?: AbortSignal;
  /** The clock idle times are computed with, in milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Called when the backend reports that the session manager is unreachable. */
  readonly onBackendUnavailable?: (error: unknown) => void;
}

/** Rule 3 left out: what a message, which loses nothing, is decided with. */
const REMOTE: CallerProcess = { kind: "remote" };

/** Per-request counts of outcomes, for logs and audit. */
export type OutcomeCounts = Partial<Record<keyof typeof Outcome, number>>;

/** The unary handlers of `WmsSessionService`. */
export interface SessionService {
  listSessions(request: ListSessionsRequest, context: CallContext): Promise<ListSessionsResponse>;
  disconnect(request: DisconnectRequest, context: CallContext): Promise<DisconnectResponse>;
  disconnectAll(
    request: DisconnectAllRequest,
    context: CallContext,
  ): Promise<DisconnectAllResponse>;
  logoff(request: LogoffRequest, context: CallContext): Promise<LogoffResponse>;
  logoffAll(request: LogoffAllRequest, context: CallContext): Promise<LogoffAllResponse>;
  sendMessage(request: SendMessageRequest, context: CallContext): Promise<SendMessageResponse>;
  getAgentInfo(): Promise<GetAgentInfoResponse>;
  /** The session backend's sessions, or `UNAVAILABLE` (for the watch of every session). */
  listBackendSessions(): Promise<BackendSession[]>;
  /** The session the agent runs in (rule 1). */
  agentSessionId(): Promise<number>;
}

/** Creates the handlers of `WmsSessionService` over one backend. */
export function createSessionService(options: SessionServiceOptions): SessionService {
  const { backend, hostFqdn } = options;
  const now = options.now ?? Date.now;
  const agentLimit = pLimit(options.maxParallelOperations ?? 16);
  const perRequest = options.maxParallelOperationsPerRequest ?? 4;
  const maxWaiting = options.maxWaitingMessages ?? DEFAULT_MAX_WAITING_MESSAGES;
  const maxWaitMs = options.maxMessageWaitMs ?? DEFAULT_MAX_MESSAGE_WAIT_MS;
  const memory = createLogoffMemory({ ...options.logoffMemory, now });
  let waiting = 0;
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
    context: CallContext | undefined,
    requestCallerSessionId: number | undefined,
  ): Promise<ProtectionContext> {
    const [agentSessionId, caller] = await Promise.all([
      ownSessionId(),
      context?.callerProcess() ?? REMOTE,
    ]);
    return { agentSessionId, caller, requestCallerSessionId };
  }

  /** The sessions a request names by id, each with its session (`undefined`: none). */
  async function byIds(ids: readonly number[]): Promise<[number, BackendSession | undefined][]> {
    const sessions = new Map((await listBackendSessions()).map((s) => [s.sessionId, s]));
    return ids.map((id) => [id, sessions.get(id)]);
  }

  /** The sessions a filter matches, in session id order. */
  async function byFilter(filter: CompiledFilter): Promise<[number, BackendSession | undefined][]> {
    return (await listBackendSessions())
      .filter((s) => filter.matches(s))
      .map((s) => [s.sessionId, s]);
  }

  /**
   * The default way a request's actions reach the backend: through the request's own limit, then
   * the agent-wide one.
   */
  function limited(): (verb: Verb, session: BackendSession) => Promise<Decision> {
    const requestLimit = pLimit(perRequest);
    return (verb, session) => requestLimit(() => agentLimit(() => verb.perform(session)));
  }

  /**
   * Runs one verb over the targets. Only real actions wait, for the backend (through the
   * request's and the agent's limits unless `perform` says otherwise); every other answer (not
   * found, protected, what-if, ...) is made at once, without a promise or a queue slot of its own.
   */
  function run(
    verb: Verb,
    targets: readonly [number, BackendSession | undefined][],
    protection: ProtectionContext,
    whatIf: boolean,
    perform: (verb: Verb, session: BackendSession) => Promise<Decision> = limited(),
  ): SessionResult[] | Promise<SessionResult[]> {
    const results = targets.map(([sessionId, session]) => {
      const step = decide(verb, sessionId, session, protection, whatIf);
      const result = (decision: Decision): SessionResult =>
        toResult(sessionId, decision.session ?? session, decision, protection, now());
      if (step.kind === "answered") return result(step.decision);
      return perform(verb, step.session).then(result, (error: unknown) => {
        if (!(error instanceof Win32Error)) throw error;
        const meaning = win32ErrorMeaning(error.code);
        if (meaning.backendUnavailable) options.onBackendUnavailable?.(error);
        return result({
          outcome: meaning.outcome,
          message: meaning.message,
          win32Error: error.code,
        });
      });
    });
    return settled(results);
  }

  /** Log off or disconnect: the checks every request of the pair makes, then the verb. */
  async function change(
    verb: (noWait: boolean) => Verb,
    request: {
      whatIf: boolean;
      noWait: boolean;
      callerSessionId?: number | undefined;
      expectedHost: string;
    },
    targets: () => Promise<[number, BackendSession | undefined][]>,
    context: CallContext,
  ): Promise<{ host: string; results: SessionResult[] }> {
    if (request.callerSessionId !== undefined) {
      checkSessionId(request.callerSessionId, "caller_session_id");
    }
    checkExpectedHost(request.expectedHost, hostFqdn, context.peerIsLoopback);
    const found = await targets();
    const protection = await protectionContext(context, request.callerSessionId);
    return {
      host: hostFqdn,
      results: await run(verb(request.noWait), found, protection, request.whatIf),
    };
  }

  /**
   * A waiting message, bounded: it stops waiting when the agent starts to shut down (the box stays
   * on screen; its answer is not reported) and when the backend has not answered well after the
   * box's own timeout.
   */
  function waitForAnswer(
    verb: Verb,
    session: BackendSession,
    timeoutSeconds: number,
  ): Promise<Decision> {
    waiting++;
    return new Promise<Decision>((resolve, reject) => {
      const stopping = options.stopping;
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(guard);
        stopping?.removeEventListener("abort", onStop);
        waiting--;
        return true;
      };
      const onStop = () => {
        if (!finish()) return;
        resolve({
          outcome: Outcome.MESSAGE_SENT,
          message:
            "shown; the agent is shutting down, so the answer is not reported (the message stays on screen)",
          response: MessageResponse.NOT_WAITED,
        });
      };
      const guard = setTimeout(
        () => {
          if (!finish()) return;
          resolve({
            outcome: Outcome.FAILED,
            message: `the session manager reported no answer within the timeout (${timeoutSeconds} s) and ${MESSAGE_WAIT_SLACK_MS / 1000} s more`,
          });
        },
        timeoutSeconds * 1000 + MESSAGE_WAIT_SLACK_MS,
      );
      stopping?.addEventListener("abort", onStop, { once: true });
      if (stopping?.aborted === true) onStop();
      verb.perform(session).then(
        (decision) => {
          if (finish()) resolve(decision);
        },
        (error: unknown) => {
          if (finish()) reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  return {
    listBackendSessions,
    agentSessionId: ownSessionId,

    async listSessions(request, context) {
      const ids = validateSessionIds(request.sessionIds, { allowEmpty: true });
      checkExpectedHost(request.expectedHost, hostFqdn, context.peerIsLoopback);
      const wanted = ids.length === 0 ? undefined : new Set(ids);
      const sessions = (await listBackendSessions()).filter(
        (s) => wanted === undefined || wanted.has(s.sessionId),
      );
      const protection = await protectionContext(context, undefined);
      const nowMs = now();
      return {
        host: hostFqdn,
        sessions: sessions.map((s) => toProtoSession(s, protection, nowMs)),
      };
    },

    disconnect(request, context) {
      const ids = validateSessionIds(request.sessionIds, { allowEmpty: false });
      return change(
        (noWait) => disconnectVerb({ backend, noWait }),
        request,
        () => byIds(ids),
        context,
      );
    },

    disconnectAll(request, context) {
      const filter = compileFilter(request.filter, now);
      return change(
        (noWait) => disconnectVerb({ backend, noWait }),
        request,
        () => byFilter(filter),
        context,
      );
    },

    logoff(request, context) {
      const ids = validateSessionIds(request.sessionIds, { allowEmpty: false });
      return change(
        (noWait) => logoffVerb({ backend, noWait }, memory),
        request,
        () => byIds(ids),
        context,
      );
    },

    logoffAll(request, context) {
      const filter = compileFilter(request.filter, now);
      return change(
        (noWait) => logoffVerb({ backend, noWait }, memory),
        request,
        () => byFilter(filter),
        context,
      );
    },

    async sendMessage(request, context) {
      const plan = validateMessageRequest(request, maxWaitMs, now);
      checkExpectedHost(request.expectedHost, hostFqdn, context.peerIsLoopback);
      const targets =
        plan.filter !== undefined
          ? await byFilter(plan.filter)
          : await byIds(plan.sessionIds ?? []);
      // A message changes nothing: the caller's session is not protected from it (no rule 3).
      const protection = await protectionContext(undefined, undefined);
      const verb = messageVerb(backend, plan.box);
      const { timeoutSeconds } = plan.box;
      if (!plan.box.wait || plan.whatIf || timeoutSeconds === undefined) {
        return { host: hostFqdn, results: await run(verb, targets, protection, plan.whatIf) };
      }
      const boxes = targets.filter(
        ([id, session]) => decide(verb, id, session, protection, false).kind === "act",
      ).length;
      if (waiting + boxes > maxWaiting) {
        throw new RpcError(
          Status.RESOURCE_EXHAUSTED,
          `${boxes} message boxes would wait for answers, and ${waiting} of this agent's ${maxWaiting} are waiting already; nothing was sent: retry later, or send without wait`,
        );
      }
      const results = await run(verb, targets, protection, false, (v, session) =>
        waitForAnswer(v, session, timeoutSeconds),
      );
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

/** The results in order, once those still under way (real actions) have settled. */
function settled(
  results: readonly (SessionResult | Promise<SessionResult>)[],
): SessionResult[] | Promise<SessionResult[]> {
  if (!results.some((result) => result instanceof Promise)) return results as SessionResult[];
  return Promise.all(results.map((result) => Promise.resolve(result)));
}

function toResult(
  sessionId: number,
  session: BackendSession | undefined,
  decision: Decision,
  protection: ProtectionContext,
  nowMs: number,
): SessionResult {
  return {
    sessionId,
    outcome: decision.outcome,
    message: decision.message,
    win32Error: decision.win32Error ?? 0,
    protection: decision.protection ?? Protection.UNSPECIFIED,
    session: session === undefined ? undefined : toProtoSession(session, protection, nowMs),
    response: decision.response ?? MessageResponse.UNSPECIFIED,
  };
}

/**
 * The wire form of a backend session at `nowMs` (its idle time is computed then), with the rule
 * that protects it.
 */
export function toProtoSession(
  session: BackendSession,
  protection: ProtectionContext,
  nowMs: number,
): Session {
  const idleMs = idleMsAt(session, nowMs);
  return {
    sessionId: session.sessionId,
    state: session.state,
    userName: session.userName,
    domainName: session.domainName,
    stationName: session.stationName,
    clientName: session.clientName,
    logonTime: session.logonTime,
    idleTime:
      idleMs === undefined
        ? undefined
        : { seconds: Math.floor(idleMs / 1000), nanos: (idleMs % 1000) * 1_000_000 },
    protection: protectionOf(session.sessionId, protection),
    lastInputTime: session.lastInputTime,
    locked: session.locked,
    note: session.note ?? "",
    groups: [...(session.groups ?? [])],
    groupsKnown: session.groups !== undefined,
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
