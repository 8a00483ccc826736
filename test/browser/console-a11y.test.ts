/**
 * Accessibility of every page of the web UI, checked by axe-core (Deque's rules engine, from npm,
 * injected into the page: nothing fetched) against WCAG 2.1 A and AA — labels, names, roles,
 * contrast, landmarks, duplicate ids, keyboard-reachable scrolling regions — in Chromium against a
 * real console and a real agent: sign-in, the fleet, the sessions (a user's seven groups opened,
 * and why another's are unknown), a host, the action dialog's preview, the audit trail (and a
 * 1,000-host record's hosts and detail opened), policies, history and accounts. A page with a
 * violation fails the test, naming the rule and the elements.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium, newContext } from "../helpers/browser.js";
import { MANY_GROUPS_USER, logOnWithGroups, signIn, startUiFleet } from "../helpers/console-ui.js";

const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** The hosts of a record of a 1,000-host action. */
const MANY_HOSTS = Array.from(
  { length: 1000 },
  (_, i) => `ws${String(i + 1).padStart(4, "0")}.lab.example.com`,
);

/** The rule sets checked: WCAG 2.0 and 2.1, levels A and AA. */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

/** One violation as axe reports it, as much as the failure message needs. */
interface Violation {
  readonly id: string;
  readonly help: string;
  readonly nodes: readonly {
    readonly target: readonly unknown[];
    readonly failureSummary?: string;
  }[];
}

/** Runs axe on the page as it is; fails naming each violation and where it is. */
async function assertAccessible(page: Page, where: string): Promise<void> {
  if ((await page.evaluate("typeof window.axe")) === "undefined") {
    await page.addScriptTag({ path: AXE_PATH });
  }
  const violations = await page.evaluate<Violation[]>(
    `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(WCAG_TAGS)} } })
       .then((result) => result.violations.map((v) => ({
         id: v.id,
         help: v.help,
         nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
       })))`,
  );
  assert.deepEqual(
    violations.map(
      (v) =>
        `${v.id} (${v.help}): ${v.nodes
          .map((n) => `${n.target.join(" ")}${n.failureSummary ? ` — ${n.failureSummary}` : ""}`)
          .join("; ")}`,
    ),
    [],
    `accessibility violations on ${where}`,
  );
}

describe("the web UI: accessibility (axe-core, WCAG 2.1 AA)", () => {
  it("every page passes: sign-in, fleet, sessions, a host, the action preview, audit, policies, history, accounts", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }]);
    await fleet.console.addUser("ada", "admin");
    const context = await newContext(browser, { bypassCSP: true });
    t.after(() => context.close());
    const page = await context.newPage();

    await page.goto(fleet.console.url);
    await page.getByRole("heading", { name: "Sign in to wms-console" }).waitFor();
    await assertAccessible(page, "the sign-in page");
    await signIn(page, fleet.console.url, "ada");

    const banner = page.getByRole("banner");
    await page.getByRole("grid", { name: "Hosts" }).getByText("ws1.lab.example.com").waitFor();
    await assertAccessible(page, "the fleet overview");

    await banner.getByRole("link", { name: "Sessions" }).click();
    const sessions = page.getByRole("grid", { name: "Sessions" });
    await sessions.getByRole("row").filter({ hasText: "amelia.hughes" }).waitFor();
    await assertAccessible(page, "the sessions page");
    // A user in seven groups, the whole list open over the rows below; a user whose groups the
    // agent could not read, why behind the same disclosure, open.
    logOnWithGroups(fleet.hosts[0]!, 31);
    fleet.hosts[0]!.backend.updateSession(3, { groups: null });
    const many = sessions.getByRole("row").filter({ hasText: MANY_GROUPS_USER });
    await many.getByText(/ \+5 more$/).click();
    await page.getByRole("region", { name: `All 7 groups of ${MANY_GROUPS_USER}` }).waitFor();
    await assertAccessible(page, "the sessions page with a user's groups open");
    const unknown = sessions.getByRole("row").filter({ hasText: "zoë.brennan" });
    await unknown.getByText("unknown (why?)").click();
    await page.getByRole("region", { name: /^Why the groups of .* are unknown$/ }).waitFor();
    await assertAccessible(page, "the sessions page with why a user's groups are unknown open");

    await page.getByLabel("User").fill("amelia*");
    await page
      .getByRole("status")
      .filter({ hasText: /^1 session of / })
      .waitFor();
    await page.getByRole("button", { name: "Select all matching" }).click();
    await page.getByRole("button", { name: "Log off…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("checkbox", { name: /^Show a warning/ }).check();
    await assertAccessible(page, "the action dialog's options");
    await dialog.getByRole("button", { name: "Preview" }).click();
    await dialog
      .getByRole("button", { name: /^Warn, then log off 1 session on 1 host$/ })
      .waitFor();
    await assertAccessible(page, "the action dialog's preview");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });

    await page.evaluate(`window.location.hash = "#/hosts/ws1.lab.example.com"`);
    await page.getByRole("heading", { name: "ws1.lab.example.com", level: 1 }).waitFor();
    await page.locator("ol.events[aria-busy=false]").waitFor();
    await page.getByRole("table", { name: "Audit trail" }).waitFor();
    await assertAccessible(page, "a host's page");

    await banner.getByRole("link", { name: "Audit" }).click();
    await page.locator("table[aria-label='Audit trail'][aria-busy=false]").waitFor();
    await assertAccessible(page, "the audit page");
    // A 1,000-host what-if's result and a failed host: hosts and detail cut, the whole opened.
    await fleet.console.store.appendAudits([
      {
        actor: "ada",
        auth: "token",
        address: "127.0.0.1",
        action: "action.result",
        outcome: "what-if",
        hosts: MANY_HOSTS,
        detail: {
          action: "logoff",
          whatIf: true,
          statuses: { ok: 900, unreachable: 100 },
          failures: MANY_HOSTS.slice(900).map((host) => ({ host, status: "unreachable" })),
        },
      },
      {
        actor: "ada",
        auth: "token",
        address: "127.0.0.1",
        action: "action.result",
        outcome: "failed",
        hosts: ["ws0002.lab.example.com"],
        detail: { code: "INTERNAL", message: "the backend failed ".repeat(10) },
      },
    ]);
    await page.getByRole("button", { name: "Filter" }).click();
    // The 1,000-host record's row, which only the list read after the click holds: until the
    // list restarts (an effect, after a paint), the old one is still shown, with the what-if
    // records of the preview above.
    const whatIf = page
      .getByRole("row")
      .filter({ hasText: "what-if" })
      .filter({ hasText: "+997 more" });
    await whatIf.locator("summary").first().click();
    await whatIf.getByRole("region", { name: /^All 1000 hosts of record / }).waitFor();
    await whatIf.locator("summary").last().click();
    await whatIf.getByRole("region", { name: /^The whole detail of record / }).waitFor();
    const failed = page.getByRole("row").filter({ hasText: "the backend failed" });
    await failed.locator("summary").click();
    await failed.getByRole("region", { name: /^The whole detail of record / }).waitFor();
    await assertAccessible(page, "the audit page with a 1,000-host record, opened, and a failure");

    await banner.getByRole("link", { name: "Policies" }).click();
    await page.getByRole("heading", { name: "Policies", level: 1 }).waitFor();
    await assertAccessible(page, "the policies page");

    await banner.getByRole("link", { name: "History" }).click();
    await page.getByRole("heading", { name: "History", level: 1 }).waitFor();
    await page.getByRole("img", { name: "Occupancy chart" }).waitFor();
    await assertAccessible(page, "the history page");

    await banner.getByRole("link", { name: "Accounts" }).click();
    await page.getByRole("rowheader", { name: "ada (you)" }).waitFor();
    await assertAccessible(page, "the accounts page");
    await page.getByRole("button", { name: "Make token" }).click();
    await page.getByLabel("The new token").waitFor();
    await assertAccessible(page, "the accounts page with a new token shown");
    await page.getByRole("button", { name: /^Revoke / }).click();
    await page.getByRole("dialog", { name: /^Revoke the token / }).waitFor();
    await assertAccessible(page, "a confirmation");
  });
});
