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
  /** 409: the thing exists already (a policy of that name). */
  conflict: 409,
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
  readonly auth: "password" | "cookie" | "token" | "cli" | "policy" | "none";
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

/**
 * A host's status in the console's view: `online` (its watch stream is open), `unreachable`
 * (no connection, a timeout, or an error answer), `denied` (the agent refuses the console's
 * certificate or role), `draining` (the agent ended the watch: it is shutting down or
 * restarting), `unknown` (not heard from yet).
 */
export type ApiHostStatus = "online" | "unreachable" | "denied" | "draining" | "unknown";

/** The WTS connect states, as the API names them. */
export const SESSION_STATES = [
  "ACTIVE",
  "CONNECTED",
  "CONNECT_QUERY",
  "SHADOW",
  "DISCONNECTED",
  "IDLE",
  "LISTEN",
  "RESET",
  "DOWN",
  "INIT",
] as const;
/** One of {@link SESSION_STATES}. */
export type ApiSessionState = (typeof SESSION_STATES)[number];

/** One host of the fleet (`GET /api/v1/hosts`, and the `host` event). */
export interface ApiHost {
  /** The FQDN, as the inventory names it. */
  readonly host: string;
  /** Where the agent is dialled, `ADDRESS:PORT`. */
  readonly address: string;
  readonly status: ApiHostStatus;
  /** Since when the host has had this status. */
  readonly since: string;
  /** When the agent last answered anything (a snapshot, a change, a heartbeat); null: never. */
  readonly lastAnswer: string | null;
  /** When its sessions last changed; null: not since the console started. */
  readonly lastChange: string | null;
  /** The agent's version and backend (`wts`, `simulated`), once known. */
  readonly version: string | null;
  readonly backend: string | null;
  /** Sessions by state, e.g. `{ "ACTIVE": 12, "DISCONNECTED": 3 }` (states with none left out). */
  readonly counts: Readonly<Partial<Record<ApiSessionState, number>>>;
  /** Sessions whose screen is locked. */
  readonly locked: number;
  /** Why the host is not online, in words, with the gRPC status name; null when online. */
  readonly problem: { readonly code: string; readonly message: string } | null;
}

/** `GET /api/v1/hosts`. */
export interface HostList {
  readonly hosts: readonly ApiHost[];
}

/** One session of the fleet (`GET /api/v1/sessions`, and the events). */
export interface ApiSession {
  readonly host: string;
  readonly sessionId: number;
  readonly state: ApiSessionState;
  /** `""` when nobody is logged on. */
  readonly user: string;
  readonly domain: string;
  /** The WinStation name: `Console`, `RDP-Tcp#4`, … */
  readonly station: string;
  readonly client: string;
  readonly logonTime: string | null;
  /** The last keyboard or mouse input; null where Windows does not track it. */
  readonly lastInputTime: string | null;
  /**
   * Seconds since the last input, computed by the console when it answers; null when unknown
   * (which no filter treats as idle).
   */
  readonly idleSeconds: number | null;
  readonly locked: boolean;
  /** Why the agent would refuse to disconnect it (e.g. `SERVICES_SESSION`); null: it would not. */
  readonly protection: string | null;
  /** What the agent could not learn about it, if anything. */
  readonly note: string | null;
  /**
   * The groups of its user (`DOMAIN\Group`, sorted); `[]` when nobody is logged on; null when the
   * agent could not learn them (the note says why; an older agent does not report them).
   */
  readonly groups: readonly string[] | null;
}

/** `GET /api/v1/sessions?host=&user=&state=&minIdle=`. */
export interface SessionList {
  readonly sessions: readonly ApiSession[];
}

/** A change of one host's sessions, in an event. */
export type ApiSessionChange =
  | { readonly kind: "added" | "changed"; readonly session: ApiSession }
  | { readonly kind: "removed"; readonly host: string; readonly sessionId: number };

/**
 * The events of `GET /api/v1/events` (server-sent events; the SSE `event:` field is `type`):
 * - `snapshot` first, and again after the stream fell behind: every host and session (replace
 *   what you had);
 * - `host`: a host's status, counts or details changed, or it came with an inventory reload;
 * - `host-removed`: an inventory reload removed it (its sessions go with it);
 * - `sessions`: changes of one host's sessions, in order; a host that reconnects sends
 *   `replace: true` with all its sessions as `added`.
 * A comment line (`: keep-alive`) comes every 15 seconds when nothing else does.
 */
export type ApiEvent =
  | {
      readonly type: "snapshot";
      readonly hosts: readonly ApiHost[];
      readonly sessions: readonly ApiSession[];
    }
  | { readonly type: "host"; readonly host: ApiHost }
  | { readonly type: "host-removed"; readonly host: string }
  | {
      readonly type: "sessions";
      readonly host: string;
      readonly replace: boolean;
      readonly changes: readonly ApiSessionChange[];
    };

/** The actions of `POST /api/v1/actions`. */
export type ApiActionName = "disconnect" | "logoff" | "message";

/** Which sessions of the hosts an action with `hosts` selects (every part must match). */
export interface ApiActionFilter {
  /** A user name pattern (`*`, `?`; `DOMAIN\user` or `user`). @default any */
  readonly user?: string;
  /** @default any state */
  readonly states?: readonly ApiSessionState[];
  /** Idle at least this long (`30m`; a unit is required). An unknown idle time is never idle. */
  readonly minIdle?: string;
}

/** The message of `action: "message"`. */
export interface ApiMessage {
  /** 1 to 4,096 characters. */
  readonly text: string;
  /** At most 256 characters. @default the agent's */
  readonly title?: string;
  /** How long it stays on screen (`60s`). @default until the user closes it */
  readonly timeout?: string;
}

/** The warning of a disconnect or log-off: shown, then the grace period, then a second look. */
export interface ApiWarning {
  readonly text: string;
  readonly title?: string;
  /** `5m`; 0s to 1h. */
  readonly grace: string;
}

/**
 * `POST /api/v1/actions`: exactly one of `sessions` (by id) and `hosts` (with an optional
 * `filter`; `"all"` is every host of the inventory).
 */
export interface ActionRequest {
  readonly action: ApiActionName;
  readonly sessions?: readonly { readonly host: string; readonly sessionId: number }[];
  readonly hosts?: readonly string[] | "all";
  readonly filter?: ApiActionFilter;
  /** Report what would be done and change nothing. @default false */
  readonly whatIf?: boolean;
  /** Required for `message`, refused otherwise. */
  readonly message?: ApiMessage;
  /** Only for `disconnect` and `logoff`. */
  readonly warn?: ApiWarning;
}

/** One session's result in a host's line. */
export interface ApiSessionResult {
  readonly sessionId: number;
  /** `DISCONNECTED`, `WOULD_DISCONNECT`, `LOGGED_OFF`, `PROTECTED`, `NOT_FOUND`, … */
  readonly outcome: string;
  readonly message: string;
  /** The Windows error code; 0 when none. */
  readonly win32Error: number;
  readonly protection: string | null;
  /** The session as the agent saw it, when it says. */
  readonly user: string | null;
  readonly state: ApiSessionState | null;
}

/**
 * One line of the `application/x-ndjson` answer of `POST /api/v1/actions`: one per host, as each
 * finishes, every host of the request exactly once. `status` is the controller's (`ok`, `failed`,
 * `denied`, `unreachable`, `timeout`) or `unknown-host` (not in the inventory: nothing was sent).
 */
export interface ActionHostResult {
  readonly host: string;
  readonly status: "ok" | "failed" | "denied" | "unreachable" | "timeout" | "unknown-host";
  /** The gRPC status name when not `ok`. */
  readonly code?: string;
  readonly message?: string;
  /** A call that changes sessions reached the agent and no answer came: it may have acted. */
  readonly mayHaveActed?: boolean;
  readonly durationMs: number;
  readonly attempts: number;
  /** Per session, when the agent answered. */
  readonly results: readonly ApiSessionResult[];
  /** With `warn`: the warning's result per session warned. */
  readonly warnings?: readonly ApiSessionResult[];
}

/** An account, as `GET /api/v1/users` lists it (admin). */
export interface ApiUser {
  readonly name: string;
  readonly role: ApiRole;
  readonly createdAt: string;
  readonly passwordChangedAt: string;
  /**
   * Until when failed logins lock the name (ISO 8601), or `null` when they do not. Kept in the
   * console's store: a restart does not lift it (an admin's unlock does).
   */
  readonly lockedUntil: string | null;
}

/** `PUT /api/v1/users/{name}/role` (admin). */
export interface SetRoleRequest {
  readonly role: ApiRole;
}

/** `PUT /api/v1/users/{name}/password` (admin): ends the account's browser sessions. */
export interface SetPasswordRequest {
  /** 12 to 1,024 characters. */
  readonly password: string;
}

/** `POST /api/v1/users` (admin). */
export interface NewUserRequest {
  readonly name: string;
  readonly role: ApiRole;
  /** 12 to 1,024 characters. */
  readonly password: string;
}

/** An API token, as `GET /api/v1/tokens` lists it (admin): never its secret. */
export interface ApiToken {
  readonly id: string;
  readonly user: string;
  readonly label: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

/** `POST /api/v1/tokens` (admin). */
export interface NewTokenRequest {
  readonly user: string;
  /** At most 128 characters. @default "" */
  readonly label?: string;
}

/** The answer of `POST /api/v1/tokens`: the secret, shown this once. */
export interface NewToken extends ApiToken {
  readonly token: string;
}

/** A kind of session change in the history. */
export type ApiHistoryKind =
  "logon" | "logoff" | "connect" | "disconnect" | "lock" | "unlock" | "idle";

/** One session change (`GET /api/v1/history`). */
export interface ApiHistoryEvent {
  readonly id: number;
  readonly time: string;
  readonly host: string;
  readonly sessionId: number;
  /** `DOMAIN\user`, or the user name alone. */
  readonly user: string;
  readonly kind: ApiHistoryKind;
  /** The idle threshold crossed (`30m`), the state at a logon or connect; `""` otherwise. */
  readonly detail: string;
}

/** `GET /api/v1/history?host=&user=&from=&to=&limit=&before=`: a page, newest first. */
export interface HistoryPage {
  readonly events: readonly ApiHistoryEvent[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  readonly next?: string;
}

/**
 * `GET /api/v1/occupancy?from=&to=&by=host|hour`: sessions in use in each whole UTC hour of the
 * window (a session counts in every hour it was logged on for any part of).
 */
export interface OccupancyAnswer {
  readonly from: string;
  readonly to: string;
  /** The start of each hour. */
  readonly hours: readonly string[];
  readonly by: "host" | "hour";
  /** `by=hour`: the whole fleet's sessions in each hour. */
  readonly total?: readonly number[];
  /** `by=host`: each host that was used, its sessions in each hour, and its busiest hour. */
  readonly hosts?: readonly {
    readonly host: string;
    readonly sessions: readonly number[];
    readonly peak: number;
  }[];
}

/** Which hosts a policy covers. */
export type ApiPolicyHosts =
  | { readonly kind: "all" }
  | { readonly kind: "list"; readonly names: readonly string[] }
  | { readonly kind: "pattern"; readonly pattern: string };

/**
 * A policy's definition (`POST /api/v1/policies`, `PUT /api/v1/policies/{name}`). Durations are
 * written with a unit (`30m`, `2h`, `1d`); `schedule` has one of `every` (an interval, at least
 * `1m`) or `cron` (five fields in the console's time zone: `30 17 * * 1-5`).
 */
export interface ApiPolicyDefinition {
  readonly name: string;
  readonly description?: string;
  readonly hosts: ApiPolicyHosts;
  readonly sessions: {
    readonly states?: readonly ApiSessionState[];
    readonly user?: string;
    readonly minIdle?: string;
    readonly disconnectedFor?: string;
    readonly exemptUsers?: readonly string[];
    readonly exemptGroups?: readonly string[];
  };
  readonly action: "disconnect" | "logoff";
  readonly warning?: { readonly text: string; readonly grace: string } | null;
  readonly schedule: { readonly every: string } | { readonly cron: string };
  /** @default false */
  readonly enabled?: boolean;
  /** @default false */
  readonly dryRun?: boolean;
}

/** A policy as the API shows it: its definition and its schedule's state. */
export interface ApiPolicy {
  readonly definition: ApiPolicyDefinition;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The last due time handled (run, skipped or missed); null: none yet. */
  readonly lastDueAt: string | null;
  /** The next due time, if enabled. */
  readonly nextDueAt: string | null;
  /** Whether a run is in progress. */
  readonly running: boolean;
}

/** `GET /api/v1/policies`. */
export interface PolicyList {
  readonly policies: readonly ApiPolicy[];
}

/** One session's part in a preview or a run. */
export interface ApiPolicySessionResult {
  readonly sessionId: number;
  readonly user: string;
  readonly state: string;
  /** The agent's outcome (`WOULD_LOG_OFF`, `LOGGED_OFF`, `NO_LONGER_MATCHES`, `PROTECTED`…) or `EXEMPT`. */
  readonly outcome: string;
  readonly message: string;
}

/** One host's part in a preview or a run. */
export interface ApiPolicyHostResult {
  readonly host: string;
  /** `ok`, `unreachable`, `timeout`, `denied`, `failed`, or `unknown-host`. */
  readonly status: string;
  readonly code?: string;
  readonly message?: string;
  readonly mayHaveActed?: boolean;
  /** Sessions the policy selected there (before the agent's protection rules). */
  readonly matched: number;
  readonly results: readonly ApiPolicySessionResult[];
  /** Sessions warned first. */
  readonly warned?: number;
}

/** `POST /api/v1/policies/{name}/preview`: what the policy would do now, host by host. */
export interface PolicyPreview {
  readonly policy: string;
  readonly time: string;
  readonly hosts: readonly ApiPolicyHostResult[];
}

/** One run of a policy (or a due time skipped or missed). */
export interface ApiPolicyRun {
  readonly id: number;
  readonly policy: string;
  readonly dueAt: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** `running`, `done`, `dry-run`, `skipped`, `missed`, `failed`, `cancelled`. */
  readonly outcome: string;
  /** Counts (hosts, failedHosts, matched, outcomes) and, for a skip or miss, the reason. */
  readonly summary: Readonly<Record<string, unknown>>;
  readonly hosts: readonly ApiPolicyHostResult[];
}

/** `GET /api/v1/policies/{name}/runs?limit=&before=`: newest first. */
export interface PolicyRunPage {
  readonly runs: readonly ApiPolicyRun[];
  /** Pass as `before` for the next (older) page; absent on the last page. */
  readonly next?: number;
}
