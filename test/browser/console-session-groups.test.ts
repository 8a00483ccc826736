/**
 * The sessions table's Groups column in Chromium against a real console and a real agent
 * (simulated backend), with the keyboard alone: a user in seven groups with long names is named
 * by her first two and how many more, on one line (a user in two, whose names seldom fit, has the
 * same disclosure; a user in one has none); Tab from the table (past its column headers)
 * reaches the active row's disclosure — only the active row's — which a screen reader is given as
 * a collapsed disclosure; Enter opens every group over the rows below, the row keeping its height;
 * Escape closes it, and the table's own keys (Space selects) are as before. A user whose groups
 * the agent could not read shows why behind the same disclosure (it was in a tooltip only).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { GROUPS_UNKNOWN_NOTE } from "../../agent/backends/simulated.js";
import { focusedName, launchChromium, tabTo } from "../helpers/browser.js";
import {
  MANY_GROUPS,
  MANY_GROUPS_USER,
  logOnWithGroups,
  signedInPage,
  startUiFleet,
} from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

/** The focused element as Chromium's accessibility tree gives it to a screen reader. */
interface ScreenReaderView {
  readonly role: string;
  readonly name: string;
  readonly expanded: boolean | undefined;
}

/** What a screen reader is told about the element that has the focus (DevTools protocol). */
async function focusedForScreenReader(page: Page): Promise<ScreenReaderView> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const property = (node: (typeof nodes)[number], name: string): unknown =>
      node.properties?.find((p) => p.name === name)?.value.value;
    const focused = nodes.filter(
      (node) => property(node, "focused") === true && node.role?.value !== "RootWebArea",
    );
    assert.equal(focused.length, 1, "one focused element in the accessibility tree");
    const node = focused[0]!;
    const expanded = property(node, "expanded");
    return {
      role: String(node.role?.value),
      name: String(node.name?.value ?? ""),
      expanded: typeof expanded === "boolean" ? expanded : undefined,
    };
  } finally {
    await cdp.detach();
  }
}

/** With the keyboard alone, on a signed-in page: the Sessions page, the Host filter `ws1`. */
async function sessionsOfWs1(page: Page, sessions: number): Promise<void> {
  await tabTo(page, /^Sessions$/);
  await page.keyboard.press("Enter");
  await page.getByRole("grid", { name: "Sessions" }).waitFor();
  await tabTo(page, /^Host$/);
  await page.keyboard.type("ws1");
  await page
    .getByRole("status")
    .filter({ hasText: new RegExp(`^${sessions} sessions of `) })
    .waitFor();
}

describe("the web UI: a session's groups, by keyboard and screen reader", () => {
  it("names a user's first groups and how many more on one line; Tab reaches the active row's list, Enter opens it whole", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }]);
    const host = fleet.hosts[0]!;
    // Two users with more groups than a row names: the classroom's 18 sessions and its listener,
    // then these two (sessions 30 and 31), the table ordered by host and id.
    const fewer = MANY_GROUPS.slice(2, 6);
    logOnWithGroups(host, 30, "CONTOSO-EDU\\r.okonkwo-baptiste", fewer);
    logOnWithGroups(host, 31);
    await fleet.console.addUser("olive", "operator");
    const page = await signedInPage(t, browser, fleet.console.url, "olive");
    await sessionsOfWs1(page, 21);

    const table = page.getByRole("grid", { name: "Sessions" });
    const rowOf = (user: string) => table.getByRole("row").filter({ hasText: user });
    const row = rowOf(MANY_GROUPS_USER);
    const short = `${MANY_GROUPS[0]}, ${MANY_GROUPS[1]} +5 more`;
    assert.equal(await row.getByText(short, { exact: true }).count(), 1, short);
    const oneGroupHigh = (await rowOf("amelia.hughes").boundingBox())?.height;
    assert.ok(oneGroupHigh !== undefined && oneGroupHigh > 0);
    assert.equal((await row.boundingBox())?.height, oneGroupHigh, "one line, closed");
    // Two groups seldom fit the column: the teacher's are behind a disclosure too; one is text.
    assert.equal(await rowOf("m.okafor").getByRole("group").count(), 1, "two groups");
    assert.equal(await rowOf("amelia.hughes").getByRole("group").count(), 0, "one group");
    const whole = page.getByRole("region", { name: `All 7 groups of ${MANY_GROUPS_USER}` });
    assert.equal(await whole.count(), 0, "the whole list is closed");

    // The grid is the tab stop; its last row but one (31) made active with End and ↑. Tab passes
    // the column headers, then reaches that row's groups: not row 30's, which comes first.
    await tabTo(page, /^Sessions$/);
    await page.keyboard.press("End");
    await page.keyboard.press("ArrowUp");
    await tabTo(page, / more$/);
    assert.equal(await focusedName(page), short);
    assert.deepEqual(await focusedForScreenReader(page), {
      role: "DisclosureTriangle",
      name: short,
      expanded: false,
    });

    await page.keyboard.press("Enter");
    await whole.waitFor();
    assert.deepEqual(await whole.getByRole("listitem").allInnerTexts(), MANY_GROUPS);
    assert.equal((await focusedForScreenReader(page)).expanded, true, "announced open");
    assert.equal((await row.boundingBox())?.height, oneGroupHigh, "the row keeps its height");
    // The list is drawn over the rows below it, not under them: each group is what is seen (and
    // clicked) where it is drawn.
    const items = await whole.getByRole("listitem").all();
    for (const [i, item] of items.entries()) {
      const box = await item.boundingBox();
      assert.ok(box !== null);
      const seen = await page.evaluate(
        `document.elementFromPoint(${box.x + box.width / 2}, ${box.y + box.height / 2})?.textContent`,
      );
      assert.equal(seen, MANY_GROUPS[i]);
    }
    // The open list is a scrolling box the keyboard reaches.
    await page.keyboard.press("Tab");
    assert.equal(await focusedName(page), `All 7 groups of ${MANY_GROUPS_USER}`);

    await page.keyboard.press("Escape");
    await whole.waitFor({ state: "detached" });
    assert.equal(await focusedName(page), short, "the focus is back on the summary");
    // Enter on the disclosure opened neither the host nor selected anything; the grid's keys
    // work on the same active row.
    assert.match(page.url(), /#\/sessions$/);
    await page.getByText("0 sessions selected").waitFor();
    await tabTo(page, /^Sessions$/, true);
    await page.keyboard.press("Space");
    await page.getByText("1 session selected").waitFor();
    assert.equal(await row.getAttribute("aria-selected"), "true");
  });

  it("shows why a user's groups are unknown behind the same disclosure", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }]);
    fleet.hosts[0]!.backend.updateSession(3, { groups: null });
    await fleet.console.addUser("rhea", "reader");
    const page = await signedInPage(t, browser, fleet.console.url, "rhea");
    await sessionsOfWs1(page, 19);

    // zoë.brennan's session is the fourth row: ↓ three times makes it active.
    await tabTo(page, /^Sessions$/);
    for (let i = 0; i < 3; i += 1) await page.keyboard.press("ArrowDown");
    await tabTo(page, /^unknown \(why\?\)$/);
    await page.keyboard.press("Enter");
    const why = page.getByRole("region", {
      name: "Why the groups of LAB\\zoë.brennan are unknown",
    });
    await why.waitFor();
    assert.equal(await why.innerText(), GROUPS_UNKNOWN_NOTE);
  });
});
