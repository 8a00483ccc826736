/**
 * The SQLite schema as a list of versioned migrations. The store runs, at start-up and in one
 * transaction each, every migration newer than the database's `user_version`; a database written
 * by a newer console (a version this build does not know) is refused rather than guessed at.
 * Never edit a migration that has shipped: add the next one.
 */

/** One schema step: the version it leads to and the SQL that gets there. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Every migration, in order; the last one's version is the schema this build writes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "accounts, API tokens, web sessions, the audit trail",
    sql: `
      CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('reader', 'operator', 'admin')),
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL UNIQUE,
        account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      ) STRICT;
      CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        actor TEXT NOT NULL,
        auth TEXT NOT NULL,
        address TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        hosts TEXT NOT NULL,
        detail TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_actor ON audit (actor, id);
      CREATE INDEX audit_action ON audit (action, id);
      CREATE TABLE audit_hosts (
        audit_id INTEGER NOT NULL REFERENCES audit (id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        PRIMARY KEY (host, audit_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: "session history and usage spans, policies and their runs",
    sql: `
      CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        host TEXT NOT NULL,
        session_id INTEGER NOT NULL,
        user TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
      ) STRICT;
      CREATE INDEX history_time ON history (time, id);
      CREATE INDEX history_host ON history (host, time, id);
      CREATE INDEX history_user ON history (user COLLATE NOCASE, time, id);
      CREATE TABLE usage_spans (
        id INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        session_id INTEGER NOT NULL,
        user TEXT NOT NULL,
        started INTEGER NOT NULL,
        ended INTEGER
      ) STRICT;
      CREATE INDEX usage_spans_start ON usage_spans (started);
      CREATE INDEX usage_spans_open ON usage_spans (host, session_id) WHERE ended IS NULL;
      CREATE INDEX usage_spans_end ON usage_spans (ended);
      CREATE TABLE policies (
        name TEXT PRIMARY KEY,
        definition TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_due_at INTEGER
      ) STRICT;
      CREATE TABLE policy_runs (
        id INTEGER PRIMARY KEY,
        policy TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        outcome TEXT NOT NULL,
        summary TEXT NOT NULL,
        results TEXT NOT NULL
      ) STRICT;
      CREATE INDEX policy_runs_policy ON policy_runs (policy, id);
    `,
  },
  {
    version: 3,
    description: "audit retention: the audit trail by time, its host index by record",
    sql: `
      CREATE INDEX audit_time ON audit (time, id);
      CREATE INDEX audit_hosts_audit ON audit_hosts (audit_id);
    `,
  },
  {
    version: 4,
    description:
      "login locks: an account name locked by failed logins stays locked across a restart",
    sql: `
      CREATE TABLE login_locks (
        name TEXT PRIMARY KEY,
        until INTEGER NOT NULL
      ) STRICT;
    `,
  },
];
