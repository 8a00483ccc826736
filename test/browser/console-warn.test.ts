/**
 * Warn, then act, from the web UI in Chromium against a real console and a real agent (simulated
 * backend): the warning's text and grace period are checked before anything is asked, the
 * preview quotes the warning and names the count, the sessions are warned, and after the grace
 * period the session whose user came back (it was made active again on the agent while the
 * console waited) is left alone, with the reason, while the other is logged off. The grace period
 * is a clock the test ends, so nothing depends on how fast a loaded machine runs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import { launchChromium } from "../helpers/browser.js";
import { gatedGraceClock, signedInPage, startUiFleet } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

const WARNING = "This session will be logged off in 2 minutes. Save your work.";

describe("the web UI: warn, then act", () => {
  it("warns, waits the grace period, leaves alone the user who came back and logs off the other", async (t) => {
    const grace = gatedGraceClock();
    t.after(() => grace.release());
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }], {
      background: { graceClock: grace.clock },
    });
    const agent = fleet.hosts[0]!;
    // A second disconnected session beside the classroom's ethan.park (16).
    agent.backend.addSession({
      sessionId: 20,
      state: SessionState.DISCONNECTED,
      userName: "maya.ross",
      protocol: "rdp",
      logonTime: new Date(Date.now() - 3_600_000),
    });
    await fleet.console.addUser("olive", "operator");
    const page = await signedInPage(t, browser, fleet.console.url, "olive");
    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();

    await page.getByLabel("Host").fill("ws1");
    await page.getByLabel("State").selectOption("DISCONNECTED");
    const table = page.getByRole("grid", { name: "Sessions" });
    await table.getByRole("row").filter({ hasText: "maya.ross" }).waitFor();
    await page
      .getByRole("status")
      .filter({ hasText: /^3 sessions of / })
      .waitFor();
    await page.getByRole("button", { name: "Select all matching" }).click();
    await page.getByRole("button", { name: "Log off…" }).click();
    const dialog = page.getByRole("dialog", {
      name: "Log off all 3 sessions matching the filter, on 1 host",
    });
    await dialog.getByRole("checkbox", { name: /^Show a warning, then log off/ }).check();

    // The warning's text and its grace period are checked before any host is asked.
    const preview = dialog.getByRole("button", { name: "Preview" });
    await dialog.getByRole("textbox", { name: "Warning", exact: true }).fill("");
    await preview.click();
    await dialog
      .getByRole("alert")
      .filter({ hasText: "Write the warning to show first." })
      .waitFor();
    await dialog.getByRole("textbox", { name: "Warning", exact: true }).fill(WARNING);
    await dialog.getByRole("textbox", { name: "Grace period" }).fill("soon");
    await preview.click();
    await dialog
      .getByRole("alert")
      .filter({ hasText: /^Grace period: "soon" is not a duration/ })
      .waitFor();
    await dialog.getByRole("textbox", { name: "Grace period" }).fill("2m");
    await preview.click();

    const confirm = dialog.getByRole("button", { name: "Warn, then log off 2 sessions on 1 host" });
    await confirm.waitFor();
    await dialog
      .getByRole("figure")
      .filter({ hasText: "The warning, then log off after 2m 00s the sessions that still match" })
      .filter({ hasText: WARNING })
      .waitFor();
    await dialog.getByText("protected", { exact: true }).waitFor();
    assert.equal(agent.backend.messageCalls().length, 0, "the preview warned nobody");

    await confirm.click();
    await dialog
      .getByRole("status")
      .filter({ hasText: /^Warning the sessions, then waiting 2m 00s before acting/ })
      .waitFor();
    assert.equal(await grace.started, 120_000);
    assert.deepEqual(
      agent.backend
        .messageCalls()
        .map((call) => [call.sessionId, call.text])
        .sort(),
      [
        [16, WARNING],
        [20, WARNING],
      ],
    );
    // maya.ross comes back during the grace period.
    agent.backend.updateSession(20, { state: SessionState.ACTIVE });
    grace.release();

    await dialog.getByText("Done: 1 host answered, 0 hosts failed.").waitFor();
    const outcomes = dialog.getByRole("list", { name: "Sessions of ws1.lab.example.com" });
    const maya = outcomes.getByRole("listitem").filter({ hasText: "session 20 (maya.ross)" });
    await maya.getByText("no longer matches", { exact: true }).waitFor();
    await maya.getByText(/the user came back/).waitFor();
    await maya.getByText("warned", { exact: true }).waitFor();
    const ethan = outcomes.getByRole("listitem").filter({ hasText: "session 16 (ethan.park)" });
    await ethan.getByText("logged off", { exact: true }).waitFor();
    await ethan.getByText("warned", { exact: true }).waitFor();
    assert.deepEqual(
      agent.backend.logoffCalls().map((call) => call.sessionId),
      [16],
    );
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "detached" });
  });
});
