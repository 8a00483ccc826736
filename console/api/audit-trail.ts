/**
 * Writes the console's audit trail from a request: who (the authenticated account, or `-`), how
 * (cookie, token, password), from where, and what. Records are bounded by the store: a detail of
 * more than `MAX_AUDIT_DETAIL_CHARS` characters of JSON is kept as a summary (`auditDetailText` in
 * `store/store.ts`), so that a huge refused request is summarised, never copied.
 */
import type { FastifyRequest } from "fastify";
import type { RefusalLimiter } from "../audit/refusals.js";
import type { AuthMethod, ConsoleStore, NewAuditEntry } from "../store/store.js";

/** What a handler records. */
export interface AuditFacts {
  readonly action: string;
  readonly outcome: string;
  readonly hosts?: readonly string[];
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Overrides the request's principal (a login names the account tried). */
  readonly actor?: string;
  readonly auth?: AuthMethod;
}

/** The record of `facts` made by `request`. */
export function auditEntry(request: FastifyRequest, facts: AuditFacts): NewAuditEntry {
  const principal = request.principal;
  const detail: Readonly<Record<string, unknown>> = {
    method: request.method,
    path: request.url.split("?")[0] ?? request.url,
    ...facts.detail,
  };
  return {
    actor: facts.actor ?? principal?.account.name ?? "-",
    auth: facts.auth ?? principal?.via ?? "none",
    address: request.ip,
    action: facts.action,
    outcome: facts.outcome,
    hosts: facts.hosts ?? [],
    detail,
  };
}

/** Appends a record of `facts` made by `request`. */
export function audit(
  store: ConsoleStore,
  request: FastifyRequest,
  facts: AuditFacts,
): Promise<number> {
  return store.appendAudit(auditEntry(request, facts));
}

/** The audit trail of anonymous refusals, bounded by a {@link RefusalLimiter}. */
export interface RefusalAudit {
  /** Records an anonymous refusal whole, or counts it for its window's summary. */
  record(request: FastifyRequest, facts: AuditFacts): Promise<void>;
  /** Writes the summaries of the windows that ended (with `all`, the current one's too). */
  flush(all?: boolean): Promise<void>;
}

/** Writes anonymous refusals to `store` as `limiter` decides. */
export function createRefusalAudit(store: ConsoleStore, limiter: RefusalLimiter): RefusalAudit {
  const flush = async (all = false) => {
    for (const summary of limiter.drain(all)) await store.appendAudit(summary);
  };
  return {
    async record(request, facts) {
      const entry = auditEntry(request, facts);
      if (limiter.admit(entry)) await store.appendAudit(entry);
      await flush();
    },
    flush,
  };
}
