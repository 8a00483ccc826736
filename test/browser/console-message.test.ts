/**
 * Sending a message from the web UI in Chromium, against a real console and real agents
 * (simulated backend) plus a host nothing answers at: the text is required, the preview quotes it
 * and names every host's answer, the confirmation names the count, each host's result follows;
 * the host that did not answer is retried alone once an agent answers there, with the same text;
 * and the same path with the keyboard alone.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { enterWhenFocused, launchChromium, tabTo, waitForFocus } from "../helpers/browser.js";
import {
  operatorLab,
  selectOneSessionByKeyboard,
  signedInPage,
  startUiFleet,
} from "../helpers/console-ui.js";
import { waitForFleet } from "../helpers/console-events.js";
import { startHost, stopFleet } from "../helpers/controller-fleet.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

const TEXT = "The lab closes in 10 minutes. Save your work.";

describe("the web UI: sending a message", () => {
  it("requires the text, quotes it in the preview, confirms with the count, shows each host's result, and retries just the host that did not answer", async (t) => {
    const { fleet, page } = await operatorLab(t, browser);
    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();

    await page.getByLabel("User").fill("amelia*");
    await page
      .getByRole("status")
      .filter({ hasText: /^2 sessions of / })
      .waitFor();
    await page.getByRole("button", { name: "Select all matching" }).click();
    await page.getByRole("button", { name: "Message…" }).click();
    const dialog = page.getByRole("dialog", {
      name: "Send a message to all 2 sessions matching the filter, on 3 hosts",
    });
    await dialog.waitFor();

    // No text, or only blanks: nothing is asked of any host.
    const preview = dialog.getByRole("button", { name: "Preview" });
    await preview.click();
    await dialog.getByRole("alert").filter({ hasText: "Write the message to send." }).waitFor();
    await dialog.getByLabel("Message").fill("   ");
    await preview.click();
    await dialog.getByRole("alert").filter({ hasText: "Write the message to send." }).waitFor();
    await dialog.getByLabel("Message").fill(TEXT);
    await preview.click();

    const confirm = dialog.getByRole("button", { name: "Send a message to 2 sessions on 2 hosts" });
    await confirm.waitFor();
    await dialog.getByRole("figure").filter({ hasText: TEXT }).waitFor();
    const hosts = dialog.getByRole("list", { name: "Hosts" });
    for (const host of fleet.hosts) {
      await hosts
        .getByRole("listitem")
        .filter({ hasText: host.fqdn })
        .getByText("would send message")
        .waitFor();
    }
    await dialog
      .getByRole("alert")
      .filter({
        hasText: `did not answer the preview and will not be acted on: ${fleet.unreachable}`,
      })
      .waitFor();
    for (const host of fleet.hosts) assert.equal(host.backend.messageCalls().length, 0);

    await confirm.click();
    await dialog.getByText("Done: 2 hosts answered, 0 hosts failed.").waitFor();
    for (const host of fleet.hosts) {
      await hosts
        .getByRole("listitem")
        .filter({ hasText: host.fqdn })
        .getByText("message sent", { exact: true })
        .waitFor();
      assert.deepEqual(
        host.backend.messageCalls().map((call) => [call.sessionId, call.text]),
        [[2, TEXT]],
      );
    }
    await dialog
      .getByRole("alert")
      .filter({ hasText: `Not acted on, as the preview did not answer: ${fleet.unreachable}.` })
      .waitFor();

    // An agent answers where nothing did: retrying asks that host alone, with the same text.
    const back = await startHost({
      fqdn: fleet.unreachable,
      listen: [fleet.unreachableAddress],
    });
    t.after(() => stopFleet([back]));
    await waitForFleet(fleet.console.fleet, () =>
      fleet.console.fleet.hosts().every((host) => host.status === "online"),
    );
    await dialog.getByRole("button", { name: "Retry failed hosts" }).click();
    const retry = page.getByRole("dialog", {
      name: "Send a message to the matching sessions on the 1 failed host",
    });
    await retry.waitFor();
    assert.equal(await retry.getByLabel("Message").inputValue(), TEXT);
    await retry.getByRole("button", { name: "Preview" }).click();
    const again = retry.getByRole("button", { name: "Send a message to 1 session on 1 host" });
    await again.waitFor();
    const retried = retry.getByRole("list", { name: "Hosts" }).getByRole("listitem");
    assert.deepEqual(
      (await retried.filter({ hasText: ".lab.example.com" }).allInnerTexts()).map(
        (text) => text.split("\n")[0],
      ),
      [fleet.unreachable],
      "only the host that did not answer is asked",
    );
    await again.click();
    await retry.getByText("Done: 1 host answered, 0 hosts failed.").waitFor();
    assert.deepEqual(
      back.backend.messageCalls().map((call) => [call.sessionId, call.text]),
      [[2, TEXT]],
    );
    for (const host of fleet.hosts) assert.equal(host.backend.messageCalls().length, 1);
    await retry.getByRole("button", { name: "Close" }).click();
    await retry.waitFor({ state: "detached" });
  });

  it("sends a message with the keyboard alone: select, write, preview, confirm, close", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }]);
    await fleet.console.addUser("olive", "operator");
    const page = await signedInPage(t, browser, fleet.console.url, "olive");

    await selectOneSessionByKeyboard(page, "zo*");
    await tabTo(page, /^Message…$/, true);
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Send a message to 1 selected session" });
    await dialog.waitFor();
    await waitForFocus(page, "textarea");
    await page.keyboard.type(TEXT);
    await tabTo(page, /^Preview$/);
    await page.keyboard.press("Enter");
    await dialog.getByRole("button", { name: "Send a message to 1 session on 1 host" }).waitFor();
    await enterWhenFocused(page, "Send a message to 1 session on 1 host");
    await dialog.getByText("Done: 1 host answered, 0 hosts failed.").waitFor();
    await enterWhenFocused(page, "Close");
    await dialog.waitFor({ state: "detached" });
    assert.deepEqual(
      fleet.hosts[0]?.backend.messageCalls().map((call) => [call.sessionId, call.text]),
      [[3, TEXT]],
    );
  });
});
