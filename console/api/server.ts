/**
 * The console's HTTP server: fastify with the one authentication hook, the one error handler
 * (every error is `{ "error": { "code", "message" } }` with its status), security headers, and
 * the API's routes. Listening is the caller's business (`console/service.ts`), so tests and the
 * service build the same server.
 */
import type { ServerOptions as HttpsServerOptions } from "node:https";
import Fastify, { LogController, type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { REFUSAL_WINDOW_MS, createRefusalLimiter, type RefusalLimiter } from "../audit/refusals.js";
import type { ConsoleStore } from "../store/store.js";
import { createLoginGuard, type LoginGuard } from "../security/login-guard.js";
import { DEFAULT_SESSION_IDLE_MS, DEFAULT_SESSION_MAX_AGE_MS } from "../security/web-sessions.js";
import { ApiError } from "./api-error.js";
import { createRefusalAudit } from "./audit-trail.js";
import { createAuthenticator } from "./authenticate.js";
import "./principal.js";
import { adminRoutes } from "./routes/admin-routes.js";
import { auditRoutes } from "./routes/audit-routes.js";
import { sessionRoutes } from "./routes/session-routes.js";
import type { ApiErrorBody, Health } from "./types.js";

/**
 * The largest request body unless a route says otherwise, in bytes: 64 KiB holds an action on
 * about a thousand sessions by id; a larger one is refused with 413 before it is parsed.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  readonly store: ConsoleStore;
  readonly logger: Logger;
  /** HTTPS key and certificate; undefined: plain HTTP (`--insecure-loopback`). */
  readonly https?: HttpsServerOptions | undefined;
  /** Milliseconds a web session may be idle. @default {@link DEFAULT_SESSION_IDLE_MS} */
  readonly sessionIdleMs?: number;
  /** Milliseconds a web session lasts at most. @default {@link DEFAULT_SESSION_MAX_AGE_MS} */
  readonly sessionMaxAgeMs?: number;
  /** The login limiter. @default createLoginGuard() */
  readonly loginGuard?: LoginGuard;
  /** Wall clock in milliseconds (session times). @default Date.now */
  readonly now?: () => number;
  /** Bounds the records of anonymous refusals. @default createRefusalLimiter(now) */
  readonly refusalLimiter?: RefusalLimiter;
  /** Adds the routes of later parts (fleet, actions, events, metrics, the UI). */
  readonly routes?: ReadonlyArray<(app: FastifyInstance) => void>;
}

/** The security headers of every answer (HSTS over HTTPS only). */
export function securityHeaders(secure: boolean): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    ...(secure ? { "strict-transport-security": "max-age=31536000" } : {}),
  };
}

/** Maps fastify's own errors to the API's codes. */
function fromFastify(error: FastifyError): ApiError {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("payload_too_large", "the request body is too large for this endpoint");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError("unsupported_media_type", "send the body as application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return ApiError.badRequest("the body is empty; send a JSON object");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return ApiError.badRequest("the Content-Length does not match the body");
    default:
      break;
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return ApiError.badRequest(`the body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode === 413) {
    return new ApiError("payload_too_large", "the request body is too large for this endpoint");
  }
  if (error.statusCode === 415) {
    return new ApiError("unsupported_media_type", "send the body as application/json");
  }
  if (error.statusCode === 503) return new ApiError("unavailable", "the console is stopping");
  return new ApiError("internal", "the console failed to answer; its log says why");
}

/** Builds the server (not listening yet). */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const secureCookies = options.https !== undefined;
  const now = options.now ?? Date.now;
  const sessionIdleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  const app = Fastify({
    loggerInstance: options.logger,
    ...(options.https === undefined ? {} : { https: options.https }),
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    return503OnClosing: true,
    // Long-lived event streams must not hold a shutdown up: close() ends idle connections and
    // the service ends the streams itself.
    forceCloseConnections: true,
    // One line per request is the audit trail's job; the log keeps what went wrong.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  // fastify's JSON parser (it refuses __proto__ and constructor.prototype keys), except that an
  // empty body is no body: a POST without one (logout) may still say it is JSON.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") {
      done(null, undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
  app.decorateRequest("principal", undefined);
  const refusals = createRefusalAudit(
    options.store,
    options.refusalLimiter ?? createRefusalLimiter(now),
  );
  // A window's summary is written by the next refusal, or by this timer when none comes.
  const writeSummaries = () =>
    refusals
      .flush()
      .catch((error: unknown) =>
        options.logger.warn({ err: error }, "cannot write the summary of refused requests"),
      );
  const summaries = setInterval(() => void writeSummaries(), REFUSAL_WINDOW_MS);
  summaries.unref();
  app.addHook("onClose", async () => {
    clearInterval(summaries);
    await refusals
      .flush(true)
      .catch((error: unknown) =>
        options.logger.warn({ err: error }, "cannot write the summary of refused requests"),
      );
  });
  app.addHook(
    "onRequest",
    createAuthenticator({
      store: options.store,
      secureCookies,
      sessionIdleMs,
      sessionMaxAgeMs: options.sessionMaxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS,
      now,
      refusals,
    }),
  );
  const headers = securityHeaders(secureCookies);
  app.addHook("onSend", async (request, reply, payload) => {
    void reply.headers(headers);
    if (request.url.startsWith("/api/")) void reply.header("cache-control", "no-store");
    return payload;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = error instanceof ApiError ? error : fromFastify(error);
    if (apiError.code === "internal") {
      request.log.error({ err: error, url: request.url }, "request failed");
    }
    const body: ApiErrorBody = apiError.body();
    return reply.code(apiError.status).headers(apiError.headers).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ApiErrorBody = new ApiError(
      "not_found",
      `no ${request.method} ${request.url.split("?")[0] ?? ""} here (the API is under /api/v1/)`,
    ).body();
    return reply.code(404).send(body);
  });

  app.get("/healthz", { config: { access: "public" } }, (): Health => ({ status: "ok" }));
  const guard = options.loginGuard ?? createLoginGuard();
  sessionRoutes(app, {
    store: options.store,
    guard,
    refusals,
    secureCookies,
    sessionIdleMs,
    now,
  });
  auditRoutes(app, options.store);
  adminRoutes(app, options.store, guard);
  for (const routes of options.routes ?? []) routes(app);
  return app;
}
