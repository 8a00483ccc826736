/**
 * The fan-out engine: one call per host through a bounded pool of workers, each host with its own
 * deadline and `UNAVAILABLE`-only retries with jittered backoff, results yielded as hosts finish.
 * A slow or dead host holds only its own slot of the pool, never the others' results.
 */
import { setMaxListeners } from "node:events";
import { status as Status } from "@grpc/grpc-js";
import type { WmsSessionServiceClient } from "../proto/gen/wms/v1/wms_session.js";
import { isConnected, waitUntilConnected, type ChannelPool } from "./channel-pool.js";
import { connectionProblem } from "./connection-problem.js";
import type { ResolvedControllerOptions } from "./controller-options.js";
import { formatHostPort } from "./host-name.js";
import {
  HostCallError,
  classifyFailure,
  mayHaveActed,
  statusName,
  type HostFailure,
  type HostResult,
  type RpcName,
} from "./host-result.js";
import type { ConnectionAttempt } from "./owned-connections.js";
import type { Target } from "./targets.js";

/** What one attempt of a host's call gets. */
export interface AttemptContext {
  readonly target: Target;
  readonly client: WmsSessionServiceClient;
  /**
   * The host's deadline as grpc-js takes it, a wall-clock `Date`: the same instant (on the
   * controller's clock) for every attempt.
   */
  readonly deadline: Date;
  /** Aborts when the run is cancelled or abandoned. */
  readonly signal: AbortSignal;
  /**
   * Tells the fan-out that this attempt's request left for the agent (an answer implies it): a
   * call that changes sessions and then fails without an answer may have taken effect.
   */
  readonly requestSent: () => void;
}

/** Makes one attempt of a host's call; rejects with the grpc-js error. */
export type HostCall<T> = (context: AttemptContext) => Promise<T>;

/**
 * The delay before retry `attempt` (1-based): uniform in [0, min(max, base × 2^(attempt-1))).
 */
export function backoffMs(
  attempt: number,
  options: Pick<ResolvedControllerOptions, "retryBaseDelayMs" | "retryMaxDelayMs" | "random">,
): number {
  const ceiling = Math.min(options.retryMaxDelayMs, options.retryBaseDelayMs * 2 ** (attempt - 1));
  return Math.floor(options.random() * ceiling);
}

/** Whether an `UNAVAILABLE` came from the agent itself over a live connection. */
function answeredByAgent(error: HostCallError, client: WmsSessionServiceClient): boolean {
  if (/^(No connection established|Connection dropped)/.test(error.details)) return false;
  return isConnected(client);
}

/**
 * The failure of one attempt of a host's call, classified (see {@link classifyFailure}) while the
 * channel's state still tells whether the agent was reached; `requestSent` says whether the
 * request left for the agent, so that a change it may have made is marked (see
 * {@link mayHaveActed}).
 */
export function hostFailure(
  caught: unknown,
  target: Target,
  rpc: RpcName,
  client: WmsSessionServiceClient,
  counts: { readonly attempts: number; readonly durationMs: number },
  requestSent = false,
): HostFailure {
  const error = HostCallError.from(caught, target.fqdn, rpc);
  const connected =
    error.final || error.code !== Status.UNAVAILABLE || answeredByAgent(error, client);
  return {
    host: target.fqdn,
    address: formatHostPort(target.address),
    status: classifyFailure(error.code, connected, error.details),
    code: statusName(error.code),
    message: error.details,
    error,
    ...counts,
    ...(mayHaveActed(error, requestSent, connected) ? { mayHaveActed: true } : {}),
  };
}

async function runHost<T>(
  target: Target,
  rpc: RpcName,
  call: HostCall<T>,
  pool: ChannelPool,
  options: ResolvedControllerOptions,
  signal: AbortSignal,
): Promise<HostResult<T>> {
  const address = formatHostPort(target.address);
  // One clock, `options.now`, for the deadline and the durations; grpc-js takes its deadline as
  // a wall-clock Date, made from the time left on that clock.
  const start = options.now();
  const deadline = start + options.timeoutMs;
  const remainingMs = () => deadline - options.now();
  // When the host's call began, on the monotonic clock connection attempts are stamped with.
  const startedAt = performance.now();
  const client = pool.client(target);
  const elapsed = () => Math.max(0, Math.round(options.now() - start));
  let failure: HostFailure | undefined;
  // Whether some attempt's request reached the agent and may have acted: kept across retries.
  let acted = false;
  for (let attempts = 1; ; attempts++) {
    if (failure !== undefined) {
      const waitMs = backoffMs(attempts - 1, options);
      if (waitMs >= remainingMs()) return failure;
      await options.delay(waitMs, signal).catch(() => undefined);
      const windowMs = Math.min(remainingMs(), options.reconnectWindowMs);
      if (!(await waitUntilConnected(client, windowMs, signal))) {
        // No connection came back in time: this retry failed as the last attempt did.
        failure = { ...failure, attempts, durationMs: elapsed() };
        if (attempts > options.retries || signal.aborted || remainingMs() <= 0) {
          return failure;
        }
        continue;
      }
    }
    let sent = false;
    try {
      const response = await call({
        target,
        client,
        deadline: new Date(Date.now() + remainingMs()),
        signal,
        requestSent: () => (sent = true),
      });
      return {
        host: target.fqdn,
        address,
        status: "ok",
        response,
        durationMs: elapsed(),
        attempts,
      };
    } catch (caught) {
      failure = hostFailure(caught, target, rpc, client, { attempts, durationMs: elapsed() }, sent);
      if (!sent) failure = withConnectionProblem(failure, attemptDuring(pool, target, startedAt));
      // Once an attempt may have acted, the host's result says so whatever the retries do.
      acted ||= failure.mayHaveActed === true;
      if (acted) failure = { ...failure, mayHaveActed: true };
      const { error } = failure;
      // A refused agent certificate (`denied`) is the same on every attempt, and a final answer
      // (health `NOT_SERVING`) is what the agent says now: neither is retried.
      if (
        error.code !== Status.UNAVAILABLE ||
        error.final ||
        failure.status === "denied" ||
        attempts > options.retries ||
        signal.aborted
      ) {
        return failure;
      }
    }
  }
}

/**
 * The channel's last connection attempt, if it tells about a call that began at `startedAt`: one
 * begun during it, one still in its handshake, or one that failed (grpc-js then reports its error
 * until the next attempt).
 */
function attemptDuring(
  pool: ChannelPool,
  target: Target,
  startedAt: number,
): ConnectionAttempt | undefined {
  const attempt = pool.lastConnectionAttempt(target);
  if (attempt === undefined) return undefined;
  const current = attempt.phase === "handshake" || attempt.phase === "failed";
  return attempt.startedAt >= startedAt || current ? attempt : undefined;
}

/**
 * A failure of a call that never reached the agent, told from how its connection attempt went
 * (see {@link connectionProblem}) when that says more than grpc-js did. The status is kept: it was
 * classified from what grpc-js reported.
 */
export function withConnectionProblem(
  failure: HostFailure,
  attempt: ConnectionAttempt | undefined,
): HostFailure {
  const { error } = failure;
  if (error.final) return failure;
  const problem = connectionProblem(error.host, attempt, error.code, error.details);
  if (problem === undefined) return failure;
  return {
    ...failure,
    message: problem,
    error: new HostCallError(error.host, error.rpc, error.code, problem, { cause: error }),
  };
}

/** A host whose call could not even start (e.g. the controller was closed). */
function unexpectedFailure(target: Target, rpc: RpcName, caught: unknown): HostFailure {
  const error = HostCallError.from(caught, target.fqdn, rpc);
  return {
    host: target.fqdn,
    address: formatHostPort(target.address),
    status: "failed",
    code: statusName(error.code),
    message: error.details,
    error,
    durationMs: 0,
    attempts: 0,
  };
}

/**
 * Calls `call` once per target (plus retries) with at most `options.throttle` calls in flight,
 * and yields one result per target, in the order they finish.
 *
 * The pool is `throttle` workers taking the next target as each finishes its last: a host's
 * result is kept until the consumer takes it (at most one per host, as the calls were made
 * whatever the consumer's pace). Unary calls have no stream to slow down, so they need none of
 * the per-source pulling of `merge-sources.ts` (which watches use), a generator and a `p-limit`
 * slot per host that cost a fan-out to a thousand hosts about 30 µs of CPU a host and 10 % of its
 * wall time (`bench/console.ts`: the library against the bare grpc-js floor).
 *
 * Cancelling `signal` cancels the calls in flight and makes the iteration throw the signal's
 * reason; leaving the loop early (`break`) cancels what is left too.
 */
export async function* fanOut<T>(
  targets: readonly Target[],
  rpc: RpcName,
  call: HostCall<T>,
  pool: ChannelPool,
  options: ResolvedControllerOptions,
  signal?: AbortSignal,
): AsyncGenerator<HostResult<T>, void, undefined> {
  signal?.throwIfAborted();
  const run = new AbortController();
  // Every host in flight listens to this signal; --throttle may be far above the default of 10.
  setMaxListeners(0, run.signal);
  const onAbort = () => run.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  // Results not yet taken, in the order the hosts finished; the consumer waiting for one.
  const finished: HostResult<T>[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  run.signal.addEventListener("abort", notify);
  let next = 0;
  const worker = async () => {
    while (next < targets.length && !run.signal.aborted) {
      const target = targets[next++] as Target;
      finished.push(
        await runHost(target, rpc, call, pool, options, run.signal).catch((caught: unknown) =>
          unexpectedFailure(target, rpc, caught),
        ),
      );
      notify();
    }
  };
  try {
    for (let i = 0; i < Math.min(options.throttle, targets.length); i++) void worker();
    for (let taken = 0; taken < targets.length; taken++) {
      while (finished.length === 0) {
        run.signal.throwIfAborted();
        await new Promise<void>((resolve) => (wake = resolve));
      }
      run.signal.throwIfAborted();
      yield finished.shift() as HostResult<T>;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    run.signal.removeEventListener("abort", notify);
    if (!run.signal.aborted) run.abort(new Error("fan-out abandoned"));
  }
}
