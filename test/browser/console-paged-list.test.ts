/**
 * A list read a page at a time (usePagedList) when its filter changes under a page being read,
 * in Chromium against a real console: the audit trail's answers are held with `page.route` until
 * the filter has changed, so the order is the test's, not the machine's. The older page asked
 * for before the change is aborted and never lands in the new filter's list; a first page
 * superseded by a newer filter does not end the newer one's `loading` (aria-busy).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page, Request, Route } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { signedInPage, startUiConsole } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

/** Records of the trail by `carl`: more than the audit page's first page (100) holds. */
const CARL_RECORDS = 150;

/** A console whose trail holds {@link CARL_RECORDS} records by carl, and ada signed in. */
async function trailOfCarl(t: Parameters<typeof startUiConsole>[0]): Promise<Page> {
  const console = await startUiConsole(t);
  await console.addUser("ada", "admin");
  await console.store.appendAudits(
    Array.from({ length: CARL_RECORDS }, (_, i) => ({
      actor: "carl",
      auth: "token" as const,
      address: "127.0.0.1",
      action: "test.record",
      outcome: "ok",
      hosts: [],
      detail: { n: i },
    })),
  );
  const page = await signedInPage(t, browser, console.url, "ada");
  await page.getByRole("banner").getByRole("link", { name: "Audit" }).click();
  await page.locator("table[aria-label='Audit trail'][aria-busy=false]").waitFor();
  return page;
}

/** Holds the audit API's answers that `matches` picks; each held route is handed over in order. */
function holdAudit(page: Page, matches: (url: URL) => boolean): () => Promise<Route> {
  const held: Route[] = [];
  const waiting: ((route: Route) => void)[] = [];
  void page.route(
    (url) => url.pathname === "/api/v1/audit" && matches(url),
    (route) => {
      const waiter = waiting.shift();
      if (waiter === undefined) held.push(route);
      else waiter(route);
    },
  );
  return () => {
    const route = held.shift();
    return route === undefined
      ? new Promise<Route>((resolve) => waiting.push(resolve))
      : Promise.resolve(route);
  };
}

/** How a request ended: answered, or failed (aborted by the page). */
function ending(page: Page, request: Request): Promise<"answered" | "failed"> {
  return new Promise((resolve) => {
    page.on("requestfinished", (r) => r === request && resolve("answered"));
    page.on("requestfailed", (r) => r === request && resolve("failed"));
  });
}

describe("the web UI: a paged list whose filter changes while a page is read", () => {
  it("aborts the older page asked for before the filter changed; it never joins the new list", async (t) => {
    const page = await trailOfCarl(t);
    const trail = page.getByRole("table", { name: "Audit trail" });
    const carlRows = trail.getByRole("row").filter({ hasText: "test.record" });
    await carlRows.first().waitFor();
    const nextOlder = holdAudit(page, (url) => url.searchParams.has("before"));

    await page.getByRole("button", { name: "Older records" }).click();
    const older = await nextOlder();
    const olderEnded = ending(page, older.request());
    await page.getByLabel("Person").fill("ada");
    await page.getByRole("button", { name: "Filter" }).click();
    await carlRows.first().waitFor({ state: "detached" });
    await trail.getByRole("row").filter({ hasText: "login" }).first().waitFor();
    await page.locator("table[aria-label='Audit trail'][aria-busy=false]").waitFor();

    // The held page is let go: it was aborted when the filter changed, so it goes nowhere.
    await older.continue().catch(() => {});
    assert.equal(await olderEnded, "failed", "the older page's request was aborted");
    const texts = await trail.getByRole("row").allInnerTexts();
    assert.ok(
      texts.slice(1).every((text) => /\bada\b/.test(text) && !/test\.record/.test(text)),
      texts.join("\n"),
    );
  });

  it("keeps the newer filter's list busy when an older filter's first page is aborted", async (t) => {
    const page = await trailOfCarl(t);
    const trail = page.getByRole("table", { name: "Audit trail" });
    const nextFiltered = holdAudit(page, (url) => url.searchParams.has("actor"));

    await page.getByLabel("Person").fill("carl");
    await page.getByRole("button", { name: "Filter" }).click();
    const carl = await nextFiltered();
    const carlEnded = ending(page, carl.request());
    await page.getByLabel("Person").fill("ada");
    await page.getByRole("button", { name: "Filter" }).click();
    const ada = await nextFiltered();
    assert.equal(new URL(ada.request().url()).searchParams.get("actor"), "ada");
    // carl's page was aborted in the same task that asked for ada's (the list's restart), and
    // whatever that abort did to the page's state is rendered by now: ada's page is still out.
    assert.equal(
      await page.locator("table[aria-label='Audit trail']").getAttribute("aria-busy"),
      "true",
      "ada's page is being read: the list is busy",
    );
    await carl.continue().catch(() => {});
    assert.equal(await carlEnded, "failed", "carl's page was aborted");
    assert.equal(
      await page.locator("table[aria-label='Audit trail']").getAttribute("aria-busy"),
      "true",
    );

    await ada.continue();
    await page.locator("table[aria-label='Audit trail'][aria-busy=false]").waitFor();
    await trail.getByRole("row").filter({ hasText: "login" }).first().waitFor();
    assert.equal(await trail.getByRole("row").filter({ hasText: "test.record" }).count(), 0);
  });
});
