/**
 * The console's store: one interface for everything the console keeps (accounts, API tokens,
 * people's web sessions, the audit trail, the session history, policies and their runs), so that
 * callers never know which database is behind it. Every method is asynchronous, so that a store
 * over the network (PostgreSQL, for several consoles) can implement the same interface; the
 * embedded SQLite store (`sqlite-store.ts`) is the default.
 *
 * The store never holds a password or a token in clear: passwords arrive as scrypt hashes
 * (`security/passwords.ts`), tokens and web session ids as SHA-256 digests of their secrets.
 */

/** The console's roles: `reader` sees, `operator` also acts, `admin` also manages people. */
export const ROLES = ["reader", "operator", "admin"] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** Whether `role` may do what `needed` may (roles are ordered: reader < operator < admin). */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** A person's account, without its secret. */
export interface Account {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: Date;
  readonly passwordChangedAt: Date;
}

/** An account with its password hash, for checking a login. */
export interface AccountWithSecret extends Account {
  /** `scrypt$…` (see `security/passwords.ts`). */
  readonly passwordHash: string;
}

/** An API token, without its secret. */
export interface TokenInfo {
  /** The token's public id (shown by `token list`, taken by `token revoke`). */
  readonly id: string;
  readonly userName: string;
  readonly label: string;
  readonly createdAt: Date;
  /** When it last authenticated a request (updated at most once a minute). */
  readonly lastUsedAt: Date | undefined;
}

/** A person's signed-in browser session. */
export interface WebSession {
  /** SHA-256 of the cookie's secret, hex. */
  readonly idHash: string;
  readonly userId: number;
  /** The anti-CSRF token the browser must echo in `X-CSRF-Token` on every change. */
  readonly csrfToken: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
}

/** How a request (or a command) was authenticated, as the audit trail records it. */
export type AuthMethod = "password" | "cookie" | "token" | "cli" | "policy" | "none";

/** One record of the console's audit trail. */
export interface AuditEntry {
  readonly id: number;
  readonly time: Date;
  /** The person (account name) or `-` when nobody was authenticated. */
  readonly actor: string;
  readonly auth: AuthMethod;
  /** The client's address; `""` for the command line. */
  readonly address: string;
  /** What was asked: `login`, `logout`, `action.intent`, `action.result`, `user.add`, … */
  readonly action: string;
  /** `ok`, `denied`, `failed`, or an action's summary. */
  readonly outcome: string;
  /** The hosts concerned, if any. */
  readonly hosts: readonly string[];
  /** What else there is to know (the request, each result, why it was denied); JSON. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * An audit record to write; the store gives it its id and, unless given, the time, and keeps at
 * most {@link MAX_AUDIT_DETAIL_CHARS} of its detail (see {@link auditDetailText}).
 */
export type NewAuditEntry = Omit<AuditEntry, "id" | "time"> & { readonly time?: Date };

/**
 * An account name locked against logins by failed ones (`security/login-guard.ts`), kept so that a
 * restart does not lift it. `name` is the guard's key for the name (NFC, lower case): a lock is
 * kept for a name whether an account has it or not.
 */
export interface LoginLock {
  readonly name: string;
  readonly until: Date;
}

/** The largest audit `detail` a store keeps, in characters of JSON. */
export const MAX_AUDIT_DETAIL_CHARS = 16_384;

/**
 * The JSON a store keeps of a record's detail: the detail itself when it fits in
 * {@link MAX_AUDIT_DETAIL_CHARS}; else the detail without its largest fields, as few as make it
 * fit, with `omitted` naming each one left out and its length in characters of JSON (a 1,000-host
 * action's intent keeps its action, filter and message and leaves out the list of hosts, which
 * the record's `hosts` has); else, when even its small fields do not fit, a summary (its `method`
 * and `path`, cut to 256 characters, if it has them, and how long it was). A huge refused request
 * is summarised, never copied. Every store writes details through this, whoever made the record.
 */
export function auditDetailText(detail: Readonly<Record<string, unknown>>): string {
  const text = JSON.stringify(detail);
  if (text.length <= MAX_AUDIT_DETAIL_CHARS) return text;
  // Each field's share of the text, largest first: leave them out until the rest fits.
  const fields = Object.entries(detail)
    .map(([key, value]) => {
      const valueChars = (JSON.stringify(value) as string | undefined)?.length ?? 0;
      // `"key":value,`
      return { key, valueChars, chars: JSON.stringify(key).length + valueChars + 2 };
    })
    .sort((a, b) => b.chars - a.chars);
  const omitted: Record<string, number> = {};
  let left = text.length;
  for (const field of fields) {
    omitted[field.key] = field.valueChars;
    left -= field.chars;
    // The note of what was left out costs about what its own JSON does.
    if (left + JSON.stringify({ omitted }).length > MAX_AUDIT_DETAIL_CHARS) continue;
    const kept = Object.fromEntries(Object.entries(detail).filter(([key]) => !(key in omitted)));
    const shorter = JSON.stringify({ ...kept, omitted });
    if (shorter.length <= MAX_AUDIT_DETAIL_CHARS) return shorter;
  }
  const cut = (value: unknown) => (typeof value === "string" ? value.slice(0, 256) : undefined);
  return JSON.stringify({
    method: cut(detail["method"]),
    path: cut(detail["path"]),
    truncated: `${text.length} characters of detail, cut to this summary`,
  });
}

/** Which audit records to read: newest first, `limit` of them, older than `before` (an id). */
export interface AuditQuery {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly host?: string | undefined;
  /** Only records with a smaller id (the `next` cursor of the previous page). */
  readonly before?: number | undefined;
  readonly limit: number;
}

/** The session changes the history keeps (DESIGN section 10). */
export const HISTORY_KINDS = [
  "logon",
  "logoff",
  "connect",
  "disconnect",
  "lock",
  "unlock",
  "idle",
] as const;
/** One of {@link HISTORY_KINDS}. */
export type HistoryKind = (typeof HISTORY_KINDS)[number];

/** One session change, as the console saw it. */
export interface HistoryEvent {
  readonly id: number;
  readonly time: Date;
  /** The host's FQDN, as the inventory names it. */
  readonly host: string;
  readonly sessionId: number;
  /** `DOMAIN\user` (or the user name alone when there is no domain); `""` for nobody. */
  readonly user: string;
  readonly kind: HistoryKind;
  /** What else there is to know: the idle threshold crossed, the state now (`""`: nothing). */
  readonly detail: string;
}

/** A change to record; the store gives it its id. */
export type NewHistoryEvent = Omit<HistoryEvent, "id">;

/** Which changes to read: newest first (time, then id), `limit` of them. */
export interface HistoryQuery {
  readonly host?: string | undefined;
  /**
   * A user name pattern (`*` any run of characters, `?` one, without regard to case; checked by
   * the caller, as `compileUserPattern` does), matched against `DOMAIN\user` and against the user
   * name alone: `LAB\alice`, `alice`, `LAB\a*`, `*.bennett`.
   */
  readonly user?: string | undefined;
  /** From this time on (inclusive). */
  readonly from?: Date | undefined;
  /** Before this time (exclusive). */
  readonly to?: Date | undefined;
  /** Only changes older than this one (the `next` cursor of the previous page). */
  readonly before?: { readonly time: Date; readonly id: number } | undefined;
  readonly limit: number;
}

/**
 * A logon's span on a host, from its `logon` to its `logoff` (none while it lasts): what the
 * occupancy is counted from. The store keeps spans from the logon and logoff changes it records.
 */
export interface UsageSpan {
  readonly host: string;
  readonly sessionId: number;
  readonly user: string;
  readonly start: Date;
  readonly end: Date | undefined;
}

/**
 * Sessions in use per host and per hour (whole UTC hours): a session counts in every hour it was
 * logged on for any part of. Hosts without any use are left out.
 */
export interface HourlyOccupancy {
  /** The start of each hour, Unix ms. */
  readonly hours: readonly number[];
  /** Each host's counts, aligned with {@link hours}. */
  readonly hosts: ReadonlyMap<string, number[]>;
}

/** A policy as stored: its definition (JSON, checked by `policies/policy.ts`) and its state. */
export interface StoredPolicy {
  readonly name: string;
  /** The definition, as `policies/policy.ts` writes it. */
  readonly definition: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /**
   * The last due time the scheduler handled (ran, skipped or missed): written before a run starts,
   * so that a console restarted during a run never runs that due time again. Undefined: never.
   */
  readonly lastDueAt: Date | undefined;
}

/** One run of a policy (or a skipped or missed one). */
export interface PolicyRun {
  readonly id: number;
  readonly policy: string;
  /** The schedule's due time this run is for. */
  readonly dueAt: Date;
  readonly startedAt: Date;
  /** Undefined while it runs. */
  readonly endedAt: Date | undefined;
  /** `running`, `done`, `dry-run`, `skipped` (the previous run still going), `missed`, `failed`. */
  readonly outcome: string;
  /** Counts and words: sessions matched, acted on, left alone; why skipped. JSON. */
  readonly summary: Readonly<Record<string, unknown>>;
  /** Each host's result (JSON, as the API shows them). */
  readonly results: readonly unknown[];
}

/** A run to record; the store gives it its id. */
export type NewPolicyRun = Omit<PolicyRun, "id">;

/** An account name that exists already, or a token id taken (never a lookup that failed). */
export class StoreConflictError extends Error {
  override readonly name = "StoreConflictError";
}

/** The console's store. */
export interface ConsoleStore {
  /**
   * Adds an account.
   * @throws StoreConflictError when the name is taken.
   */
  addAccount(name: string, role: Role, passwordHash: string): Promise<Account>;
  /** Removes an account, its tokens and its web sessions; false when there was none. */
  removeAccount(name: string): Promise<boolean>;
  /** Every account, by name. */
  listAccounts(): Promise<Account[]>;
  /** The account of that name, with its hash. */
  findAccount(name: string): Promise<AccountWithSecret | undefined>;
  /** The account of that id. */
  accountById(id: number): Promise<Account | undefined>;
  /** Replaces the password and ends the account's web sessions; false when there is no account. */
  setPassword(name: string, passwordHash: string): Promise<boolean>;
  /** Changes the account's role (its sessions and tokens keep it); false when there is no account. */
  setRole(name: string, role: Role): Promise<boolean>;

  /**
   * Adds a token for an account.
   * @throws StoreConflictError when the id or hash is taken; TypeError when there is no such account.
   */
  addToken(token: {
    id: string;
    userName: string;
    label: string;
    secretHash: string;
  }): Promise<TokenInfo>;
  /** The account a token's hash belongs to, and the token; undefined when unknown or revoked. */
  findToken(secretHash: string): Promise<{ token: TokenInfo; account: Account } | undefined>;
  /** Records that the token was used now. */
  touchToken(id: string, now: Date): Promise<void>;
  /** Every token (of one account when named), newest first. */
  listTokens(userName?: string): Promise<TokenInfo[]>;
  /** Revokes (deletes) a token; false when there was none. */
  revokeToken(id: string): Promise<boolean>;

  /** Records a signed-in browser session. */
  addWebSession(session: WebSession): Promise<void>;
  /** The session of that id hash and its account. */
  findWebSession(idHash: string): Promise<{ session: WebSession; account: Account } | undefined>;
  /** Records that the session was used now. */
  touchWebSession(idHash: string, now: Date): Promise<void>;
  /** Ends one session. */
  removeWebSession(idHash: string): Promise<void>;
  /** Ends every session last seen before `before`, or created before `createdBefore`. */
  removeStaleWebSessions(before: Date, createdBefore: Date): Promise<number>;

  /** Locks an account name against logins until `lock.until` (or moves its end). */
  setLoginLock(lock: LoginLock): Promise<void>;
  /**
   * Lifts a name's login lock: answers when the lock it removed ends (that may be past), or
   * `undefined` when the name had none.
   */
  removeLoginLock(name: string): Promise<Date | undefined>;
  /**
   * A name's login lock as kept (ended or not), or `undefined` when it has none: one read by the
   * key, which a running console makes when an attempt meets a lock it holds, to learn whether
   * another process (`wms-console user unlock`, another console) lifted it.
   */
  loginLock(name: string): Promise<LoginLock | undefined>;
  /** The login locks that end after `now`; those that ended are removed. */
  loginLocks(now: Date): Promise<LoginLock[]>;

  /** Appends an audit record; returns its id. */
  appendAudit(entry: NewAuditEntry): Promise<number>;
  /** Appends audit records in one transaction (an action's per-host results, as they come). */
  appendAudits(entries: readonly NewAuditEntry[]): Promise<void>;
  /** Reads audit records, newest first. */
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * Removes at most `maxRecords` of the oldest audit records made before `before` (and their
   * host index); returns how many went. Callers repeat while it returns `maxRecords`, letting the
   * event loop go in between.
   */
  pruneAudit(before: Date, maxRecords: number): Promise<number>;

  /**
   * Appends session changes, in one transaction (callers batch them); a `logon` opens a
   * {@link UsageSpan}, a `logoff` closes the open one of that host and session.
   */
  appendHistory(events: readonly NewHistoryEvent[]): Promise<void>;
  /** Reads session changes, newest first. */
  queryHistory(query: HistoryQuery): Promise<HistoryEvent[]>;
  /** The usage spans that overlap `from`..`to`, host by host. */
  usageSpans(from: Date, to: Date): Promise<UsageSpan[]>;
  /**
   * The occupancy of `from`..`to` (widened to whole hours), counted by the store itself: the
   * same answer as counting {@link usageSpans} one by one (`history/occupancy.ts`), without
   * reading every span of a long window into the process.
   */
  hourlyOccupancy(from: Date, to: Date): Promise<HourlyOccupancy>;
  /** Removes changes and ended spans older than `before`; returns how many changes went. */
  pruneHistory(before: Date): Promise<number>;

  /**
   * Adds a policy.
   * @throws StoreConflictError when the name is taken.
   */
  addPolicy(name: string, definition: Readonly<Record<string, unknown>>): Promise<StoredPolicy>;
  /** Replaces a policy's definition; undefined when there is none. */
  updatePolicy(
    name: string,
    definition: Readonly<Record<string, unknown>>,
  ): Promise<StoredPolicy | undefined>;
  /** Removes a policy (its runs stay, for the record); false when there was none. */
  removePolicy(name: string): Promise<boolean>;
  /** Every policy, by name. */
  listPolicies(): Promise<StoredPolicy[]>;
  /** The policy of that name. */
  findPolicy(name: string): Promise<StoredPolicy | undefined>;
  /** Records the last due time the scheduler handled. */
  setPolicyLastDue(name: string, dueAt: Date): Promise<void>;
  /** Records a run (or a skipped or missed one); returns its id. */
  addPolicyRun(run: NewPolicyRun): Promise<number>;
  /** Records how a run ended. */
  finishPolicyRun(
    id: number,
    end: Pick<PolicyRun, "endedAt" | "outcome" | "summary" | "results">,
  ): Promise<void>;
  /** A policy's runs, newest first, `limit` of them, older than `before` (an id). */
  listPolicyRuns(name: string, limit: number, before?: number): Promise<PolicyRun[]>;

  /** Closes the store; later calls fail. */
  close(): Promise<void>;
}
