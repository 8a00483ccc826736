/**
 * The web UI's fleet in Chromium against a real console watching real agents (simulated
 * backend) and a host nothing answers at: the overview counts the host not answering and shows it
 * as unreachable, by word; the sessions table follows a change made by `wmsctl` on an agent
 * without a reload; filters narrow the table; a session's row names its user's groups; a reader
 * sees the fleet but no action control.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { runWmsctl } from "../helpers/controller-cli.js";
import { operatorLab, signedInPage, startUiFleet } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

describe("the web UI: the fleet, live", () => {
  it("shows an unreachable host as such, and a change made by wmsctl appears in the table without a reload", async (t) => {
    const { fleet, page } = await operatorLab(t, browser);

    await page.getByRole("status").filter({ hasText: "1 host not answering of 3" }).waitFor();
    const hosts = page.getByRole("grid", { name: "Hosts" });
    const gone = hosts.getByRole("row").filter({ hasText: fleet.unreachable });
    await gone.getByText("unreachable", { exact: true }).waitFor();
    await hosts
      .getByRole("row")
      .filter({ hasText: "ws1.lab.example.com" })
      .getByText("online")
      .waitFor();

    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();
    const table = page.getByRole("grid", { name: "Sessions" });
    await page.getByLabel("Host").fill("ws1");
    await page.getByLabel("User").fill("amelia*");
    const row = table.getByRole("row").filter({ hasText: "amelia.hughes" });
    await row.getByText("active", { exact: true }).waitFor();
    assert.equal(await table.getByRole("row").count(), 2, "the header and amelia's row");
    // Her groups, as her agent read them from her logon.
    await row.getByRole("gridcell").getByText("LAB\\Students", { exact: true }).waitFor();

    const run = await runWmsctl([
      "disconnect",
      "2",
      "-s",
      "ws1.lab.example.com",
      "--resolve",
      fleet.resolveOf(fleet.hosts[0]!),
      "--insecure-loopback",
    ]);
    assert.equal(run.status, 0, run.stderr);
    await row.getByText("disconnected", { exact: true }).waitFor();
  });

  it("a reader sees every session but no action control", async (t) => {
    const fleet = await startUiFleet(t, [{ fqdn: "ws1.lab.example.com" }]);
    await fleet.console.addUser("rhea", "reader");
    const page = await signedInPage(t, browser, fleet.console.url, "rhea");
    await page.getByRole("banner").getByText("reader").waitFor();
    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();
    const table = page.getByRole("grid", { name: "Sessions" });
    await table.getByRole("row").filter({ hasText: "amelia.hughes" }).waitFor();
    assert.equal(await page.getByRole("toolbar", { name: "Act on the selection" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: /Disconnect|Log off|Message/ }).count(), 0);
    assert.equal(await page.getByRole("checkbox").count(), 0);
  });
});
