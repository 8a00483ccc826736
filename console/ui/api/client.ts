/**
 * The console's JSON API as the browser calls it: the one place that knows paths, the CSRF
 * header and the error body. Every failure becomes an {@link ApiProblem} that says what the
 * console answered (its code and message), or that it did not answer at all. The UI uses nothing
 * else of the console.
 */
import type { ApiErrorBody, ApiErrorCode, WhoAmI } from "../../api/types.js";
import { CSRF_HEADER } from "../../api/types.js";

/** A failed request, in words a person can act on. */
export class ApiProblem extends Error {
  override readonly name = "ApiProblem";
  constructor(
    /** HTTP status; 0 when the console did not answer. */
    readonly status: number,
    /** The API's error code, or `network` when there was no answer, `protocol` for a bad one. */
    readonly code: ApiErrorCode | "network" | "protocol",
    message: string,
  ) {
    super(message);
  }

  /** Normalises a caught value. */
  static from(error: unknown): ApiProblem {
    if (error instanceof ApiProblem) return error;
    if (error instanceof DOMException && error.name === "AbortError") {
      return new ApiProblem(0, "network", "the request was cancelled");
    }
    const text = error instanceof Error ? error.message : String(error);
    return new ApiProblem(0, "network", `the console did not answer (${text})`);
  }
}

/** Whether a value is the API's error body. */
function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** The problem an answer that is not 2xx describes. */
async function problemOf(response: Response): Promise<ApiProblem> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) {
    return new ApiProblem(response.status, body.error.code, body.error.message);
  }
  return new ApiProblem(
    response.status,
    "protocol",
    `the console answered HTTP ${response.status} ${response.statusText} without an error body`,
  );
}

/** Query parameters; empty and undefined values are left out. */
export type Query = Readonly<Record<string, string | number | undefined>>;

/** `path?query` with the empty parameters left out. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
}

/** What the application is told by the client. */
export interface ApiClientHooks {
  /** A request was answered 401 `unauthenticated`: the session ended (idle, logged out elsewhere). */
  readonly onSignedOut?: () => void;
}

/**
 * The API client of one browser tab. Holds the CSRF token the console gave at login (or at
 * `GET /api/v1/me` after a reload) and sends it with every change.
 */
export class ApiClient {
  #csrfToken: string | undefined;
  readonly #hooks: ApiClientHooks;

  constructor(hooks: ApiClientHooks = {}) {
    this.#hooks = hooks;
  }

  /** Remembers who is signed in (the CSRF token of the cookie session). */
  #signedIn(who: WhoAmI): WhoAmI {
    this.#csrfToken = who.csrfToken;
    return who;
  }

  /** Sends a request; resolves with the answer when it is 2xx, throws an {@link ApiProblem}. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("accept", headers.get("accept") ?? "application/json");
    if (init.method !== undefined && init.method !== "GET" && this.#csrfToken !== undefined) {
      headers.set(CSRF_HEADER, this.#csrfToken);
    }
    let response: Response;
    try {
      response = await fetch(path, { ...init, headers, credentials: "same-origin" });
    } catch (error) {
      throw ApiProblem.from(error);
    }
    if (response.ok) return response;
    const problem = await problemOf(response);
    if (problem.code === "unauthenticated" && path !== "/api/v1/me") this.#hooks.onSignedOut?.();
    throw problem;
  }

  /** `GET` a JSON document. */
  async get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    const response = await this.request(withQuery(path, query), signal ? { signal } : {});
    return (await response.json()) as T;
  }

  /** `POST` a JSON body; resolves with the answer. */
  async post(path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
    return this.request(path, {
      ...init,
      method: "POST",
      headers: { ...init.headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  /** Who is signed in, or `undefined` when nobody is (a fresh tab, an expired session). */
  async me(): Promise<WhoAmI | undefined> {
    try {
      return this.#signedIn(await this.get<WhoAmI>("/api/v1/me"));
    } catch (error) {
      if (error instanceof ApiProblem && error.code === "unauthenticated") return undefined;
      throw error;
    }
  }

  /** Signs in with a user name and password. */
  async login(user: string, password: string): Promise<WhoAmI> {
    const response = await this.post("/api/v1/login", { user, password });
    return this.#signedIn((await response.json()) as WhoAmI);
  }

  /** Ends the cookie session. */
  async logout(): Promise<void> {
    await this.post("/api/v1/logout", {});
    this.#csrfToken = undefined;
  }
}

/**
 * Reads an `application/x-ndjson` answer line by line as it arrives, calling `onLine` with each
 * parsed line. A line that is not JSON is a protocol problem.
 */
export async function readNdjson(
  response: Response,
  onLine: (value: unknown) => void,
): Promise<void> {
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const emit = (line: string) => {
    if (line.trim() === "") return;
    try {
      onLine(JSON.parse(line));
    } catch (error) {
      if (error instanceof SyntaxError) {
        throw new ApiProblem(response.status, "protocol", `a line of the answer is not JSON`);
      }
      throw error;
    }
  };
  for (;;) {
    let chunk: ReadableStreamReadResult<string>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw new ApiProblem(
        0,
        "network",
        `the answer was cut off (${ApiProblem.from(error).message})`,
      );
    }
    if (chunk.done) break;
    buffered += chunk.value;
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      emit(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  emit(buffered);
}
