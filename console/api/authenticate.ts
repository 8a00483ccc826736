/**
 * The one authentication and authorization step of every request (a fastify `onRequest` hook,
 * before the body is read): a bearer token (`Authorization: Bearer wmsc_…`) or the session
 * cookie; then the route's {@link Access}; then, for a change made with a cookie, the CSRF token
 * in `X-CSRF-Token`. A refused request is answered before its body is read, changes nothing, and
 * is written to the audit trail (an anonymous one within the bounds of `audit/refusals.ts`).
 *
 * CSRF: a browser sends the cookie with any request to the console, including one a hostile page
 * makes it send; it never sends a custom header cross-origin without the console's consent (a
 * CORS preflight, which the console never grants). The session's CSRF token, known only to the
 * console's own pages (given by login and `GET /api/v1/me`), must come in that header with every
 * request that is not a GET or HEAD. Bearer tokens need no CSRF token: a browser never adds an
 * `Authorization` header by itself.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ConsoleStore } from "../store/store.js";
import { roleAtLeast } from "../store/store.js";
import { MAX_TOKEN_CHARS, TOKEN_PREFIX, secretDigest } from "../security/secrets.js";
import {
  SESSION_TOUCH_INTERVAL_MS,
  cookieValue,
  sessionCookieName,
} from "../security/web-sessions.js";
import { ApiError } from "./api-error.js";
import { audit, type RefusalAudit } from "./audit-trail.js";
import type { Access, Principal } from "./principal.js";
import { CSRF_HEADER } from "./types.js";

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  readonly store: ConsoleStore;
  /** Whether cookies are `Secure` (HTTPS): decides the cookie's name. */
  readonly secureCookies: boolean;
  readonly sessionIdleMs: number;
  readonly sessionMaxAgeMs: number;
  readonly now: () => number;
  /** Where refusals of requests that no account made are recorded, bounded. */
  readonly refusals: RefusalAudit;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Creates the `onRequest` hook. */
export function createAuthenticator(options: AuthenticatorOptions) {
  const { store, now } = options;
  const cookieName = sessionCookieName(options.secureCookies);
  /** When each token's last use was written, so that it is written once a minute at most. */
  const tokenTouched = new Map<string, number>();

  async function fromToken(header: string): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1];
    if (token === undefined || !token.startsWith(TOKEN_PREFIX) || token.length > MAX_TOKEN_CHARS) {
      throw new ApiError(
        "unauthenticated",
        "the Authorization header is not a console token (Bearer wmsc_…)",
      );
    }
    const found = await store.findToken(secretDigest(token));
    if (found === undefined) {
      throw new ApiError("unauthenticated", "the token is not valid (unknown or revoked)");
    }
    const time = now();
    if (time - (tokenTouched.get(found.token.id) ?? 0) >= SESSION_TOUCH_INTERVAL_MS) {
      tokenTouched.set(found.token.id, time);
      if (tokenTouched.size > 10_000) tokenTouched.clear();
      await store.touchToken(found.token.id, new Date(time));
    }
    return { account: found.account, via: "token", tokenId: found.token.id };
  }

  async function fromCookie(secret: string): Promise<Principal | undefined> {
    const idHash = secretDigest(secret);
    const found = await store.findWebSession(idHash);
    if (found === undefined) return undefined;
    const time = now();
    const idle = time - found.session.lastSeenAt.getTime();
    const age = time - found.session.createdAt.getTime();
    if (idle >= options.sessionIdleMs || age >= options.sessionMaxAgeMs) {
      await store.removeWebSession(idHash);
      return undefined;
    }
    if (idle >= SESSION_TOUCH_INTERVAL_MS) await store.touchWebSession(idHash, new Date(time));
    return {
      account: found.account,
      via: "cookie",
      sessionHash: idHash,
      csrfToken: found.session.csrfToken,
    };
  }

  async function principalOf(request: FastifyRequest): Promise<Principal | undefined> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) return fromToken(authorization);
    const secret = cookieValue(request.headers.cookie, cookieName);
    if (secret === undefined || secret === "") return undefined;
    return fromCookie(secret);
  }

  return async function authenticate(request: FastifyRequest, _reply: FastifyReply) {
    request.principal = undefined;
    // A path that is no route is answered 404 by anybody: there is nothing behind it to protect.
    const access: Access = request.is404
      ? "public"
      : (request.routeOptions.config.access ?? "admin");
    if (access === "public") {
      // Credentials are optional here, and bad ones are no reason to refuse (a health check).
      request.principal = await principalOf(request).catch(() => undefined);
      return;
    }
    try {
      request.principal = await principalOf(request);
      const principal = request.principal;
      if (principal === undefined) {
        throw new ApiError(
          "unauthenticated",
          "sign in (POST /api/v1/login) or send Authorization: Bearer TOKEN; a session ends after it is idle",
        );
      }
      if (!roleAtLeast(principal.account.role, access)) {
        throw new ApiError(
          "forbidden",
          `${request.method} ${request.routeOptions.url ?? request.url} needs the ${access} role; ${principal.account.name} is ${principal.account.role}`,
        );
      }
      if (principal.via === "cookie" && !SAFE_METHODS.has(request.method)) {
        const sent = request.headers[CSRF_HEADER];
        if (
          typeof sent !== "string" ||
          principal.csrfToken === undefined ||
          !sameSecret(sent, principal.csrfToken)
        ) {
          throw new ApiError(
            "csrf_failed",
            `a change made with the session cookie needs the session's CSRF token in the ${CSRF_HEADER} header (login and GET /api/v1/me give it)`,
          );
        }
      }
    } catch (error) {
      if (error instanceof ApiError) {
        const facts = { action: "denied", outcome: error.code, detail: { reason: error.message } };
        if (request.principal === undefined) await options.refusals.record(request, facts);
        else await audit(store, request, facts);
      }
      throw error;
    }
  };
}
