/**
 * The Accounts page in Chromium against a real console (real HTTP, a real SQLite file): an admin
 * adds an account (the two passwords must agree; a weak one is refused in the API's words),
 * makes a token for it (shown once, copied with the button), the new person signs in and sees no
 * Accounts page, the token works until the admin revokes it (after a confirmation); a lockout is
 * shown and lifted, a password set, a role changed, an account removed; the admin's own account
 * offers no removal.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium, newContext } from "../helpers/browser.js";
import { TEST_PASSWORD } from "../helpers/console-harness.js";
import { signIn, signedInPage, startUiConsole } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

describe("the web UI: accounts and tokens", () => {
  it("adds an account, makes its token, the person signs in without the Accounts page, the token is revoked", async (t) => {
    const console = await startUiConsole(t);
    await console.addUser("ada", "admin");
    const context = await newContext(browser);
    t.after(() => context.close());
    await context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: console.url,
    });
    const page = await context.newPage();
    await signIn(page, console.url, "ada");
    await page.getByRole("banner").getByRole("link", { name: "Accounts" }).click();
    const people = page.getByRole("table", { name: "People" });
    const own = people.getByRole("row").filter({ hasText: "ada (you)" });
    await own.waitFor();
    assert.equal(await page.getByRole("button", { name: /^Remove ada/ }).count(), 0);
    // Her own role is text, not a picker, and says why in words (not a tooltip).
    assert.equal(await own.getByRole("combobox").count(), 0);
    assert.equal(
      (await own.getByRole("cell").first().textContent())?.trim(),
      "admin (another admin can change it)",
    );

    const form = page.getByRole("form", { name: "Add an account" });
    await form.getByLabel("Name").fill("bob");
    await form.getByLabel("Role").selectOption("operator");
    await form.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
    await form.getByLabel("Password again").fill("something else entirely");
    await form.getByRole("button", { name: "Add account" }).click();
    await form
      .getByRole("alert")
      .filter({ hasText: "The two passwords differ; nothing was changed." })
      .waitFor();
    await form.getByLabel("Password", { exact: true }).fill("short");
    await form.getByLabel("Password again").fill("short");
    await form.getByRole("button", { name: "Add account" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /Adding bob failed: "password": .*at least 12 characters/ })
      .waitFor();
    assert.equal(await console.store.findAccount("bob"), undefined);
    await form.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
    await form.getByLabel("Password again").fill(TEST_PASSWORD);
    await form.getByRole("button", { name: "Add account" }).click();
    await page.getByRole("status").filter({ hasText: "Added bob (operator)." }).waitFor();
    await people.getByRole("row").filter({ hasText: "bob" }).waitFor();
    assert.equal(await people.getByLabel("Role of bob").inputValue(), "operator");

    const tokenForm = page.getByRole("form", { name: "Make a token" });
    await tokenForm.getByLabel("For account").selectOption("bob");
    await tokenForm.getByLabel("Label").fill("report");
    await tokenForm.getByRole("button", { name: "Make token" }).click();
    const made = page.getByRole("region", { name: /^Token [0-9a-f]+ for bob$/ });
    await made
      .getByRole("alert")
      .filter({ hasText: "Copy this token now: it is shown this once" })
      .waitFor();
    const secret = await made.getByLabel("The new token").inputValue();
    assert.match(secret, /^wmsc_[0-9a-f]{16}_/);
    await made.getByRole("button", { name: "Copy" }).click();
    await made.getByRole("status").filter({ hasText: "Copied to the clipboard." }).waitFor();
    assert.equal(await page.evaluate("navigator.clipboard.readText()"), secret);
    const bearer = { authorization: `Bearer ${secret}` };
    const me = await console.fetch("/api/v1/me", { headers: bearer });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { user: string }).user, "bob");
    await made.getByRole("button", { name: "Done" }).click();
    await made.waitFor({ state: "detached" });
    const tokens = page.getByRole("table", { name: "API tokens" });
    const tokenRow = tokens.getByRole("row").filter({ hasText: "report" });
    await tokenRow.waitFor();
    assert.equal((await tokens.innerText()).includes(secret), false, "the secret is shown once");

    // bob signs in: an operator, without the Accounts page.
    const other = await newContext(browser);
    t.after(() => other.close());
    const bobPage = await other.newPage();
    await signIn(bobPage, console.url, "bob");
    await bobPage.getByRole("banner").getByText("Signed in as bob operator").waitFor();
    assert.equal(await bobPage.getByRole("link", { name: "Accounts" }).count(), 0);
    await bobPage.goto(`${console.url}/#/accounts`);
    await bobPage.getByRole("status").filter({ hasText: "Only admins manage accounts." }).waitFor();

    // The token is revoked, after a confirmation.
    await tokenRow.getByRole("button", { name: /^Revoke / }).click();
    const confirm = page.getByRole("dialog", { name: /^Revoke the token [0-9a-f]+\?$/ });
    await confirm.getByRole("button", { name: /^Revoke [0-9a-f]+$/ }).click();
    await confirm.waitFor({ state: "detached" });
    await tokenRow.waitFor({ state: "detached" });
    await tokens.getByText("No tokens.").waitFor();
    assert.equal((await console.fetch("/api/v1/me", { headers: bearer })).status, 401);
  });

  it("shows a lockout and lifts it, sets a password, changes a role and removes an account after a confirmation", async (t) => {
    const console = await startUiConsole(t);
    await console.addUser("ada", "admin");
    await console.addUser("rhea", "reader");
    for (let i = 0; i < 5; i += 1) {
      await assert.rejects(console.login("rhea", "not rhea's password at all"), /401/);
    }
    const page = await signedInPage(t, browser, console.url, "ada");
    await page.goto(`${console.url}/#/accounts`);
    const rhea = page.getByRole("table", { name: "People" }).getByRole("row").filter({
      hasText: "rhea",
    });
    await rhea.getByText(/^locked until /).waitFor();
    await rhea.getByRole("button", { name: "Unlock rhea" }).click();
    await page.getByRole("status").filter({ hasText: "rhea can sign in again." }).waitFor();
    await rhea.getByText("allowed").waitFor();

    await rhea.getByRole("button", { name: "Set password of rhea…" }).click();
    const dialog = page.getByRole("dialog", { name: "Set the password of rhea" });
    await dialog.getByLabel("Password", { exact: true }).fill("rhea's new password");
    await dialog.getByLabel("Password again").fill("rhea's new passwort");
    await dialog.getByRole("button", { name: "Set password" }).click();
    await dialog.getByRole("alert").filter({ hasText: "The two passwords differ" }).waitFor();
    await dialog.getByLabel("Password again").fill("rhea's new password");
    await dialog.getByRole("button", { name: "Set password" }).click();
    await dialog.waitFor({ state: "detached" });
    await page
      .getByRole("status")
      .filter({ hasText: "New password for rhea; their browser sessions have ended." })
      .waitFor();
    await console.login("rhea", "rhea's new password");

    await rhea.getByLabel("Role of rhea").selectOption("operator");
    await page.getByRole("status").filter({ hasText: "rhea is now operator." }).waitFor();
    assert.equal((await console.store.findAccount("rhea"))?.role, "operator");

    await rhea.getByRole("button", { name: "Remove rhea…" }).click();
    const remove = page.getByRole("dialog", { name: "Remove the account rhea?" });
    await remove.getByRole("button", { name: "Cancel" }).click();
    await remove.waitFor({ state: "detached" });
    assert.notEqual(await console.store.findAccount("rhea"), undefined);
    await rhea.getByRole("button", { name: "Remove rhea…" }).click();
    await remove.getByRole("button", { name: "Remove rhea" }).click();
    await rhea.waitFor({ state: "detached" });
    assert.equal(await console.store.findAccount("rhea"), undefined);
  });
});
