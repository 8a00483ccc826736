/**
 * `GET /api/v1/history` (who used which host when: session changes, newest first, a page at a
 * time) and `GET /api/v1/occupancy` (sessions in use per host and per hour). Readers may read
 * both. Times are ISO 8601 with a zone (`2026-11-30T08:00:00Z`).
 */
import type { FastifyInstance } from "fastify";
import { compileUserPattern } from "../../../controller/index.js";
import { HOUR_MS } from "../../history/occupancy.js";
import type { ConsoleStore } from "../../store/store.js";
import { ApiError } from "../api-error.js";
import type { HistoryPage, OccupancyAnswer } from "../types.js";
import { integerParam, queryOf } from "../validate.js";

/** Changes per page unless `limit` says otherwise. */
export const DEFAULT_HISTORY_PAGE = 200;
/** The largest `limit`: a page stays a few hundred kilobytes. */
export const MAX_HISTORY_PAGE = 2000;
/**
 * The longest occupancy window: 31 days, 744 hours; per host that is 744 numbers, so a
 * 1,000-host answer stays near 3 MB.
 */
export const MAX_OCCUPANCY_MS = 31 * 86_400_000;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 time with its zone, or undefined when absent. */
export function timeParam(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!ISO_TIME.test(value) || Number.isNaN(ms)) {
    throw ApiError.badRequest(
      `query parameter "${name}": ${JSON.stringify(value.slice(0, 40))} is not an ISO 8601 time with a zone (2026-11-30T08:00:00Z)`,
    );
  }
  return new Date(ms);
}

function textParam(value: string | undefined, name: string): string | undefined {
  if (value !== undefined && (value === "" || value.length > 256)) {
    throw ApiError.badRequest(`query parameter "${name}" must have 1..256 characters`);
  }
  return value;
}

/** The `next` cursor: the last change's time (ms) and id. */
const cursorOf = (time: Date, id: number) => `${time.getTime()}-${id}`;

function parseCursor(value: string | undefined): { time: Date; id: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,15})-(\d{1,15})$/.exec(value);
  if (match === null) {
    throw ApiError.badRequest(
      `query parameter "before" must be the "next" of the previous page (TIME-ID)`,
    );
  }
  return { time: new Date(Number(match[1])), id: Number(match[2]) };
}

/** Registers the history and occupancy routes. */
export function historyRoutes(
  app: FastifyInstance,
  store: ConsoleStore,
  now: () => number = Date.now,
) {
  app.get(
    "/api/v1/history",
    { config: { access: "reader" } },
    async (request): Promise<HistoryPage> => {
      const query = queryOf(request.query, ["host", "user", "from", "to", "limit", "before"]);
      const from = timeParam(query["from"], "from");
      const to = timeParam(query["to"], "to");
      if (from !== undefined && to !== undefined && from >= to) {
        throw ApiError.badRequest(`"from" must be before "to"`);
      }
      const limit =
        integerParam(query["limit"], "limit", 1, MAX_HISTORY_PAGE, DEFAULT_HISTORY_PAGE) ??
        DEFAULT_HISTORY_PAGE;
      const user = textParam(query["user"], "user");
      if (user !== undefined) {
        try {
          compileUserPattern(user);
        } catch (error) {
          throw ApiError.badRequest(`"user": ${(error as Error).message}`);
        }
      }
      const events = await store.queryHistory({
        host: textParam(query["host"], "host")?.toLowerCase(),
        user,
        from,
        to,
        before: parseCursor(query["before"]),
        limit: limit + 1,
      });
      const page = events.slice(0, limit);
      const last = page.at(-1);
      return {
        events: page.map((event) => ({ ...event, time: event.time.toISOString() })),
        ...(events.length > page.length && last !== undefined
          ? { next: cursorOf(last.time, last.id) }
          : {}),
      };
    },
  );

  app.get(
    "/api/v1/occupancy",
    { config: { access: "reader" } },
    async (request): Promise<OccupancyAnswer> => {
      const query = queryOf(request.query, ["from", "to", "by"]);
      const by = query["by"] ?? "host";
      if (by !== "host" && by !== "hour") {
        throw ApiError.badRequest(`query parameter "by" must be host or hour`);
      }
      const to = timeParam(query["to"], "to") ?? new Date(now());
      const from = timeParam(query["from"], "from") ?? new Date(to.getTime() - 24 * HOUR_MS);
      if (from >= to) throw ApiError.badRequest(`"from" must be before "to"`);
      if (to.getTime() - from.getTime() > MAX_OCCUPANCY_MS) {
        throw ApiError.badRequest(`the window from "from" to "to" is longer than 31 days`);
      }
      const counted = await store.hourlyOccupancy(from, to);
      const common = {
        from: from.toISOString(),
        to: to.toISOString(),
        hours: counted.hours.map((ms) => new Date(ms).toISOString()),
      };
      if (by === "hour") {
        const total = counted.hours.map(() => 0);
        for (const counts of counted.hosts.values()) {
          counts.forEach((n, index) => (total[index] = (total[index] ?? 0) + n));
        }
        return { ...common, by, total };
      }
      return {
        ...common,
        by,
        hosts: [...counted.hosts]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([host, sessions]) => ({ host, sessions, peak: Math.max(...sessions) })),
      };
    },
  );
}
