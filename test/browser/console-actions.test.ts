/**
 * Acting on sessions from the web UI in Chromium, against a real console and real agents
 * (simulated backend) plus a host nothing answers at: select by filter, the what-if preview
 * first with each host's answer (the protected services session with its reason, the unreachable
 * host unmissable), a confirmation naming the count, then each host's result; and the same path
 * with the keyboard alone.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import {
  enterWhenFocused,
  focusedName,
  launchChromium,
  newContext,
  tabTo,
} from "../helpers/browser.js";
import { operatorLab, selectOneSessionByKeyboard, startUiFleet } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

describe("the web UI: acting on sessions", () => {
  it("previews a log-off on every host first (a protected session with its reason, the unreachable host), confirms with the count, then shows each host's result", async (t) => {
    const { fleet, page } = await operatorLab(t, browser);
    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();

    // The disconnected sessions: two per host, among them the agent's own session, protected.
    await page.getByLabel("State").selectOption("DISCONNECTED");
    const table = page.getByRole("grid", { name: "Sessions" });
    await page
      .getByRole("status")
      .filter({ hasText: /^4 sessions of / })
      .waitFor();
    await table.getByRole("row").filter({ hasText: "agent session" }).first().waitFor();
    await page.getByRole("button", { name: "Select all matching" }).click();
    await page.getByText("All 4 matching sessions selected").waitFor();
    await page.getByRole("button", { name: "Log off…" }).click();

    const dialog = page.getByRole("dialog", {
      name: /^Log off all 4 sessions matching the filter, on 3 hosts$/,
    });
    await dialog.getByRole("button", { name: "Preview" }).click();
    const confirm = dialog.getByRole("button", { name: "Log off 2 sessions on 2 hosts" });
    await confirm.waitFor();
    await dialog
      .getByText("Preview: 2 sessions on 2 hosts would be affected; nothing has been done yet.")
      .waitFor();
    const hosts = dialog.getByRole("list", { name: "Hosts" });
    const ws1 = hosts.getByRole("listitem").filter({ hasText: "ws1.lab.example.com" }).first();
    await ws1.getByText("protected", { exact: true }).waitFor();
    await ws1.getByText("agent session").waitFor();
    await dialog
      .getByRole("alert")
      .filter({
        hasText: `1 host did not answer the preview and will not be acted on: ${fleet.unreachable}.`,
      })
      .waitFor();
    await hosts
      .getByRole("listitem")
      .filter({ hasText: fleet.unreachable })
      .getByText("unreachable")
      .waitFor();
    assert.equal(
      fleet.hosts.reduce((n, host) => n + host.backend.logoffCalls().length, 0),
      0,
      "the preview logged nobody off",
    );

    await confirm.click();
    await dialog.getByText("Done: 2 hosts answered, 0 hosts failed.").waitFor();
    for (const name of ["ws1.lab.example.com", "ws2.lab.example.com"]) {
      const host = hosts.getByRole("listitem").filter({ hasText: name }).first();
      await host.getByText("answered").waitFor();
      await host.getByText("logged off", { exact: true }).first().waitFor();
    }
    assert.equal(
      fleet.hosts.reduce((n, host) => n + host.backend.logoffCalls().length, 0),
      2,
    );
    await dialog.getByRole("button", { name: "Close" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /^2 sessions of / })
      .waitFor();
  });

  it("disconnects a session with the keyboard alone: filter, select, preview, confirm, close", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }]);
    await fleet.console.addUser("olive", "operator");
    const context = await newContext(browser);
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(fleet.console.url);
    await tabTo(page, /^User name$/);
    await page.keyboard.type("olive");
    await page.keyboard.press("Tab");
    await page.keyboard.type("correct horse battery staple");
    await page.keyboard.press("Enter");
    await page.getByRole("banner").getByText("Signed in as olive").waitFor();

    await selectOneSessionByKeyboard(page, "amelia.hughes");
    await tabTo(page, /^Disconnect…$/, true);
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    assert.equal(await focusedName(page), "Preview");
    await page.keyboard.press("Enter");
    const confirm = dialog.getByRole("button", { name: "Disconnect 1 session on 1 host" });
    await confirm.waitFor();
    await enterWhenFocused(page, "Disconnect 1 session on 1 host");
    await dialog.getByText("Done: 1 host answered, 0 hosts failed.").waitFor();
    await dialog.getByText("disconnected", { exact: true }).waitFor();
    await enterWhenFocused(page, "Close");
    await dialog.waitFor({ state: "detached" });
    const row = page
      .getByRole("grid", { name: "Sessions" })
      .getByRole("row")
      .filter({ hasText: "amelia.hughes" });
    await row.getByText("disconnected", { exact: true }).waitFor();
    assert.deepEqual(
      fleet.hosts[0]?.backend.disconnectCalls().map((call) => call.sessionId),
      [2],
    );
  });
});
