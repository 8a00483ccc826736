/**
 * Session ids as the Win32 API and the wire contract define them (DESIGN section 2): a uint32,
 * except 4294967295, `WTS_CURRENT_SESSION`, which the Win32 API reads as "the caller's own
 * session". That id never names a session: not in a request, not in a fixture, never on its way
 * to the OS (`WTSDisconnectSession(…, WTS_CURRENT_SESSION, …)` would disconnect the agent's own).
 */

/** `WTS_CURRENT_SESSION`: "the caller's own session" to the Win32 API; never a session id. */
export const WTS_CURRENT_SESSION = 0xffffffff;

/** The largest valid session id, 4294967294: a uint32 below {@link WTS_CURRENT_SESSION}. */
export const MAX_SESSION_ID = WTS_CURRENT_SESSION - 1;

/**
 * Most session ids one request may name (`Disconnect`, `ListSessions`, …). A MultiPoint or RDS
 * host has tens of sessions, hundreds at most; 4,096 leaves room for scripts that pass ranges
 * while keeping the largest valid request about 20 KiB, which the agent's receive limit follows.
 */
export const MAX_SESSION_IDS = 4096;

/** Whether `value` is a session id: an integer 0..{@link MAX_SESSION_ID}. */
export function isSessionId(value: unknown): boolean {
  return (
    Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SESSION_ID
  );
}
