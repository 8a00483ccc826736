/**
 * A real console for tests, in-process: `startConsole` over a fresh data directory (a real
 * SQLite file), plain HTTP on 127.0.0.1:0 (`--insecure-loopback`) unless HTTPS files are given,
 * accounts made through the store, and small clients that sign in and call the API with `fetch`.
 * Closed (server stopped, store closed, folder removed) after the test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { pino } from "pino";
import { resolveConsoleConfig, type ConsoleSettings } from "../../console/config/options.js";
import { hashPassword } from "../../console/security/passwords.js";
import { newApiToken, secretDigest } from "../../console/security/secrets.js";
import {
  startConsole,
  type RunningConsole,
  type StartConsoleOptions,
} from "../../console/service.js";
import type { Role } from "../../console/store/store.js";

/** The password of every account a test makes. */
export const TEST_PASSWORD = "correct horse battery staple";

/**
 * The controller of a test console watching agents of the test's own process: quick
 * reconnections (the tests wait for conditions, never for time), and 20 s for each host's answer
 * or first snapshot. With 5 s, two browser tests waiting for an agent's preview failed under the
 * whole suite on two cores (load average 25) while they passed alone; the integration tests ask
 * the same agents the same things, and the large fleet's test a snapshot of 6,000 sessions. No
 * test waits this bound out: a host meant to be unreachable is on a closed port, refused at each
 * attempt, and given up on after its retries.
 */
export const TEST_CONTROLLER = {
  watchReconnectBaseDelayMs: 20,
  watchReconnectMaxDelayMs: 100,
  timeoutMs: 20_000,
} as const;

/** A console under test. */
export interface TestConsole extends RunningConsole {
  readonly dataDir: string;
  /** Adds an account with {@link TEST_PASSWORD}. */
  addUser(name: string, role: Role): Promise<void>;
  /** Makes an API token for an account; returns the secret and its id. */
  addToken(user: string): Promise<{ id: string; token: string }>;
  /** Signs in; returns the cookie header and the CSRF token. */
  login(user: string, password?: string): Promise<SignedIn>;
  /** `fetch` of a path of the console. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** A signed-in browser, as far as the API sees it. */
export interface SignedIn {
  readonly cookie: string;
  readonly csrfToken: string;
  /** Headers for a change: the cookie, the CSRF token, JSON. */
  readonly headers: Record<string, string>;
}

/** Starts a console; `settings` override the defaults (insecure loopback on 127.0.0.1:0). */
export async function startTestConsole(
  t: TestContext,
  settings: ConsoleSettings = {},
  options: Pick<
    StartConsoleOptions,
    "server" | "controller" | "fleet" | "uiDir" | "background"
  > = {},
): Promise<TestConsole> {
  const dataDir = await mkdtemp(join(tmpdir(), "wms-console-test-"));
  const secure = settings.tlsCert !== undefined;
  const config = resolveConsoleConfig({
    flags: {
      listen: "127.0.0.1:0",
      dataDir,
      ...(secure ? {} : { insecureLoopback: true }),
      ...settings,
    },
    env: {},
    file: {},
  });
  const running = await startConsole({
    config,
    logger: pino({ level: "silent" }),
    ...options,
  });
  t.after(async () => {
    await running.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const fetchPath = (path: string, init?: RequestInit) => fetch(`${running.url}${path}`, init);
  return {
    ...running,
    dataDir,
    async addUser(name, role) {
      await running.store.addAccount(name, role, await hashPassword(TEST_PASSWORD));
    },
    async addToken(user) {
      const made = newApiToken();
      await running.store.addToken({
        id: made.id,
        userName: user,
        label: "test",
        secretHash: secretDigest(made.token),
      });
      return made;
    },
    async login(user, password = TEST_PASSWORD) {
      const response = await fetchPath("/api/v1/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user, password }),
      });
      if (response.status !== 200) {
        throw new Error(`login of ${user}: ${response.status} ${await response.text()}`);
      }
      const body = (await response.json()) as { csrfToken: string };
      const cookie = (response.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
      return {
        cookie,
        csrfToken: body.csrfToken,
        headers: {
          cookie,
          "x-csrf-token": body.csrfToken,
          "content-type": "application/json",
        },
      };
    },
    fetch: fetchPath,
  };
}
