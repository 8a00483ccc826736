/**
 * Policies and history in the web UI, in Chromium, against a real console and real agents, the
 * console's clock injected (the scheduler ticks when the test says, no real waiting): a mistake
 * in the editor is the console's own words; a policy is created, previewed (each host's what-if
 * answer, the exempt user and the unreachable host shown), enabled, and its run is seen with each
 * host's results; the history page draws the occupancy chart and a host's timeline.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import type { ApiPolicy } from "../../console/api/types.js";
import { launchChromium, newContext } from "../helpers/browser.js";
import { signIn, startUiFleet } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

describe("the web UI: policies and history", () => {
  it("creates a policy, previews it, enables it and shows its run; draws occupancy and a timeline", async (t) => {
    const clock = { now: Date.now() };
    const fleet = await startUiFleet(
      t,
      [{ fqdn: "ws1.lab.example.com" }, { fqdn: "ws2.lab.example.com" }],
      { background: { now: () => clock.now, timers: false } },
    );
    await fleet.console.addUser("ada", "admin");
    const context = await newContext(browser);
    t.after(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await signIn(page, fleet.console.url, "ada");
    await page.getByRole("banner").getByRole("link", { name: "Policies" }).click();
    await page.getByRole("button", { name: "New policy" }).click();

    const editor = page.getByRole("form", { name: "New policy" });
    await editor.getByLabel("Name", { exact: true }).fill("idle-logoff");
    await editor.getByLabel("Exempt users (comma list)", { exact: true }).fill("LAB\\chloe.*");
    await editor.getByLabel("Interval", { exact: true }).fill("30s");
    await editor.getByRole("button", { name: "Save" }).click();
    await editor.getByRole("alert").getByText('"schedule.every" must be at least 1m').waitFor();
    await editor.getByLabel("Interval", { exact: true }).fill("15m");

    await editor.getByRole("button", { name: "Preview" }).click();
    const preview = editor.getByRole("list", { name: "Preview by host" });
    const ws1 = preview.getByRole("listitem").filter({ hasText: "ws1.lab.example.com" }).first();
    await ws1.getByText("WOULD_LOG_OFF", { exact: true }).waitFor();
    await ws1.getByText("EXEMPT", { exact: true }).waitFor();
    await preview.getByText(/unreachable/).waitFor();
    assert.equal(fleet.hosts[0]?.backend.logoffCalls().length, 0, "a preview changes nothing");

    await editor.getByRole("button", { name: "Save" }).click();
    const table = page.getByRole("table", { name: "Policies" });
    await table
      .getByRole("row")
      .filter({ hasText: "idle-logoff" })
      .getByText("disabled", { exact: true })
      .waitFor();
    await table.getByRole("button", { name: "Enable idle-logoff" }).click();
    await table
      .getByRole("row")
      .filter({ hasText: "idle-logoff" })
      .getByText("enabled", { exact: true })
      .waitFor();

    // The next due time comes (the console's clock), and the scheduler runs the policy.
    const stored = (await (
      await fleet.console.fetch("/api/v1/policies/idle-logoff", {
        headers: { cookie: await cookieOf(context) },
      })
    ).json()) as ApiPolicy;
    assert.ok(stored.nextDueAt !== null);
    clock.now = Date.parse(stored.nextDueAt) + 1000;
    await fleet.console.scheduler.tick();
    await fleet.console.scheduler.idle();

    await page.getByRole("button", { name: "Refresh runs" }).click();
    const runs = page.getByRole("region", { name: "Runs of idle-logoff" });
    await runs.getByText("done", { exact: true }).click();
    const results = runs.getByRole("list", { name: /^Results of the run at / });
    await results
      .getByRole("listitem")
      .filter({ hasText: "ws1.lab.example.com" })
      .first()
      .getByText("LOGGED_OFF", { exact: true })
      .waitFor();
    assert.deepEqual(
      fleet.hosts[0]?.backend.logoffCalls().map((c) => c.sessionId),
      [5],
    );

    await fleet.console.history.flush();
    await page.getByRole("banner").getByRole("link", { name: "History" }).click();
    await page.getByRole("img", { name: "Occupancy chart" }).locator("canvas").waitFor();
    await page
      .getByRole("table", { name: "Busiest hour per host" })
      .getByRole("link", { name: "ws1.lab.example.com" })
      .click();
    const timeline = page.getByRole("region", { name: "Timeline of ws1.lab.example.com" });
    await timeline
      .getByText(/LAB\\oliver\.bennett/)
      .first()
      .waitFor();
    await timeline.getByText("logged off").first().waitFor();
    assert.deepEqual(errors, []);
  });
});

/** The session cookie of the browser context, for the test's own API call. */
async function cookieOf(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
}
