/**
 * The console's store: one interface for everything the console keeps (accounts, API tokens,
 * people's web sessions, the audit trail; session history and policies come later), so that
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
export type AuthMethod = "password" | "cookie" | "token" | "cli" | "none";

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

/** An audit record to write; the store gives it its id and, unless given, the time. */
export type NewAuditEntry = Omit<AuditEntry, "id" | "time"> & { readonly time?: Date };

/** Which audit records to read: newest first, `limit` of them, older than `before` (an id). */
export interface AuditQuery {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly host?: string | undefined;
  /** Only records with a smaller id (the `next` cursor of the previous page). */
  readonly before?: number | undefined;
  readonly limit: number;
}

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

  /** Appends an audit record; returns its id. */
  appendAudit(entry: NewAuditEntry): Promise<number>;
  /** Reads audit records, newest first. */
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;

  /** Closes the store; later calls fail. */
  close(): Promise<void>;
}
