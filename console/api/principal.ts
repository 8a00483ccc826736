/**
 * Who makes a request, once authenticated: the account and how it proved itself. Attached to
 * each request by the authentication hook (`authenticate.ts`) and read by the handlers.
 */
import type { Account, Role } from "../store/store.js";

/** An authenticated caller. */
export interface Principal {
  readonly account: Account;
  readonly via: "cookie" | "token";
  /** The session's id hash (cookie) — for logout. */
  readonly sessionHash?: string;
  /** The session's CSRF token (cookie). */
  readonly csrfToken?: string;
  /** The token's public id (token). */
  readonly tokenId?: string;
}

/** Who may call a route: anybody (`public`), or at least this role. */
export type Access = "public" | Role;

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller; undefined on public routes without credentials. */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Who may call the route. @default "admin" — a route that forgets to say is the strictest */
    access?: Access;
  }
}
