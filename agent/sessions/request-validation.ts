/**
 * Checks of whole requests (DESIGN section 2). A request that fails here is refused with
 * `INVALID_ARGUMENT` or `FAILED_PRECONDITION` before any session is looked at.
 */
import { status as Status } from "@grpc/grpc-js";
import { canonicalHostName } from "../../common/host-name.js";
import { MAX_SESSION_IDS, WTS_CURRENT_SESSION, isSessionId } from "../../common/session-id.js";
import { invalidArgument, RpcError } from "../server/rpc-error.js";

/**
 * Validates the ids of a `Disconnect` (or `ListSessions` when `allowEmpty`) and returns them
 * without duplicates, in the order they were first named.
 */
export function validateSessionIds(
  ids: readonly number[],
  options: { allowEmpty: boolean; field?: string },
): number[] {
  const field = options.field ?? "session_ids";
  if (ids.length === 0 && !options.allowEmpty) {
    throw invalidArgument(`${field}: at least one session id is required`);
  }
  if (ids.length > MAX_SESSION_IDS) {
    throw invalidArgument(`${field}: ${ids.length} ids; at most ${MAX_SESSION_IDS} are accepted`);
  }
  for (const [index, id] of ids.entries()) checkSessionId(id, `${field}[${index}]`);
  return [...new Set(ids)];
}

/** Validates one session id field (e.g. `caller_session_id`). */
export function checkSessionId(id: number, field: string): void {
  if (id === WTS_CURRENT_SESSION) {
    throw invalidArgument(
      `${field}: 4294967295 is WTS_CURRENT_SESSION ("the caller's own session" in Win32) and is refused; name the session by its id`,
    );
  }
  if (!isSessionId(id)) throw invalidArgument(`${field}: ${id} is not a session id (uint32)`);
}

/**
 * Refuses a request meant for another machine: `expected_host`, when set, must be this agent's
 * host name (compared without case and without a trailing dot). `localhost` is also accepted from
 * a loopback peer: a caller that reached the agent over loopback and meant "this machine" (the
 * cmdlet's default `-Server`) is where it meant to be.
 */
export function checkExpectedHost(
  expectedHost: string,
  hostFqdn: string,
  peerIsLoopback = false,
): void {
  if (expectedHost === "") return;
  const expected = canonicalHostName(expectedHost);
  if (expected === canonicalHostName(hostFqdn)) return;
  if (peerIsLoopback && (expected === "localhost" || expected.endsWith(".localhost"))) return;
  throw new RpcError(
    Status.FAILED_PRECONDITION,
    `expected_host is ${JSON.stringify(expectedHost)} but this agent is ${JSON.stringify(hostFqdn)}; nothing was changed`,
  );
}
