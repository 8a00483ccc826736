/**
 * Accounts and API tokens over the API, for admins (the web UI's Accounts page; the
 * `wms-console user` and `token` commands do the same on the store directly):
 * `GET/POST /api/v1/users`, `DELETE /api/v1/users/:name`, `PUT /api/v1/users/:name/role`,
 * `PUT /api/v1/users/:name/password`, `POST /api/v1/users/:name/unlock`,
 * `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/:id`. Every change is in the audit trail; a
 * token's secret is answered once, when it is made. An admin can neither remove their own
 * account nor change their own role, so there is always an admin left: another admin can.
 */
import type { FastifyInstance } from "fastify";
import { StoreConflictError, ROLES, type ConsoleStore, type Role } from "../../store/store.js";
import { hashPassword, passwordProblem, MAX_PASSWORD_CHARS } from "../../security/passwords.js";
import { newApiToken, secretDigest } from "../../security/secrets.js";
import { MAX_TOKEN_LABEL_CHARS, userNameProblem } from "../../store/account-rules.js";
import type { LoginGuard } from "../../security/login-guard.js";
import { ApiError } from "../api-error.js";
import { audit } from "../audit-trail.js";
import type { ApiToken, ApiUser, NewToken } from "../types.js";
import { objectBody, queryOf, stringField } from "../validate.js";

/** A role from a request body, or a 400 naming the roles. */
function roleField(value: unknown): Role {
  if (typeof value !== "string" || !(ROLES as readonly string[]).includes(value)) {
    throw ApiError.badRequest(`"role" must be one of ${ROLES.join(", ")}`);
  }
  return value as Role;
}

/** A new password from a request body, or a 400 in the password rules' words. */
function passwordField(value: unknown): string {
  const password = stringField(value, "password", MAX_PASSWORD_CHARS);
  const weak = passwordProblem(password);
  if (weak !== undefined) throw ApiError.badRequest(`"password": ${weak}`);
  return password;
}

/** Registers the admin routes; `guard` is the login limiter whose locks they show and lift. */
export function adminRoutes(app: FastifyInstance, store: ConsoleStore, guard: LoginGuard) {
  const admin = { config: { access: "admin" as const } };

  app.get("/api/v1/users", admin, async (request): Promise<{ users: ApiUser[] }> => {
    queryOf(request.query, []);
    const accounts = await store.listAccounts();
    // One at a time: the guard reads the store only for a name it holds locked.
    const locks: (number | undefined)[] = [];
    for (const a of accounts) locks.push(await guard.lockedUntil(a.name));
    return {
      users: accounts.map((a, index) => {
        const lockedUntil = locks[index];
        return {
          name: a.name,
          role: a.role,
          createdAt: a.createdAt.toISOString(),
          passwordChangedAt: a.passwordChangedAt.toISOString(),
          lockedUntil: lockedUntil === undefined ? null : new Date(lockedUntil).toISOString(),
        };
      }),
    };
  });

  app.post("/api/v1/users", admin, async (request, reply) => {
    const body = objectBody(
      request.body,
      ["name", "role", "password"],
      ["name", "role", "password"],
    );
    const name = stringField(body["name"], "name", 64);
    const problem = userNameProblem(name);
    if (problem !== undefined) throw ApiError.badRequest(`"name": ${problem}`);
    const role = roleField(body["role"]);
    const password = passwordField(body["password"]);
    try {
      await store.addAccount(name, role, await hashPassword(password));
    } catch (error) {
      if (error instanceof StoreConflictError) throw ApiError.badRequest(error.message);
      throw error;
    }
    await audit(store, request, {
      action: "user.add",
      outcome: "ok",
      detail: { user: name, role },
    });
    return reply.code(201).send({ name, role });
  });

  app.delete<{ Params: { name: string } }>("/api/v1/users/:name", admin, async (request, reply) => {
    const name = request.params.name;
    if (name === request.principal?.account.name) {
      throw ApiError.badRequest("an admin cannot remove their own account (another admin can)");
    }
    if (!(await store.removeAccount(name))) {
      throw new ApiError("not_found", `there is no account named ${name}`);
    }
    await audit(store, request, { action: "user.remove", outcome: "ok", detail: { user: name } });
    return reply.code(204).send();
  });

  app.put<{ Params: { name: string } }>(
    "/api/v1/users/:name/role",
    admin,
    async (request, reply) => {
      const name = request.params.name;
      const body = objectBody(request.body, ["role"], ["role"]);
      const role = roleField(body["role"]);
      if (name === request.principal?.account.name) {
        throw ApiError.badRequest("an admin cannot change their own role (another admin can)");
      }
      if (!(await store.setRole(name, role))) {
        throw new ApiError("not_found", `there is no account named ${name}`);
      }
      await audit(store, request, {
        action: "user.role",
        outcome: "ok",
        detail: { user: name, role },
      });
      return reply.code(200).send({ name, role });
    },
  );

  app.put<{ Params: { name: string } }>(
    "/api/v1/users/:name/password",
    admin,
    async (request, reply) => {
      const name = request.params.name;
      const body = objectBody(request.body, ["password"], ["password"]);
      const password = passwordField(body["password"]);
      if (!(await store.setPassword(name, await hashPassword(password)))) {
        throw new ApiError("not_found", `there is no account named ${name}`);
      }
      // The admin who set it vouches for the person: failed logins before it no longer count.
      guard.unlock(name);
      await audit(store, request, { action: "user.passwd", outcome: "ok", detail: { user: name } });
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { name: string } }>(
    "/api/v1/users/:name/unlock",
    admin,
    async (request, reply) => {
      const name = request.params.name;
      if ((await store.findAccount(name)) === undefined) {
        throw new ApiError("not_found", `there is no account named ${name}`);
      }
      guard.unlock(name);
      await audit(store, request, { action: "user.unlock", outcome: "ok", detail: { user: name } });
      return reply.code(204).send();
    },
  );

  app.get("/api/v1/tokens", admin, async (request): Promise<{ tokens: ApiToken[] }> => {
    const query = queryOf(request.query, ["user"]);
    return {
      tokens: (await store.listTokens(query["user"])).map((t) => ({
        id: t.id,
        user: t.userName,
        label: t.label,
        createdAt: t.createdAt.toISOString(),
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
      })),
    };
  });

  app.post("/api/v1/tokens", admin, async (request, reply) => {
    const body = objectBody(request.body, ["user", "label"], ["user"]);
    const user = stringField(body["user"], "user", 64);
    const label =
      body["label"] === undefined
        ? ""
        : stringField(body["label"], "label", MAX_TOKEN_LABEL_CHARS, true);
    const made = newApiToken();
    let info;
    try {
      info = await store.addToken({
        id: made.id,
        userName: user,
        label,
        secretHash: secretDigest(made.token),
      });
    } catch (error) {
      if (error instanceof TypeError) throw new ApiError("not_found", error.message);
      throw error;
    }
    await audit(store, request, {
      action: "token.create",
      outcome: "ok",
      detail: { user, token: made.id, label },
    });
    const answer: NewToken = {
      id: info.id,
      user: info.userName,
      label: info.label,
      createdAt: info.createdAt.toISOString(),
      lastUsedAt: null,
      token: made.token,
    };
    return reply.code(201).send(answer);
  });

  app.delete<{ Params: { id: string } }>("/api/v1/tokens/:id", admin, async (request, reply) => {
    const id = request.params.id;
    if (!(await store.revokeToken(id))) throw new ApiError("not_found", `there is no token ${id}`);
    await audit(store, request, { action: "token.revoke", outcome: "ok", detail: { token: id } });
    return reply.code(204).send();
  });
}
