/**
 * `GET /api/v1/hosts` and `GET /api/v1/sessions`: the fleet as the console sees it now, from its
 * watches (no call to any agent is made to answer them).
 */
import type { FastifyInstance } from "fastify";
import { compileUserPattern } from "../../../controller/index.js";
import type { Fleet } from "../../fleet/fleet.js";
import { ApiError } from "../api-error.js";
import { parseApiDuration } from "../duration.js";
import { SESSION_STATES, type ApiSession, type HostList, type SessionList } from "../types.js";
import { queryOf } from "../validate.js";

/** The longest `minIdle`: 30 days. */
const MAX_MIN_IDLE_MS = 30 * 86_400_000;

/** A compiled `GET /api/v1/sessions` filter. */
export interface SessionQuery {
  readonly hosts: ReadonlySet<string> | undefined;
  readonly user: ((session: ApiSession) => boolean) | undefined;
  readonly states: ReadonlySet<string> | undefined;
  readonly minIdleSeconds: number | undefined;
}

/** Parses `host` (comma list), `user` (pattern), `state` (comma list) and `minIdle`. */
export function sessionQuery(query: Record<string, string>): SessionQuery {
  const list = (value: string | undefined) =>
    value === undefined
      ? undefined
      : value
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== "");
  const hostNames = list(query["host"]);
  const stateNames = list(query["state"])?.map((s) => s.toUpperCase());
  for (const state of stateNames ?? []) {
    if (!(SESSION_STATES as readonly string[]).includes(state)) {
      throw ApiError.badRequest(
        `"state": ${JSON.stringify(state)} is not a session state (${SESSION_STATES.join(", ")})`,
      );
    }
  }
  let user: SessionQuery["user"];
  const pattern = query["user"];
  if (pattern !== undefined && pattern !== "") {
    let compiled: ReturnType<typeof compileUserPattern>;
    try {
      compiled = compileUserPattern(pattern);
    } catch (error) {
      throw ApiError.badRequest(`"user": ${(error as Error).message}`);
    }
    user = (s) =>
      s.user !== "" && (compiled.test(s.user) || compiled.test(`${s.domain}\\${s.user}`));
  }
  const minIdle = query["minIdle"];
  return {
    hosts: hostNames === undefined ? undefined : new Set(hostNames.map((h) => h.toLowerCase())),
    user,
    states: stateNames === undefined ? undefined : new Set(stateNames),
    minIdleSeconds:
      minIdle === undefined
        ? undefined
        : Math.ceil(parseApiDuration(minIdle, "minIdle", MAX_MIN_IDLE_MS) / 1000),
  };
}

/** Whether a session passes the filter (an unknown idle time is never idle). */
export function matchesQuery(session: ApiSession, query: SessionQuery): boolean {
  if (query.hosts !== undefined && !query.hosts.has(session.host)) return false;
  if (query.states !== undefined && !query.states.has(session.state)) return false;
  if (query.minIdleSeconds !== undefined && query.minIdleSeconds > 0) {
    if (session.idleSeconds === null || session.idleSeconds < query.minIdleSeconds) return false;
  }
  return query.user === undefined || query.user(session);
}

/** Registers the hosts and sessions routes. */
export function fleetRoutes(app: FastifyInstance, fleet: Fleet) {
  app.get("/api/v1/hosts", { config: { access: "reader" } }, (request): HostList => {
    queryOf(request.query, []);
    return { hosts: fleet.hosts() };
  });

  app.get("/api/v1/sessions", { config: { access: "reader" } }, (request): SessionList => {
    const query = sessionQuery(queryOf(request.query, ["host", "user", "state", "minIdle"]));
    return { sessions: fleet.sessions().filter((session) => matchesQuery(session, query)) };
  });
}
