/**
 * People's browser sessions: a random secret in a cookie (`HttpOnly; Secure; SameSite=Strict`,
 * `__Host-` prefixed so that no subdomain can set or shadow it), its SHA-256 in the store with
 * the account, an anti-CSRF token, and the times that end it: an idle timeout and a maximum age.
 * Over `--insecure-loopback` (plain HTTP, development) the cookie cannot be `Secure`, and so
 * cannot have the `__Host-` prefix either: it is `wmsconsole_session`, and only there.
 */

/**
 * Milliseconds without a request after which a session ends: 30 minutes, the usual idle limit
 * of administration consoles (OWASP: 15–30 minutes for high-value applications). The web UI's
 * event stream counts as activity only when it opens, not while it stays open.
 */
export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;
/** Milliseconds after which a session ends however active: 12 hours, a working day. */
export const DEFAULT_SESSION_MAX_AGE_MS = 12 * 60 * 60_000;
/**
 * A session's last-seen time is written at most this often, in milliseconds, so that a busy UI
 * does not write to the store on every request; the idle timeout is this much less exact.
 */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;

/** The cookie's name: `__Host-wmsconsole` over HTTPS, `wmsconsole_session` in development. */
export function sessionCookieName(secure: boolean): string {
  return secure ? "__Host-wmsconsole" : "wmsconsole_session";
}

/** The `Set-Cookie` value that gives the browser a session (a session cookie: no Max-Age). */
export function sessionCookie(secret: string, secure: boolean): string {
  return [
    `${sessionCookieName(secure)}=${secret}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Strict",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

/** The `Set-Cookie` value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookie("", secure)}; Max-Age=0`;
}

/** The value of cookie `name` in a `Cookie` header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const equals = part.indexOf("=");
    if (equals < 0) continue;
    if (part.slice(0, equals).trim() === name) return part.slice(equals + 1).trim();
  }
  return undefined;
}
