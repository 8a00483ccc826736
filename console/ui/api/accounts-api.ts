/**
 * People's accounts and API tokens through the admin API (`/api/v1/users`, `/api/v1/tokens`):
 * the Accounts page's calls. Every refusal comes back as the API's own words (an
 * {@link ApiProblem}); the page shows them as they are.
 */
import type {
  ApiRole,
  ApiToken,
  ApiUser,
  NewToken,
  NewTokenRequest,
  NewUserRequest,
  SetPasswordRequest,
  SetRoleRequest,
} from "../../api/types.js";
import type { ApiClient } from "./client.js";

/** `/api/v1/users/NAME…`, the name escaped. */
const userPath = (name: string, rest = "") => `/api/v1/users/${encodeURIComponent(name)}${rest}`;

/** Every account, by name, with its role and whether failed logins lock it. */
export async function listUsers(api: ApiClient, signal?: AbortSignal): Promise<ApiUser[]> {
  return [...(await api.get<{ users: ApiUser[] }>("/api/v1/users", {}, signal)).users];
}

/** Adds an account. */
export async function addUser(api: ApiClient, request: NewUserRequest): Promise<void> {
  await api.post("/api/v1/users", request);
}

/** Changes an account's role. */
export async function setRole(api: ApiClient, name: string, role: ApiRole): Promise<void> {
  const body: SetRoleRequest = { role };
  await api.request(userPath(name, "/role"), jsonBody("PUT", body));
}

/** Sets an account's password (its browser sessions end). */
export async function setPassword(api: ApiClient, name: string, password: string): Promise<void> {
  const body: SetPasswordRequest = { password };
  await api.request(userPath(name, "/password"), jsonBody("PUT", body));
}

/** Lifts the lock failed logins put on an account's name. */
export async function unlockUser(api: ApiClient, name: string): Promise<void> {
  await api.post(userPath(name, "/unlock"), {});
}

/** Removes an account, its tokens and its browser sessions. */
export async function removeUser(api: ApiClient, name: string): Promise<void> {
  await api.request(userPath(name), { method: "DELETE" });
}

/** Every API token (never its secret). */
export async function listTokens(api: ApiClient, signal?: AbortSignal): Promise<ApiToken[]> {
  return [...(await api.get<{ tokens: ApiToken[] }>("/api/v1/tokens", {}, signal)).tokens];
}

/** Makes a token: the answer holds its secret, which is never shown again. */
export async function createToken(api: ApiClient, request: NewTokenRequest): Promise<NewToken> {
  return (await (await api.post("/api/v1/tokens", request)).json()) as NewToken;
}

/** Revokes a token: programs using it are refused from their next request. */
export async function revokeToken(api: ApiClient, id: string): Promise<void> {
  await api.request(`/api/v1/tokens/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** A request with a JSON body. */
function jsonBody(method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}
