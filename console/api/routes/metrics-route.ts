/**
 * `GET /metrics`: the Prometheus text format ({@link ConsoleMetrics}). It needs a reader, like
 * everything the console shows: give Prometheus a token (`authorization: { credentials_file }`
 * in its scrape config).
 */
import type { FastifyInstance } from "fastify";
import type { ConsoleMetrics } from "../../metrics/console-metrics.js";
import { queryOf } from "../validate.js";

/** Registers the metrics route. */
export function metricsRoute(app: FastifyInstance, metrics: ConsoleMetrics) {
  app.get("/metrics", { config: { access: "reader" } }, async (request, reply) => {
    queryOf(request.query, []);
    const { contentType, body } = await metrics.render();
    return reply.header("content-type", contentType).header("cache-control", "no-store").send(body);
  });
}
