/**
 * A host's recent events in Chromium, against a real console (a real SQLite history) and a real
 * agent (simulated backend): the changes the console recorded before the page was opened are
 * listed, newest first, a page at a time with older ones on demand; a change made on the agent
 * while the page is open appears at the top, live, and nothing is listed twice.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { waitForFleet } from "../helpers/console-events.js";
import { signedInPage, startUiFleet } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

const HOST = "ws1.lab.example.com";

describe("the web UI: a host's recent events", () => {
  it("lists the recorded changes, newest first and a page at a time, then a live change on top", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: HOST }]);
    const { console } = fleet;
    const agent = fleet.hosts[0]!;
    // Yesterday's lessons: 30 logons and logoffs, older than anything the agent does now.
    const yesterday = Date.now() - 86_400_000;
    await console.store.appendHistory(
      Array.from({ length: 30 }, (_, i) => ({
        time: new Date(yesterday + i * 60_000),
        host: HOST,
        sessionId: 40 + (i % 5),
        user: `LAB\\pupil${i}`,
        kind: i % 2 === 0 ? ("logon" as const) : ("logoff" as const),
        detail: i % 2 === 0 ? "ACTIVE" : "",
      })),
    );
    await console.addUser("rhea", "reader");
    const page = await signedInPage(t, browser, console.url, "rhea");
    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();
    const ameliaRow = page
      .getByRole("grid", { name: "Sessions" })
      .getByRole("row")
      .filter({ hasText: "amelia.hughes" });
    await ameliaRow.waitFor();

    // Before the host's page is opened, amelia locks her screen: the page's stream brings it, and
    // the console records it; the host's page, opened after, lists it once.
    agent.backend.updateSession(2, { locked: true });
    const amelia = () => console.fleet.sessions().find((s) => s.host === HOST && s.sessionId === 2);
    await waitForFleet(console.fleet, () => amelia()?.locked === true);
    await console.history.flush();
    const recorded = await console.store.queryHistory({ host: HOST, limit: 1 });
    assert.equal(recorded[0]?.kind, "lock");
    await ameliaRow.getByText("locked", { exact: true }).waitFor();
    // The same page (its store saw the lock live), not a reload.
    await page.evaluate(`window.location.hash = "#/hosts/${HOST}"`);
    const events = page.getByRole("list", { name: `Recent events of ${HOST}` });
    const items = events.getByRole("listitem");
    await items
      .first()
      .filter({ hasText: "session 2 (" })
      .filter({ hasText: ": locked" })
      .waitFor();
    await page.locator("ol.events[aria-busy=false]").waitFor();
    assert.equal(await items.count(), 25, "one page of recorded changes, the lock once");
    assert.match(await items.nth(1).innerText(), /session 44 \(LAB\\pupil29\): logged off/);

    await page.getByRole("button", { name: "Older changes" }).click();
    // The second page holds the rest (fewer than 25): nothing older is offered.
    await items.filter({ hasText: "LAB\\pupil0)" }).waitFor();
    await page.getByRole("button", { name: "Older changes" }).waitFor({ state: "detached" });
    // Also recorded: the classroom's sessions, logged on when the console first saw them.
    const all = await console.store.queryHistory({ host: HOST, limit: 1000 });
    assert.ok(all.length > 31 && all.length < 50, String(all.length));
    assert.equal(await items.count(), all.length, "every recorded change, the lock once");
    assert.match(
      await items.filter({ hasText: "LAB\\pupil0)" }).innerText(),
      /session 40 \(LAB\\pupil0\): logged on \(active\)/,
    );
    const stamps = events.locator("time");
    const times: number[] = [];
    for (let i = 0; i < (await stamps.count()); i += 1) {
      times.push(Date.parse((await stamps.nth(i).getAttribute("datetime")) ?? ""));
    }
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      "newest first",
    );

    // While the page is open she unlocks it: the stream brings it, at the top.
    agent.backend.updateSession(2, { locked: false });
    await items
      .first()
      .filter({ hasText: "session 2 (" })
      .filter({ hasText: "unlocked" })
      .waitFor();
    await console.history.flush();
    assert.equal(await items.filter({ hasText: "unlocked" }).count(), 1);
    assert.equal(await items.filter({ hasText: /: locked$/ }).count(), 1);
  });
});
