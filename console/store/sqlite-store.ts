/**
 * The embedded store: one SQLite file, `console.db` in the data directory, through
 * `better-sqlite3` (synchronous calls, each a few microseconds, wrapped in promises to keep the
 * {@link ConsoleStore} interface a network store can implement). WAL journaling, so that the
 * service and a `wms-console user …` command can use the file at the same time; foreign keys on,
 * so removing an account removes its tokens and sessions in the same statement.
 */
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { compileWildcard, type WildcardPattern } from "../../common/wildcard.js";
import { MIGRATIONS, type Migration } from "./migrations.js";
import {
  ROLES,
  auditDetailText,
  StoreConflictError,
  type Account,
  type AccountWithSecret,
  type AuditEntry,
  type AuditQuery,
  type AuthMethod,
  type ConsoleStore,
  type LoginLock,
  type HistoryEvent,
  type HistoryKind,
  type HistoryQuery,
  type HourlyOccupancy,
  type NewAuditEntry,
  type NewHistoryEvent,
  type NewPolicyRun,
  type PolicyRun,
  type StoredPolicy,
  type UsageSpan,
  type Role,
  type TokenInfo,
  type WebSession,
} from "./store.js";

/** The database file's name inside the data directory. */
export const DATABASE_FILE = "console.db";

/**
 * Milliseconds a statement waits for another process's write lock (the service and a `user`
 * command writing at once) before failing with SQLITE_BUSY: writes take microseconds, so 5 s is
 * only reached by a stuck process.
 */
export const BUSY_TIMEOUT_MS = 5000;

/** A database this build cannot use (newer schema, not a console store, unreadable). */
export class StoreOpenError extends Error {
  override readonly name = "StoreOpenError";
}

interface AccountRow {
  id: number;
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  password_changed_at: number;
}

interface TokenRow {
  id: string;
  name: string;
  label: string;
  created_at: number;
  last_used_at: number | null;
}

interface AuditRow {
  id: number;
  time: number;
  actor: string;
  auth: string;
  address: string;
  action: string;
  outcome: string;
  hosts: string;
  detail: string;
}

interface HistoryRow {
  id: number;
  time: number;
  host: string;
  session_id: number;
  user: string;
  kind: string;
  detail: string;
}

interface SpanRow {
  host: string;
  session_id: number;
  user: string;
  started: number;
  ended: number | null;
}

interface PolicyRow {
  name: string;
  definition: string;
  created_at: number;
  updated_at: number;
  last_due_at: number | null;
}

interface RunRow {
  id: number;
  policy: string;
  due_at: number;
  started_at: number;
  ended_at: number | null;
  outcome: string;
  summary: string;
  results: string;
}

function toHistory(row: HistoryRow): HistoryEvent {
  return {
    id: row.id,
    time: new Date(row.time),
    host: row.host,
    sessionId: row.session_id,
    user: row.user,
    kind: row.kind as HistoryKind,
    detail: row.detail,
  };
}

function toSpan(row: SpanRow): UsageSpan {
  return {
    host: row.host,
    sessionId: row.session_id,
    user: row.user,
    start: new Date(row.started),
    end: row.ended === null ? undefined : new Date(row.ended),
  };
}

function toPolicy(row: PolicyRow): StoredPolicy {
  return {
    name: row.name,
    definition: JSON.parse(row.definition) as Record<string, unknown>,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastDueAt: row.last_due_at === null ? undefined : new Date(row.last_due_at),
  };
}

function toRun(row: RunRow): PolicyRun {
  return {
    id: row.id,
    policy: row.policy,
    dueAt: new Date(row.due_at),
    startedAt: new Date(row.started_at),
    endedAt: row.ended_at === null ? undefined : new Date(row.ended_at),
    outcome: row.outcome,
    summary: JSON.parse(row.summary) as Record<string, unknown>,
    results: JSON.parse(row.results) as unknown[],
  };
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    role: (ROLES as readonly string[]).includes(row.role) ? (row.role as Role) : "reader",
    createdAt: new Date(row.created_at),
    passwordChangedAt: new Date(row.password_changed_at),
  };
}

function toToken(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    userName: row.name,
    label: row.label,
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
  };
}

function toAudit(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    time: new Date(row.time),
    actor: row.actor,
    auth: row.auth as AuthMethod,
    address: row.address,
    action: row.action,
    outcome: row.outcome,
    hosts: JSON.parse(row.hosts) as string[],
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  };
}

/** Runs the migrations newer than the database's version, each in its own transaction. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS) {
  const current = db.pragma("user_version", { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreOpenError(
      `the store's schema is version ${current}, newer than this console's ${latest}: it was written by a newer wms-console; run that one, or restore a backup`,
    );
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** The folder holding `console.db`; made (mode 0700) when missing. */
  readonly dataDir: string;
}

/**
 * Opens (creating when missing) the store in `dataDir` and brings its schema up to date.
 * @throws StoreOpenError when the folder or file cannot be used.
 */
export function openSqliteStore(options: SqliteStoreOptions): ConsoleStore {
  const path = join(options.dataDir, DATABASE_FILE);
  let db: Database.Database;
  try {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    // The password hashes and the audit trail are nobody else's business.
    if (process.platform !== "win32") chmodSync(path, 0o600);
    db.pragma("journal_mode = WAL");
    db.pragma("foreign_keys = ON");
    db.pragma("synchronous = NORMAL");
    migrate(db);
  } catch (error) {
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(`${path}: cannot open the store: ${(error as Error).message}`);
  }
  return new SqliteStore(db);
}

const ACCOUNT_COLUMNS = "id, name, role, password_hash, created_at, password_changed_at";
const SPAN_COLUMNS = "host, session_id, user, started, ended";
/** One hour in milliseconds: occupancy's unit. */
const OCCUPANCY_HOUR_MS = 3_600_000;
const POLICY_COLUMNS = "name, definition, created_at, updated_at, last_due_at";
const TOKEN_SELECT =
  "SELECT t.id, a.name, t.label, t.created_at, t.last_used_at FROM tokens t JOIN accounts a ON a.id = t.account_id";

class SqliteStore implements ConsoleStore {
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.#db = db;
    registerUserMatch(db);
    this.#statements = prepare(db);
  }

  addAccount(name: string, role: Role, passwordHash: string): Promise<Account> {
    return run(() => {
      const now = Date.now();
      try {
        const row = this.#statements.addAccount.get(name, role, passwordHash, now, now) as
          AccountRow | undefined;
        return toAccount(row as AccountRow);
      } catch (error) {
        if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
          throw new StoreConflictError(`there is an account named ${name} already`);
        }
        throw error;
      }
    });
  }

  removeAccount(name: string): Promise<boolean> {
    return run(() => this.#statements.removeAccount.run(name).changes > 0);
  }

  listAccounts(): Promise<Account[]> {
    return run(() => (this.#statements.listAccounts.all() as AccountRow[]).map(toAccount));
  }

  findAccount(name: string): Promise<AccountWithSecret | undefined> {
    return run(() => {
      const row = this.#statements.findAccount.get(name) as AccountRow | undefined;
      return row === undefined ? undefined : { ...toAccount(row), passwordHash: row.password_hash };
    });
  }

  accountById(id: number): Promise<Account | undefined> {
    return run(() => {
      const row = this.#statements.accountById.get(id) as AccountRow | undefined;
      return row === undefined ? undefined : toAccount(row);
    });
  }

  setPassword(name: string, passwordHash: string): Promise<boolean> {
    return run(() =>
      this.#db.transaction(() => {
        const row = this.#statements.findAccount.get(name) as AccountRow | undefined;
        if (row === undefined) return false;
        this.#statements.setPassword.run(passwordHash, Date.now(), row.id);
        this.#statements.removeSessionsOf.run(row.id);
        return true;
      })(),
    );
  }

  setRole(name: string, role: Role): Promise<boolean> {
    return run(() => this.#statements.setRole.run(role, name).changes > 0);
  }

  addToken(token: {
    id: string;
    userName: string;
    label: string;
    secretHash: string;
  }): Promise<TokenInfo> {
    return run(() => {
      const account = this.#statements.findAccount.get(token.userName) as AccountRow | undefined;
      if (account === undefined) throw new TypeError(`there is no account named ${token.userName}`);
      const now = Date.now();
      try {
        this.#statements.addToken.run(token.id, token.secretHash, account.id, token.label, now);
      } catch (error) {
        if (String((error as { code?: string }).code).startsWith("SQLITE_CONSTRAINT")) {
          throw new StoreConflictError(`token ${token.id} exists already`);
        }
        throw error;
      }
      return {
        id: token.id,
        userName: account.name,
        label: token.label,
        createdAt: new Date(now),
        lastUsedAt: undefined,
      };
    });
  }

  findToken(secretHash: string): Promise<{ token: TokenInfo; account: Account } | undefined> {
    return run(() => {
      const row = this.#statements.findToken.get(secretHash) as
        (TokenRow & { account_id: number }) | undefined;
      if (row === undefined) return undefined;
      const account = this.#statements.accountById.get(row.account_id) as AccountRow | undefined;
      if (account === undefined) return undefined;
      return { token: toToken(row), account: toAccount(account) };
    });
  }

  touchToken(id: string, now: Date): Promise<void> {
    return run(() => {
      this.#statements.touchToken.run(now.getTime(), id);
    });
  }

  listTokens(userName?: string): Promise<TokenInfo[]> {
    return run(() =>
      (userName === undefined
        ? (this.#statements.listTokens.all() as TokenRow[])
        : (this.#statements.listTokensOf.all(userName) as TokenRow[])
      ).map(toToken),
    );
  }

  revokeToken(id: string): Promise<boolean> {
    return run(() => this.#statements.revokeToken.run(id).changes > 0);
  }

  addWebSession(session: WebSession): Promise<void> {
    return run(() => {
      this.#statements.addSession.run(
        session.idHash,
        session.userId,
        session.csrfToken,
        session.createdAt.getTime(),
        session.lastSeenAt.getTime(),
      );
    });
  }

  findWebSession(idHash: string): Promise<{ session: WebSession; account: Account } | undefined> {
    return run(() => {
      const row = this.#statements.findSession.get(idHash) as
        | (AccountRow & {
            id_hash: string;
            csrf_token: string;
            s_created_at: number;
            last_seen_at: number;
          })
        | undefined;
      if (row === undefined) return undefined;
      return {
        session: {
          idHash: row.id_hash,
          userId: row.id,
          csrfToken: row.csrf_token,
          createdAt: new Date(row.s_created_at),
          lastSeenAt: new Date(row.last_seen_at),
        },
        account: toAccount(row),
      };
    });
  }

  touchWebSession(idHash: string, now: Date): Promise<void> {
    return run(() => {
      this.#statements.touchSession.run(now.getTime(), idHash);
    });
  }

  removeWebSession(idHash: string): Promise<void> {
    return run(() => {
      this.#statements.removeSession.run(idHash);
    });
  }

  removeStaleWebSessions(before: Date, createdBefore: Date): Promise<number> {
    return run(
      () =>
        this.#statements.removeStaleSessions.run(before.getTime(), createdBefore.getTime()).changes,
    );
  }

  setLoginLock(lock: LoginLock): Promise<void> {
    return run(() => {
      this.#statements.setLoginLock.run(lock.name, lock.until.getTime());
    });
  }

  removeLoginLock(name: string): Promise<Date | undefined> {
    return run(() => {
      const row = this.#statements.removeLoginLock.get(name) as { until: number } | undefined;
      return row === undefined ? undefined : new Date(row.until);
    });
  }

  loginLock(name: string): Promise<LoginLock | undefined> {
    return run(() => {
      const row = this.#statements.loginLock.get(name) as { until: number } | undefined;
      return row === undefined ? undefined : { name, until: new Date(row.until) };
    });
  }

  loginLocks(now: Date): Promise<LoginLock[]> {
    return run(() => {
      this.#statements.removeEndedLoginLocks.run(now.getTime());
      return (this.#statements.loginLocks.all() as { name: string; until: number }[]).map(
        (row) => ({ name: row.name, until: new Date(row.until) }),
      );
    });
  }

  appendAudit(entry: NewAuditEntry): Promise<number> {
    return run(() => this.#db.transaction(() => this.#addAudit(entry))());
  }

  appendAudits(entries: readonly NewAuditEntry[]): Promise<void> {
    return run(() => {
      if (entries.length === 0) return;
      this.#db.transaction(() => {
        for (const entry of entries) this.#addAudit(entry);
      })();
    });
  }

  /** One record and its host index, inside the caller's transaction; its id. */
  #addAudit(entry: NewAuditEntry): number {
    const id = Number(
      this.#statements.addAudit.run(
        (entry.time ?? new Date()).getTime(),
        entry.actor,
        entry.auth,
        entry.address,
        entry.action,
        entry.outcome,
        JSON.stringify(entry.hosts),
        auditDetailText(entry.detail),
      ).lastInsertRowid,
    );
    for (const host of new Set(entry.hosts)) this.#statements.addAuditHost.run(id, host);
    return id;
  }

  queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return run(() => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.actor !== undefined) {
        where.push("actor = ?");
        params.push(query.actor);
      }
      if (query.action !== undefined) {
        where.push("action = ?");
        params.push(query.action);
      }
      if (query.host !== undefined) {
        where.push("id IN (SELECT audit_id FROM audit_hosts WHERE host = ?)");
        params.push(query.host);
      }
      if (query.before !== undefined) {
        where.push("id < ?");
        params.push(query.before);
      }
      const sql = `SELECT * FROM audit ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
      return (this.#db.prepare(sql).all(...params, query.limit) as AuditRow[]).map(toAudit);
    });
  }

  pruneAudit(before: Date, maxRecords: number): Promise<number> {
    return run(() =>
      this.#db.transaction(() => {
        const time = before.getTime();
        this.#statements.pruneAuditHosts.run(time, maxRecords);
        return this.#statements.pruneAudit.run(time, maxRecords).changes;
      })(),
    );
  }

  appendHistory(events: readonly NewHistoryEvent[]): Promise<void> {
    return run(() => {
      if (events.length === 0) return;
      this.#db.transaction(() => {
        const st = this.#statements;
        for (const event of events) {
          const time = event.time.getTime();
          st.addHistory.run(
            time,
            event.host,
            event.sessionId,
            event.user,
            event.kind,
            event.detail,
          );
          if (event.kind === "logon") {
            // A logon on a session whose span is still open ends that span (its logoff was missed).
            st.closeSpan.run(time, event.host, event.sessionId);
            st.openSpan.run(event.host, event.sessionId, event.user, time);
          } else if (event.kind === "logoff") {
            st.closeSpan.run(time, event.host, event.sessionId);
          }
        }
      })();
    });
  }

  queryHistory(query: HistoryQuery): Promise<HistoryEvent[]> {
    return run(() => {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.host !== undefined) {
        where.push("host = ?");
        params.push(query.host);
      }
      if (query.user !== undefined) {
        if (/[*?]/.test(query.user) || !query.user.includes("\\")) {
          // A pattern, or a name without its domain: the bounded matcher, row by row, newest
          // first until the page is full.
          where.push("wms_user_match(?, user)");
        } else {
          // DOMAIN\user exactly (any case): the user index.
          where.push("user = ? COLLATE NOCASE");
        }
        params.push(query.user);
      }
      if (query.from !== undefined) {
        where.push("time >= ?");
        params.push(query.from.getTime());
      }
      if (query.to !== undefined) {
        where.push("time < ?");
        params.push(query.to.getTime());
      }
      if (query.before !== undefined) {
        where.push("(time < ? OR (time = ? AND id < ?))");
        const time = query.before.time.getTime();
        params.push(time, time, query.before.id);
      }
      const sql = `SELECT * FROM history ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY time DESC, id DESC LIMIT ?`;
      return (this.#db.prepare(sql).all(...params, query.limit) as HistoryRow[]).map(toHistory);
    });
  }

  usageSpans(from: Date, to: Date): Promise<UsageSpan[]> {
    return run(() => {
      const f = from.getTime();
      const t = to.getTime();
      // Three index ranges instead of one scan: spans that start inside the window, spans that
      // started before it and ended inside or after it, and spans still open from before it.
      const rows = [
        ...(this.#statements.spansStarting.all(f, t) as SpanRow[]),
        ...(this.#statements.spansEnding.all(f, f) as SpanRow[]),
        ...(this.#statements.spansOpen.all(f) as SpanRow[]),
      ];
      return rows.map(toSpan);
    });
  }

  hourlyOccupancy(from: Date, to: Date): Promise<HourlyOccupancy> {
    return run(() => {
      const f = from.getTime();
      const t = to.getTime();
      const first = Math.floor(f / OCCUPANCY_HOUR_MS) * OCCUPANCY_HOUR_MS;
      const count = Math.max(1, Math.ceil((t - first) / OCCUPANCY_HOUR_MS));
      // SQL gives each run of hours [a, b] with how many spans cover exactly it; adding +n at a
      // and -n after b, then summing along the hours, counts every span in each of its hours.
      const rows = this.#statements.occupancyRuns.all({ f, t, first, last: count - 1 }) as {
        host: string;
        a: number;
        b: number;
        n: number;
      }[];
      const steps = new Map<string, number[]>();
      for (const row of rows) {
        let host = steps.get(row.host);
        if (host === undefined) {
          host = new Array<number>(count + 1).fill(0);
          steps.set(row.host, host);
        }
        host[row.a] = (host[row.a] ?? 0) + row.n;
        host[row.b + 1] = (host[row.b + 1] ?? 0) - row.n;
      }
      const hosts = new Map<string, number[]>();
      for (const [host, step] of steps) {
        const counts = new Array<number>(count);
        let running = 0;
        for (let index = 0; index < count; index++) {
          running += step[index] ?? 0;
          counts[index] = running;
        }
        hosts.set(host, counts);
      }
      const hours = Array.from({ length: count }, (_, index) => first + index * OCCUPANCY_HOUR_MS);
      return { hours, hosts };
    });
  }

  pruneHistory(before: Date): Promise<number> {
    return run(() =>
      this.#db.transaction(() => {
        const time = before.getTime();
        this.#statements.pruneSpans.run(time);
        return this.#statements.pruneHistory.run(time).changes;
      })(),
    );
  }

  addPolicy(name: string, definition: Readonly<Record<string, unknown>>): Promise<StoredPolicy> {
    return run(() => {
      const now = Date.now();
      try {
        const row = this.#statements.addPolicy.get(name, JSON.stringify(definition), now, now);
        return toPolicy(row as PolicyRow);
      } catch (error) {
        if (String((error as { code?: string }).code).startsWith("SQLITE_CONSTRAINT")) {
          throw new StoreConflictError(`there is a policy named ${name} already`);
        }
        throw error;
      }
    });
  }

  updatePolicy(
    name: string,
    definition: Readonly<Record<string, unknown>>,
  ): Promise<StoredPolicy | undefined> {
    return run(() => {
      const row = this.#statements.updatePolicy.get(
        JSON.stringify(definition),
        Date.now(),
        name,
      ) as PolicyRow | undefined;
      return row === undefined ? undefined : toPolicy(row);
    });
  }

  removePolicy(name: string): Promise<boolean> {
    return run(() => this.#statements.removePolicy.run(name).changes > 0);
  }

  listPolicies(): Promise<StoredPolicy[]> {
    return run(() => (this.#statements.listPolicies.all() as PolicyRow[]).map(toPolicy));
  }

  findPolicy(name: string): Promise<StoredPolicy | undefined> {
    return run(() => {
      const row = this.#statements.findPolicy.get(name) as PolicyRow | undefined;
      return row === undefined ? undefined : toPolicy(row);
    });
  }

  setPolicyLastDue(name: string, dueAt: Date): Promise<void> {
    return run(() => {
      this.#statements.setPolicyLastDue.run(dueAt.getTime(), name);
    });
  }

  addPolicyRun(policyRun: NewPolicyRun): Promise<number> {
    return run(() =>
      Number(
        this.#statements.addRun.run(
          policyRun.policy,
          policyRun.dueAt.getTime(),
          policyRun.startedAt.getTime(),
          policyRun.endedAt?.getTime() ?? null,
          policyRun.outcome,
          JSON.stringify(policyRun.summary),
          JSON.stringify(policyRun.results),
        ).lastInsertRowid,
      ),
    );
  }

  finishPolicyRun(
    id: number,
    end: Pick<PolicyRun, "endedAt" | "outcome" | "summary" | "results">,
  ): Promise<void> {
    return run(() => {
      this.#statements.finishRun.run(
        end.endedAt?.getTime() ?? Date.now(),
        end.outcome,
        JSON.stringify(end.summary),
        JSON.stringify(end.results),
        id,
      );
    });
  }

  listPolicyRuns(name: string, limit: number, before?: number): Promise<PolicyRun[]> {
    return run(() =>
      (
        this.#statements.listRuns.all(name, before ?? Number.MAX_SAFE_INTEGER, limit) as RunRow[]
      ).map(toRun),
    );
  }

  close(): Promise<void> {
    return run(() => {
      this.#db.close();
    });
  }
}

/** The statements used on every request, prepared once. */
function prepare(db: Database.Database) {
  return {
    addAccount: db.prepare(
      `INSERT INTO accounts (name, role, password_hash, created_at, password_changed_at) VALUES (?, ?, ?, ?, ?) RETURNING ${ACCOUNT_COLUMNS}`,
    ),
    removeAccount: db.prepare("DELETE FROM accounts WHERE name = ?"),
    listAccounts: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY name`),
    findAccount: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE name = ?`),
    accountById: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`),
    setPassword: db.prepare(
      "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?",
    ),
    setRole: db.prepare("UPDATE accounts SET role = ? WHERE name = ?"),
    removeSessionsOf: db.prepare("DELETE FROM web_sessions WHERE account_id = ?"),
    addToken: db.prepare(
      "INSERT INTO tokens (id, secret_hash, account_id, label, created_at) VALUES (?, ?, ?, ?, ?)",
    ),
    findToken: db.prepare(
      `${TOKEN_SELECT.replace("SELECT ", "SELECT t.account_id, ")} WHERE t.secret_hash = ?`,
    ),
    touchToken: db.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?"),
    listTokens: db.prepare(`${TOKEN_SELECT} ORDER BY t.created_at DESC, t.id`),
    listTokensOf: db.prepare(`${TOKEN_SELECT} WHERE a.name = ? ORDER BY t.created_at DESC, t.id`),
    revokeToken: db.prepare("DELETE FROM tokens WHERE id = ?"),
    addSession: db.prepare(
      "INSERT INTO web_sessions (id_hash, account_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
    ),
    findSession: db.prepare(
      `SELECT s.id_hash, s.csrf_token, s.created_at AS s_created_at, s.last_seen_at, a.id, a.name, a.role, a.password_hash, a.created_at, a.password_changed_at FROM web_sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id_hash = ?`,
    ),
    touchSession: db.prepare("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?"),
    removeSession: db.prepare("DELETE FROM web_sessions WHERE id_hash = ?"),
    setLoginLock: db.prepare(
      "INSERT INTO login_locks (name, until) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET until = excluded.until",
    ),
    removeLoginLock: db.prepare("DELETE FROM login_locks WHERE name = ? RETURNING until"),
    loginLock: db.prepare("SELECT until FROM login_locks WHERE name = ?"),
    removeEndedLoginLocks: db.prepare("DELETE FROM login_locks WHERE until <= ?"),
    loginLocks: db.prepare("SELECT name, until FROM login_locks ORDER BY name"),
    removeStaleSessions: db.prepare(
      "DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?",
    ),
    addAudit: db.prepare(
      "INSERT INTO audit (time, actor, auth, address, action, outcome, hosts, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    addAuditHost: db.prepare("INSERT OR IGNORE INTO audit_hosts (audit_id, host) VALUES (?, ?)"),
    // The oldest records first (by time, then id), through the indexes of migration 3.
    pruneAuditHosts: db.prepare(
      "DELETE FROM audit_hosts WHERE audit_id IN (SELECT id FROM audit WHERE time < ? ORDER BY time, id LIMIT ?)",
    ),
    pruneAudit: db.prepare(
      "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ? ORDER BY time, id LIMIT ?)",
    ),
    addHistory: db.prepare(
      "INSERT INTO history (time, host, session_id, user, kind, detail) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    openSpan: db.prepare(
      "INSERT INTO usage_spans (host, session_id, user, started) VALUES (?, ?, ?, ?)",
    ),
    closeSpan: db.prepare(
      "UPDATE usage_spans SET ended = max(started, ?) WHERE host = ? AND session_id = ? AND ended IS NULL",
    ),
    spansStarting: db.prepare(
      `SELECT ${SPAN_COLUMNS} FROM usage_spans WHERE started >= ? AND started < ?`,
    ),
    spansEnding: db.prepare(
      `SELECT ${SPAN_COLUMNS} FROM usage_spans WHERE ended > ? AND started < ?`,
    ),
    spansOpen: db.prepare(
      `SELECT ${SPAN_COLUMNS} FROM usage_spans WHERE ended IS NULL AND started < ?`,
    ),
    // The spans of usageSpans' three ranges (an open one ends at @t), each as the run of hour
    // indexes it covers from @first (an end on an hour's boundary is not in that hour), grouped.
    occupancyRuns: db.prepare(`
      WITH spans AS (
        SELECT host, started, COALESCE(ended, @t) AS ended FROM usage_spans
          WHERE started >= @f AND started < @t
        UNION ALL
        SELECT host, started, ended FROM usage_spans WHERE ended > @f AND started < @f
        UNION ALL
        SELECT host, started, @t FROM usage_spans WHERE ended IS NULL AND started < @f
      ), runs AS (
        SELECT host,
          CAST(MAX(started - @first, 0) / ${OCCUPANCY_HOUR_MS} AS INTEGER) AS a,
          MIN(CAST((ended - @first - 1) / ${OCCUPANCY_HOUR_MS} AS INTEGER), @last) AS b
        FROM spans WHERE ended - @first >= 1
      )
      SELECT host, a, b, COUNT(*) AS n FROM runs WHERE b >= a GROUP BY host, a, b`),
    pruneSpans: db.prepare("DELETE FROM usage_spans WHERE ended < ?"),
    pruneHistory: db.prepare("DELETE FROM history WHERE time < ?"),
    addPolicy: db.prepare(
      `INSERT INTO policies (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING ${POLICY_COLUMNS}`,
    ),
    updatePolicy: db.prepare(
      `UPDATE policies SET definition = ?, updated_at = ? WHERE name = ? RETURNING ${POLICY_COLUMNS}`,
    ),
    removePolicy: db.prepare("DELETE FROM policies WHERE name = ?"),
    listPolicies: db.prepare(`SELECT ${POLICY_COLUMNS} FROM policies ORDER BY name`),
    findPolicy: db.prepare(`SELECT ${POLICY_COLUMNS} FROM policies WHERE name = ?`),
    setPolicyLastDue: db.prepare("UPDATE policies SET last_due_at = ? WHERE name = ?"),
    addRun: db.prepare(
      "INSERT INTO policy_runs (policy, due_at, started_at, ended_at, outcome, summary, results) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    finishRun: db.prepare(
      "UPDATE policy_runs SET ended_at = ?, outcome = ?, summary = ?, results = ? WHERE id = ?",
    ),
    listRuns: db.prepare(
      "SELECT * FROM policy_runs WHERE policy = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ),
  };
}

/** A synchronous store call as a promise (its exceptions become rejections). */
/** Compiled user patterns kept for `wms_user_match`: a page's query uses one, over many rows. */
const MAX_CACHED_USER_PATTERNS = 16;

/**
 * Registers `wms_user_match(pattern, user)`: 1 when the stored `DOMAIN\user` (or its user name
 * alone) matches the pattern with the wildcard matcher of `common/wildcard.ts` (bounded work, any
 * case), else 0.
 */
function registerUserMatch(db: Database.Database): void {
  const compiled = new Map<string, WildcardPattern>();
  db.function(
    "wms_user_match",
    { deterministic: true, directOnly: true },
    (pattern: unknown, user: unknown) => {
      if (typeof pattern !== "string" || typeof user !== "string") return 0;
      let matcher = compiled.get(pattern);
      if (matcher === undefined) {
        if (compiled.size >= MAX_CACHED_USER_PATTERNS) compiled.clear();
        matcher = compileWildcard(pattern);
        compiled.set(pattern, matcher);
      }
      const name = user.slice(user.indexOf("\\") + 1);
      return matcher.test(user) || matcher.test(name) ? 1 : 0;
    },
  );
}

function run<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
