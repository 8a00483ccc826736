/**
 * The console's JSON API, as types: every request body, response body and event of
 * `/api/v1/…`, in one module that the server and the web UI (and any TypeScript client) import,
 * so that both sides are checked against the same definition. Times are ISO 8601 strings (UTC).
 * docs/console.md describes each endpoint.
 */

/** The console's roles: `reader` sees, `operator` also acts, `admin` also manages people. */
export type ApiRole = "reader" | "operator" | "admin";

/** Every error code the API answers with, and the HTTP status that goes with it. */
export const API_ERROR_STATUS = {
  /** 400: the request is malformed (the message says what and where). */
  bad_request: 400,
  /** 401: no valid session cookie or token, or the session expired. */
  unauthenticated: 401,
  /** 401: a login with a wrong user name or password (the two are never told apart). */
  invalid_credentials: 401,
  /** 403: authenticated, but the role does not allow this. */
  forbidden: 403,
  /** 403: a change made with a session cookie without the right `X-CSRF-Token` header. */
  csrf_failed: 403,
  /** 404: no such endpoint (or, for a named thing, no such thing). */
  not_found: 404,
  /** 413: the body is larger than the endpoint takes. */
  payload_too_large: 413,
  /** 415: a body that is not `application/json`. */
  unsupported_media_type: 415,
  /** 429: too many failed logins (from this address, or for this account); see `Retry-After`. */
  too_many_attempts: 429,
  /** 500: the console failed; details are in its log, never in the answer. */
  internal: 500,
  /** 503: the console is starting or stopping, or too busy to take this now. */
  unavailable: 503,
} as const;

/** One of the API's error codes. */
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** The body of every error answer. */
export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string };
}

/** The header a browser session must send, with its CSRF token, on every change. */
export const CSRF_HEADER = "x-csrf-token";

/** `POST /api/v1/login`. */
export interface LoginRequest {
  readonly user: string;
  readonly password: string;
}

/** Who is signed in: the answer of `POST /api/v1/login` and `GET /api/v1/me`. */
export interface WhoAmI {
  readonly user: string;
  readonly role: ApiRole;
  /** How this request was authenticated. */
  readonly auth: "cookie" | "token";
  /**
   * The token to send in the `X-CSRF-Token` header with every `POST` (cookie sessions only;
   * absent for a bearer token, which needs none).
   */
  readonly csrfToken?: string;
  /** Seconds without a request after which the session ends (cookie sessions only). */
  readonly idleTimeoutSeconds?: number;
}

/** One record of the console's audit trail (`GET /api/v1/audit`). */
export interface AuditRecord {
  readonly id: number;
  readonly time: string;
  /** The account name, or `-` when nobody was authenticated. */
  readonly actor: string;
  readonly auth: "password" | "cookie" | "token" | "cli" | "none";
  readonly address: string;
  /** `login`, `logout`, `denied`, `action.intent`, `action.result`, `user.add`, `token.create`… */
  readonly action: string;
  readonly outcome: string;
  readonly hosts: readonly string[];
  readonly detail: Readonly<Record<string, unknown>>;
}

/** `GET /api/v1/audit?actor=&action=&host=&limit=&before=`: a page, newest first. */
export interface AuditPage {
  readonly records: readonly AuditRecord[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  readonly next?: number;
}

/** `GET /healthz`. */
export interface Health {
  readonly status: "ok";
}
