/**
 * A person's session: `POST /api/v1/login` (user name and password → the session cookie and the
 * CSRF token), `POST /api/v1/logout`, and `GET /api/v1/me` (who is signed in, and the CSRF token
 * again, for a page that was reloaded).
 *
 * A wrong user name and a wrong password get the same answer after the same work (an unknown
 * name is checked against a dummy hash), and count alike towards the limits of
 * `login-guard.ts`. Every login, failed or not, is in the audit trail (one refused by the limits
 * within the bounds of `audit/refusals.ts`: a flood of them is counted, not copied).
 */
import type { FastifyInstance } from "fastify";
import type { ConsoleStore } from "../../store/store.js";
import type { LoginGuard } from "../../security/login-guard.js";
import { MAX_PASSWORD_CHARS, dummyPasswordHash, verifyPassword } from "../../security/passwords.js";
import { newSecret, secretDigest } from "../../security/secrets.js";
import { clearedSessionCookie, sessionCookie } from "../../security/web-sessions.js";
import { MAX_USER_NAME_CHARS } from "../../store/account-rules.js";
import { ApiError } from "../api-error.js";
import { audit, type RefusalAudit } from "../audit-trail.js";
import type { LoginRequest, WhoAmI } from "../types.js";
import { objectBody, stringField } from "../validate.js";

/** Largest login body, in bytes: a name and a password with JSON around them. */
const MAX_LOGIN_BODY_BYTES = 8 * 1024;

/** What the session routes need. */
export interface SessionRouteOptions {
  readonly store: ConsoleStore;
  readonly guard: LoginGuard;
  /** Where logins refused by the rate limit are recorded, bounded. */
  readonly refusals: RefusalAudit;
  readonly secureCookies: boolean;
  readonly sessionIdleMs: number;
  readonly now: () => number;
}

/** Registers login, logout and me. */
export function sessionRoutes(app: FastifyInstance, options: SessionRouteOptions) {
  const { store, guard } = options;
  const idleTimeoutSeconds = Math.round(options.sessionIdleMs / 1000);

  app.post(
    "/api/v1/login",
    { config: { access: "public" }, bodyLimit: MAX_LOGIN_BODY_BYTES },
    async (request, reply): Promise<WhoAmI> => {
      const body = objectBody(request.body, ["user", "password"], ["user", "password"]);
      const login: LoginRequest = {
        user: stringField(body["user"], "user", MAX_USER_NAME_CHARS),
        password: stringField(body["password"], "password", MAX_PASSWORD_CHARS),
      };
      const block = await guard.check(request.ip, login.user);
      if (block !== undefined) {
        await options.refusals.record(request, {
          action: "login",
          outcome: "too_many_attempts",
          actor: login.user,
          auth: "password",
          detail: { blocked: block.reason },
        });
        throw new ApiError(
          "too_many_attempts",
          `too many failed logins; try again in ${block.retryAfterSeconds} s`,
          { "retry-after": String(block.retryAfterSeconds) },
        );
      }
      const account = await store.findAccount(login.user);
      const matches = await verifyPassword(
        login.password,
        account?.passwordHash ?? (await dummyPasswordHash()),
      );
      if (account === undefined || !matches) {
        guard.failed(request.ip, login.user);
        await audit(store, request, {
          action: "login",
          outcome: "invalid_credentials",
          actor: login.user,
          auth: "password",
        });
        throw new ApiError("invalid_credentials", "wrong user name or password");
      }
      guard.succeeded(request.ip, login.user);
      const secret = newSecret();
      const csrfToken = newSecret();
      const time = new Date(options.now());
      await store.addWebSession({
        idHash: secretDigest(secret),
        userId: account.id,
        csrfToken,
        createdAt: time,
        lastSeenAt: time,
      });
      await audit(store, request, {
        action: "login",
        outcome: "ok",
        actor: account.name,
        auth: "password",
      });
      void reply.header("set-cookie", sessionCookie(secret, options.secureCookies));
      return {
        user: account.name,
        role: account.role,
        auth: "cookie",
        csrfToken,
        idleTimeoutSeconds,
      };
    },
  );

  app.post("/api/v1/logout", { config: { access: "reader" } }, async (request, reply) => {
    const principal = request.principal;
    if (principal?.sessionHash === undefined) {
      throw ApiError.badRequest(
        "logout ends a cookie session; a token is revoked with wms-console token revoke",
      );
    }
    await store.removeWebSession(principal.sessionHash);
    await audit(store, request, { action: "logout", outcome: "ok" });
    void reply.header("set-cookie", clearedSessionCookie(options.secureCookies));
    return reply.code(204).send();
  });

  app.get("/api/v1/me", { config: { access: "reader" } }, (request): WhoAmI => {
    const principal = request.principal;
    if (principal === undefined) throw new ApiError("unauthenticated", "not signed in");
    return principal.via === "cookie"
      ? {
          user: principal.account.name,
          role: principal.account.role,
          auth: "cookie",
          ...(principal.csrfToken === undefined ? {} : { csrfToken: principal.csrfToken }),
          idleTimeoutSeconds,
        }
      : { user: principal.account.name, role: principal.account.role, auth: "token" };
  });
}
