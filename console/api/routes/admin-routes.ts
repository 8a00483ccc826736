/**
 * Accounts and API tokens over the API, for admins (the web UI's pages; the `wms-console user`
 * and `token` commands do the same on the store directly): `GET/POST /api/v1/users`,
 * `DELETE /api/v1/users/:name`, `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/:id`. Every
 * change is in the audit trail; a token's secret is answered once, when it is made.
 */
import type { FastifyInstance } from "fastify";
import { StoreConflictError, ROLES, type ConsoleStore, type Role } from "../../store/store.js";
import { hashPassword, passwordProblem, MAX_PASSWORD_CHARS } from "../../security/passwords.js";
import { newApiToken, secretDigest } from "../../security/secrets.js";
import { MAX_TOKEN_LABEL_CHARS, userNameProblem } from "../../store/account-rules.js";
import { ApiError } from "../api-error.js";
import { audit } from "../audit-trail.js";
import type { ApiToken, ApiUser, NewToken } from "../types.js";
import { objectBody, queryOf, stringField } from "../validate.js";

/** Registers the admin routes. */
export function adminRoutes(app: FastifyInstance, store: ConsoleStore) {
  const admin = { config: { access: "admin" as const } };

  app.get("/api/v1/users", admin, async (request): Promise<{ users: ApiUser[] }> => {
    queryOf(request.query, []);
    return {
      users: (await store.listAccounts()).map((a) => ({
        name: a.name,
        role: a.role,
        createdAt: a.createdAt.toISOString(),
        passwordChangedAt: a.passwordChangedAt.toISOString(),
      })),
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
    const role = body["role"];
    if (typeof role !== "string" || !(ROLES as readonly string[]).includes(role)) {
      throw ApiError.badRequest(`"role" must be one of ${ROLES.join(", ")}`);
    }
    const password = stringField(body["password"], "password", MAX_PASSWORD_CHARS);
    const weak = passwordProblem(password);
    if (weak !== undefined) throw ApiError.badRequest(`"password": ${weak}`);
    try {
      await store.addAccount(name, role as Role, await hashPassword(password));
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
