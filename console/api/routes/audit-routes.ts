/**
 * `GET /api/v1/audit`: the console's audit trail, newest first, a page at a time, filtered by
 * person (`actor`), `action` and `host`. Readers may read it (they may read everything).
 */
import type { FastifyInstance } from "fastify";
import type { ConsoleStore } from "../../store/store.js";
import type { AuditPage } from "../types.js";
import { integerParam, queryOf } from "../validate.js";
import { ApiError } from "../api-error.js";

/** Records per page unless `limit` says otherwise. */
export const DEFAULT_AUDIT_PAGE = 100;
/** The largest `limit`: a page stays a few hundred kilobytes at most. */
export const MAX_AUDIT_PAGE = 1000;

/** Registers the audit route. */
export function auditRoutes(app: FastifyInstance, store: ConsoleStore) {
  app.get(
    "/api/v1/audit",
    { config: { access: "reader" } },
    async (request): Promise<AuditPage> => {
      const query = queryOf(request.query, ["actor", "action", "host", "limit", "before"]);
      for (const key of ["actor", "action", "host"] as const) {
        const value = query[key];
        if (value !== undefined && (value === "" || value.length > 256)) {
          throw ApiError.badRequest(`query parameter "${key}" must have 1..256 characters`);
        }
      }
      const limit = integerParam(query["limit"], "limit", 1, MAX_AUDIT_PAGE, DEFAULT_AUDIT_PAGE);
      const before = integerParam(query["before"], "before", 1, Number.MAX_SAFE_INTEGER, undefined);
      const entries = await store.queryAudit({
        actor: query["actor"],
        action: query["action"],
        host: query["host"]?.toLowerCase(),
        before,
        limit: (limit ?? DEFAULT_AUDIT_PAGE) + 1,
      });
      const page = entries.slice(0, limit);
      const last = page.at(-1);
      return {
        records: page.map((entry) => ({ ...entry, time: entry.time.toISOString() })),
        ...(entries.length > page.length && last !== undefined ? { next: last.id } : {}),
      };
    },
  );
}
