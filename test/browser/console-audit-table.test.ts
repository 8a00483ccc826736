/**
 * The audit table with a 1,000-host fleet's records, in Chromium against a real console: an
 * action's intent names its first hosts and how many more, the whole list one Enter away (Tab
 * reaches the disclosure); a what-if's 12,000-character failures are cut in the row and whole
 * behind the same disclosure; only a record that went wrong or was refused is highlighted, not
 * an intent, a what-if or a policy run that starts.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { after, before, describe, it } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import type { NewAuditEntry } from "../../console/store/store.js";
import { AUDIT_DETAIL_VALUE_CHARS, AUDIT_HOSTS_SHOWN } from "../../console/ui/audit-record.js";
import { launchChromium, tabTo } from "../helpers/browser.js";
import { signedInPage, startUiConsole } from "../helpers/console-ui.js";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

/** The fleet of the records: 1,000 hosts. */
const HOSTS = Array.from(
  { length: 1000 },
  (_, i) => `ws${String(i + 1).padStart(4, "0")}.lab.example.com`,
);

/** A what-if's failures as its result record names them: about 12,000 characters of JSON. */
const FAILURES = HOSTS.slice(0, 130).map((host) => ({
  host,
  status: "unreachable",
  code: "UNAVAILABLE",
  message: "No connection established",
}));

/** One record by olive from 127.0.0.1. */
function record(
  action: string,
  outcome: string,
  hosts: readonly string[],
  detail: Record<string, unknown>,
): NewAuditEntry {
  return {
    actor: "olive",
    auth: "token",
    address: "127.0.0.1",
    action,
    outcome,
    hosts: [...hosts],
    detail,
  };
}

/**
 * A console whose trail holds a 1,000-host what-if (its intent and its result record), a
 * 1,000-host log-off's intent and one host's failed result, a refusal and a policy run that
 * starts; ada signed in on the audit page.
 */
async function fleetTrail(t: TestContext): Promise<Page> {
  const console = await startUiConsole(t);
  await console.addUser("ada", "admin");
  await console.store.appendAudits([
    record("action.intent", "what-if", HOSTS, { action: "logoff", whatIf: true, hosts: "all" }),
    record("action.result", "what-if", HOSTS, {
      intent: 1,
      action: "logoff",
      whatIf: true,
      statuses: { ok: 870, unreachable: 130 },
      outcomes: { WOULD_LOG_OFF: 2610 },
      failures: FAILURES,
    }),
    record("action.intent", "requested", HOSTS, { action: "logoff", whatIf: false, hosts: "all" }),
    record("action.result", "failed", ["ws0002.lab.example.com"], {
      intent: 3,
      action: "logoff",
      whatIf: false,
      code: "INTERNAL",
      message: "the backend failed",
    }),
    record("denied", "forbidden", [], { reason: "POST /api/v1/actions needs the operator role" }),
    { ...record("policy.run", "running", [], { policy: "evening" }), auth: "policy" },
  ]);
  const page = await signedInPage(t, browser, console.url, "ada");
  await page.getByRole("banner").getByRole("link", { name: "Audit" }).click();
  await page.locator("table[aria-label='Audit trail'][aria-busy=false]").waitFor();
  return page;
}

/** The trail's row of `action` with `outcome`. */
function row(page: Page, action: string, outcome: string): Locator {
  return page
    .getByRole("table", { name: "Audit trail" })
    .getByRole("row")
    .filter({ has: page.getByRole("cell", { name: action, exact: true }) })
    .filter({ has: page.getByRole("cell", { name: outcome, exact: true }) });
}

describe("the web UI: the audit table of a 1,000-host fleet", () => {
  it("names an intent's first hosts and how many more; Tab and Enter open the whole list", async (t) => {
    const page = await fleetTrail(t);
    const intent = row(page, "action.intent", "requested");
    const hostsCell = intent.getByRole("cell").nth(4);
    const more = HOSTS.length - AUDIT_HOSTS_SHOWN;
    assert.equal(
      (await hostsCell.innerText()).trim(),
      `${HOSTS.slice(0, AUDIT_HOSTS_SHOWN).join(", ")} +${more} more`,
    );
    const whole = intent.getByRole("region", { name: /^All 1000 hosts of record \d+$/ });
    assert.equal(await whole.count(), 0, "the whole list is closed");

    await page.getByRole("region", { name: "Audit trail, scrollable" }).focus();
    await tabTo(page, new RegExp(`^${HOSTS[0]?.replaceAll(".", "\\.")}, .* \\+${more} more$`));
    await page.keyboard.press("Enter");
    await whole.waitFor();
    assert.equal(await whole.innerText(), HOSTS.join(", "));
  });

  it("cuts a what-if's failures in the row; the whole detail opens with the keyboard", async (t) => {
    const page = await fleetTrail(t);
    const result = row(page, "action.result", "what-if");
    const detailCell = result.getByRole("cell").nth(5);
    const short = (await detailCell.innerText()).trim();
    assert.match(short, /^intent: 1; action: logoff; whatIf: true; statuses: \{"ok":870,/);
    assert.match(short, /; failures: \[\{"host":"ws0001\.lab\.example\.com",[^;]*…$/);
    assert.ok(short.length < 6 * (AUDIT_DETAIL_VALUE_CHARS + 12), `${short.length} characters`);
    assert.ok(!short.includes("ws0130"), short);
    const whole = result.getByRole("region", { name: /^The whole detail of record \d+$/ });
    assert.equal(await whole.count(), 0, "the whole detail is closed");

    await page.getByRole("region", { name: "Audit trail, scrollable" }).focus();
    await tabTo(page, /^intent: 1; action: logoff; whatIf: true; statuses: /);
    await page.keyboard.press("Enter");
    await whole.waitFor();
    const text = await whole.innerText();
    assert.ok(text.includes(`failures: ${JSON.stringify(FAILURES)}`), text.slice(0, 200));
    assert.ok(text.includes('outcomes: {"WOULD_LOG_OFF":2610}'), text.slice(0, 200));
  });

  it("highlights a failed result and a refusal, not an intent, a what-if or a run that starts", async (t) => {
    const page = await fleetTrail(t);
    const highlighted = async (action: string, outcome: string) =>
      /\brow-bad\b/.test((await row(page, action, outcome).getAttribute("class")) ?? "");
    assert.equal(await highlighted("action.result", "failed"), true, "a failed host");
    assert.equal(await highlighted("denied", "forbidden"), true, "a refusal");
    assert.equal(await highlighted("action.intent", "requested"), false, "an intent");
    assert.equal(await highlighted("action.intent", "what-if"), false, "a what-if's intent");
    assert.equal(await highlighted("action.result", "what-if"), false, "a what-if's result");
    assert.equal(await highlighted("policy.run", "running"), false, "a run that starts");
    assert.equal(await highlighted("login", "ok"), false, "ada's sign-in");
  });
});
