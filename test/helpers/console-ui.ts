/**
 * A real console serving the web UI (dist/console-ui/) for the browser tests: the test console
 * of console-harness.ts, plain HTTP on 127.0.0.1:0, optionally watching a fleet of real agents
 * (simulated backend, on loopback) named by an inventory file; and signing a page in the way a
 * person does.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { ConsoleSettings } from "../../console/config/options.js";
import type { StartConsoleOptions } from "../../console/service.js";
import type { GraceClock } from "../../controller/index.js";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { newContext, tabTo } from "./browser.js";
import {
  TEST_CONTROLLER,
  TEST_PASSWORD,
  startTestConsole,
  type TestConsole,
} from "./console-harness.js";
import { waitForFleet } from "./console-events.js";
import {
  closedAddress,
  startFleet,
  stopFleet,
  type FleetHost,
  type FleetHostSpec,
} from "./controller-fleet.js";
import { UI_DIR } from "./browser.js";

/** Starts a console whose `/` is the UI as `npm run build` made it. */
export async function startUiConsole(
  t: TestContext,
  settings: ConsoleSettings = {},
  options: Pick<StartConsoleOptions, "controller" | "fleet" | "background"> = {},
): Promise<TestConsole> {
  return startTestConsole(t, settings, { controller: TEST_CONTROLLER, ...options, uiDir: UI_DIR });
}

/** A console watching real agents, and a host in its inventory that nothing answers at. */
export interface UiFleet {
  readonly console: TestConsole;
  readonly hosts: readonly FleetHost[];
  /** The inventory's host on a closed port. */
  readonly unreachable: string;
  /** Its address, `HOST:PORT` (a {@link closedAddress}): an agent started there makes it answer. */
  readonly unreachableAddress: string;
  /** `FQDN=127.0.0.1:PORT` of an agent, for wmsctl's `--resolve`. */
  resolveOf(host: FleetHost): string;
}

/**
 * Starts agents for `specs`, a console with them and one unreachable host in its inventory, and
 * waits until the console has heard from every agent.
 */
export async function startUiFleet(
  t: TestContext,
  specs: readonly FleetHostSpec[],
  options: Pick<StartConsoleOptions, "background"> = {},
): Promise<UiFleet> {
  const hosts = await startFleet(specs);
  t.after(() => stopFleet(hosts));
  const unreachable = "gone.lab.example.com";
  const unreachableAddress = await closedAddress();
  const lines = [
    ...hosts.map((host) => `${host.fqdn} 127.0.0.1:${host.agent.ports[0] ?? 0}`),
    `${unreachable} ${unreachableAddress}`,
  ];
  const dir = await mkdtemp(join(tmpdir(), "wms-console-ui-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const inventory = join(dir, "lab.txt");
  await writeFile(inventory, `${lines.join("\n")}\n`);
  const console = await startUiConsole(t, { inventory: [inventory] }, options);
  await waitForFleet(console.fleet, () =>
    console.fleet
      .hosts()
      .every((host) =>
        host.host === unreachable ? host.status === "unreachable" : host.status === "online",
      ),
  );
  return {
    console,
    hosts,
    unreachable,
    unreachableAddress,
    resolveOf: (host) => `${host.fqdn}=127.0.0.1:${host.agent.ports[0] ?? 0}`,
  };
}

/**
 * A grace period the test ends: `sleep` waits until {@link GatedGraceClock.release} (or the
 * action's abort), whatever the period, so a test acts "during the grace period" without
 * depending on how fast a loaded machine runs.
 */
export interface GatedGraceClock {
  readonly clock: GraceClock;
  /** Resolves with the period asked for once a grace period has started. */
  readonly started: Promise<number>;
  /** Ends every grace period, waiting or to come. */
  release(): void;
}

/** Makes a {@link GatedGraceClock}. */
export function gatedGraceClock(): GatedGraceClock {
  let started!: (ms: number) => void;
  let release!: () => void;
  const startedPromise = new Promise<number>((resolve) => (started = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    clock: {
      now: () => Date.now(),
      sleep: (ms, signal) => {
        started(ms);
        return new Promise<void>((resolve, reject) => {
          const aborted = () =>
            reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
          if (signal.aborted) return aborted();
          signal.addEventListener("abort", aborted, { once: true });
          void released.then(() => {
            signal.removeEventListener("abort", aborted);
            resolve();
          });
        });
      },
    },
    started: startedPromise,
    release,
  };
}

/**
 * The groups of a user in more groups than a sessions table's row names, with long names as a
 * school's directory has them: sorted, as the agent reports them.
 */
export const MANY_GROUPS: readonly string[] = [
  "CONTOSO-EDU\\Department of Mathematics and Computing",
  "CONTOSO-EDU\\Examinations Officers (Invigilation)",
  "CONTOSO-EDU\\Form Tutors Year 9 North Building",
  "CONTOSO-EDU\\Library and Learning Resources Staff",
  "CONTOSO-EDU\\MultiPoint Lab Supervisors",
  "CONTOSO-EDU\\Safeguarding Designated Leads",
  "CONTOSO-EDU\\Teachers",
];

/** The user in {@link MANY_GROUPS}, as the sessions table names her. */
export const MANY_GROUPS_USER = "CONTOSO-EDU\\k.vandenberghe-okonkwo";

/**
 * Logs a user on to `host` (simulated backend): session `sessionId`, active, of `user`
 * (`DOMAIN\user`) in `groups` — by default {@link MANY_GROUPS_USER} in {@link MANY_GROUPS}.
 */
export function logOnWithGroups(
  host: FleetHost,
  sessionId: number,
  user = MANY_GROUPS_USER,
  groups: readonly string[] = MANY_GROUPS,
): void {
  const [domainName = "", userName = ""] = user.split("\\");
  host.backend.addSession({
    sessionId,
    state: SessionState.ACTIVE,
    userName,
    domainName,
    protocol: "rdp",
    stationName: `RDP-Tcp#${sessionId}`,
    logonTime: new Date(Date.now() - 3_600_000),
    groups,
  });
}

/** Signs `page` in as `user` through the form, and waits for the signed-in page. */
export async function signIn(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(TEST_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("banner").getByText(`Signed in as ${user}`).waitFor();
}

/**
 * A page in a fresh browser profile (closed after the test), signed in as `user` through the
 * form.
 */
export async function signedInPage(
  t: TestContext,
  browser: Browser,
  url: string,
  user: string,
): Promise<Page> {
  const context = await newContext(browser);
  t.after(() => context.close());
  const page = await context.newPage();
  await signIn(page, url, user);
  return page;
}

/**
 * The lab most browser tests start from: two classroom hosts and one that does not answer
 * ({@link startUiFleet}), an operator `olive` signed in on a page of her own.
 */
export async function operatorLab(
  t: TestContext,
  browser: Browser,
): Promise<{ fleet: UiFleet; page: Page }> {
  const fleet = await startUiFleet(t, [
    { fqdn: "ws1.lab.example.com" },
    { fqdn: "ws2.lab.example.com" },
  ]);
  await fleet.console.addUser("olive", "operator");
  return { fleet, page: await signedInPage(t, browser, fleet.console.url, "olive") };
}

/**
 * With the keyboard alone, on a signed-in page: opens the Sessions page, types `user` into its
 * User filter, waits until exactly one session matches, and selects it (Space on the grid).
 */
export async function selectOneSessionByKeyboard(page: Page, user: string): Promise<void> {
  await tabTo(page, /^Sessions$/);
  await page.keyboard.press("Enter");
  await page.getByRole("grid", { name: "Sessions" }).waitFor();
  await tabTo(page, /^User$/);
  await page.keyboard.type(user);
  await page
    .getByRole("status")
    .filter({ hasText: /^1 session of / })
    .waitFor();
  await tabTo(page, /^Sessions$/);
  await page.keyboard.press("Space");
  await page.getByText("1 session selected").waitFor();
}
