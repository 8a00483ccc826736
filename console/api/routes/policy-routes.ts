/**
 * Policies (DESIGN section 10): `GET/POST /api/v1/policies`, `GET/PUT/DELETE
 * /api/v1/policies/{name}`, `POST /api/v1/policies/{name}/preview` (each covered host's what-if
 * answer now; with a body, of that definition before it is saved), and `GET
 * /api/v1/policies/{name}/runs`. `admin` edits; `operator` and `reader` read and preview (a
 * preview changes nothing). Every change is in the audit trail with the person as actor.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  compilePolicy,
  parsePolicy,
  POLICY_NAME,
  type PolicyDefinition,
} from "../../policies/policy.js";
import type { PolicyRunner } from "../../policies/runner.js";
import type { PolicyScheduler } from "../../policies/scheduler.js";
import { StoreConflictError, type ConsoleStore, type StoredPolicy } from "../../store/store.js";
import { ApiError } from "../api-error.js";
import { audit } from "../audit-trail.js";
import type {
  ApiPolicy,
  ApiPolicyHostResult,
  PolicyList,
  PolicyPreview,
  PolicyRunPage,
} from "../types.js";
import { integerParam, queryOf } from "../validate.js";

/** The largest policy body, in bytes: 5,000 listed hosts of 253 characters fit in 1.5 MiB. */
export const MAX_POLICY_BODY_BYTES = 1536 * 1024;
/** Runs per page unless `limit` says otherwise. */
export const DEFAULT_RUNS_PAGE = 20;
/** The largest `limit` of runs: each run holds every host's results. */
export const MAX_RUNS_PAGE = 200;

/** What the policy routes need. */
export interface PolicyRouteOptions {
  readonly store: ConsoleStore;
  readonly runner: PolicyRunner;
  readonly scheduler: PolicyScheduler;
  readonly now?: () => number;
}

function nameOf(request: FastifyRequest): string {
  const name = (request.params as { name?: string }).name ?? "";
  if (!POLICY_NAME.test(name)) {
    throw ApiError.badRequest(
      `${JSON.stringify(name.slice(0, 70))} is not a policy name (1 to 63 lower-case letters, digits, ".", "_" or "-")`,
    );
  }
  return name;
}

/** Registers the policy routes. */
export function policyRoutes(app: FastifyInstance, options: PolicyRouteOptions) {
  const { store, runner, scheduler } = options;
  const now = options.now ?? Date.now;

  const view = (stored: StoredPolicy): ApiPolicy => {
    const definition = stored.definition as unknown as PolicyDefinition;
    let nextDueAt: string | null = null;
    if (definition.enabled) {
      try {
        const after = Math.max(stored.lastDueAt?.getTime() ?? now(), 0);
        const next = compilePolicy(definition).nextDue(after);
        nextDueAt = next === undefined ? null : new Date(next).toISOString();
      } catch {
        nextDueAt = null;
      }
    }
    return {
      definition,
      createdAt: stored.createdAt.toISOString(),
      updatedAt: stored.updatedAt.toISOString(),
      lastDueAt: stored.lastDueAt?.toISOString() ?? null,
      nextDueAt,
      running: scheduler.running(stored.name),
    };
  };

  const find = async (name: string) => {
    const stored = await store.findPolicy(name);
    if (stored === undefined) throw new ApiError("not_found", `there is no policy named ${name}`);
    return stored;
  };

  app.get(
    "/api/v1/policies",
    { config: { access: "reader" } },
    async (request): Promise<PolicyList> => {
      queryOf(request.query, []);
      return { policies: (await store.listPolicies()).map(view) };
    },
  );

  app.post(
    "/api/v1/policies",
    { config: { access: "admin" }, bodyLimit: MAX_POLICY_BODY_BYTES },
    async (request, reply): Promise<ApiPolicy> => {
      const definition = parsePolicy(request.body);
      let stored: StoredPolicy;
      try {
        stored = await store.addPolicy(definition.name, { ...definition });
      } catch (error) {
        if (error instanceof StoreConflictError) throw new ApiError("conflict", error.message);
        throw error;
      }
      // Due times before the policy existed are none of its business.
      await store.setPolicyLastDue(definition.name, new Date(now()));
      await audit(store, request, {
        action: "policy.create",
        outcome: "ok",
        detail: { policy: definition.name, definition },
      });
      void reply.code(201);
      return view((await store.findPolicy(definition.name)) ?? stored);
    },
  );

  app.get(
    "/api/v1/policies/:name",
    { config: { access: "reader" } },
    async (request): Promise<ApiPolicy> => {
      queryOf(request.query, []);
      return view(await find(nameOf(request)));
    },
  );

  app.put(
    "/api/v1/policies/:name",
    { config: { access: "admin" }, bodyLimit: MAX_POLICY_BODY_BYTES },
    async (request): Promise<ApiPolicy> => {
      const name = nameOf(request);
      const definition = parsePolicy(request.body, name);
      const before = await find(name);
      const old = before.definition as unknown as PolicyDefinition;
      const updated = await store.updatePolicy(name, { ...definition });
      if (updated === undefined)
        throw new ApiError("not_found", `there is no policy named ${name}`);
      // Enabled again, or a new schedule: it starts from now, not from an old due time.
      if (
        (definition.enabled && !old.enabled) ||
        JSON.stringify(definition.schedule) !== JSON.stringify(old.schedule)
      ) {
        await store.setPolicyLastDue(name, new Date(now()));
      }
      await audit(store, request, {
        action: "policy.update",
        outcome: "ok",
        detail: { policy: name, definition, before: old },
      });
      return view((await store.findPolicy(name)) ?? updated);
    },
  );

  app.delete("/api/v1/policies/:name", { config: { access: "admin" } }, async (request, reply) => {
    const name = nameOf(request);
    const before = await find(name);
    await store.removePolicy(name);
    await audit(store, request, {
      action: "policy.delete",
      outcome: "ok",
      detail: { policy: name, definition: before.definition },
    });
    return reply.code(204).send();
  });

  app.post(
    "/api/v1/policies/:name/preview",
    { config: { access: "reader" }, bodyLimit: MAX_POLICY_BODY_BYTES },
    async (request): Promise<PolicyPreview> => {
      const name = nameOf(request);
      const definition =
        request.body === undefined
          ? ((await find(name)).definition as unknown as PolicyDefinition)
          : parsePolicy(request.body, name);
      const time = new Date(now()).toISOString();
      const hosts: ApiPolicyHostResult[] = await runner.preview(compilePolicy(definition));
      return { policy: name, time, hosts };
    },
  );

  app.get(
    "/api/v1/policies/:name/runs",
    { config: { access: "reader" } },
    async (request): Promise<PolicyRunPage> => {
      const name = nameOf(request);
      const query = queryOf(request.query, ["limit", "before"]);
      const limit =
        integerParam(query["limit"], "limit", 1, MAX_RUNS_PAGE, DEFAULT_RUNS_PAGE) ??
        DEFAULT_RUNS_PAGE;
      const before = integerParam(query["before"], "before", 1, Number.MAX_SAFE_INTEGER, undefined);
      const runs = await store.listPolicyRuns(name, limit + 1, before);
      if (runs.length === 0 && before === undefined) await find(name);
      const page = runs.slice(0, limit);
      const last = page.at(-1);
      return {
        runs: page.map((run) => ({
          id: run.id,
          policy: run.policy,
          dueAt: run.dueAt.toISOString(),
          startedAt: run.startedAt.toISOString(),
          endedAt: run.endedAt?.toISOString() ?? null,
          outcome: run.outcome,
          summary: run.summary,
          hosts: run.results as ApiPolicyHostResult[],
        })),
        ...(runs.length > page.length && last !== undefined ? { next: last.id } : {}),
      };
    },
  );
}
