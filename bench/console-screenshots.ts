/**
 * The screenshots of docs/console.md, taken from the real thing: eight simulated classroom hosts
 * (real agents, the activity model on, seeded so every run shows the same day) and one host that
 * does not answer, a real console watching them, and Debian's Chromium at 1280×800 signed in as an
 * operator: the fleet overview, every session, a log-off's preview and its results; then as an
 * admin, the policies page (a policy's preview, and a run with each host's results, the console's
 * clock moved to its due time) and the history page (the occupancy of a seeded school day, and a
 * host's timeline), a host's page and the accounts page.
 *
 * `node --import tsx bench/console-screenshots.ts [--out docs/images]` (after `npm run build`).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { chromium } from "playwright-core";
import { createSimulatedBackend } from "../agent/backends/simulated.js";
import { startAgent, type Agent } from "../agent/server/agent.js";
import type { ApiPolicy } from "../console/api/types.js";
import { resolveConsoleConfig } from "../console/config/options.js";
import { hashPassword } from "../console/security/passwords.js";
import { startConsole } from "../console/service.js";
import type { NewHistoryEvent } from "../console/store/store.js";

const { values: flags } = parseArgs({
  options: {
    out: { type: "string", default: fileURLToPath(new URL("../docs/images/", import.meta.url)) },
  },
});
const out = resolve(flags.out);
const CHROMIUM = process.env["WMSFLEET_CHROMIUM"] ?? "/usr/bin/chromium";
const PASSWORD = "screenshots only";

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  return typeof address === "object" && address !== null ? address.port : 1;
}

const names = ["a", "b"].flatMap((wing) =>
  [1, 2, 3, 4].map((n) => `lab-${wing}${String(n).padStart(2, "0")}.school.example`),
);
const agents: Agent[] = [];
const dir = await mkdtemp(join(tmpdir(), "wmsfleet-screenshots-"));
try {
  for (const [index, hostFqdn] of names.entries()) {
    const backend = createSimulatedBackend({
      env: {},
      activity: { seed: 1400 + index, speed: 30 },
    });
    agents.push(await startAgent({ hostFqdn, backend, listen: ["127.0.0.1:0"], graceMs: 0 }));
  }
  const inventory = join(dir, "labs.txt");
  await writeFile(
    inventory,
    [
      ...names.map((name, index) => `${name} 127.0.0.1:${agents[index]?.ports[0] ?? 0}`),
      `library-07.school.example 127.0.0.1:${await closedPort()}`,
      "",
    ].join("\n"),
  );
  const config = resolveConsoleConfig({
    flags: { listen: "127.0.0.1:0", dataDir: dir, insecureLoopback: true, inventory: [inventory] },
    env: {},
    file: {},
  });
  // The console's clock: the real one, moved forward when a policy's run is due.
  let clockOffsetMs = 0;
  const running = await startConsole({
    config,
    logger: pino({ level: "silent" }),
    background: { now: () => Date.now() + clockOffsetMs },
  });
  await running.store.addAccount("dana", "operator", await hashPassword(PASSWORD));
  await running.store.addAccount("ada", "admin", await hashPassword(PASSWORD));
  await running.store.appendHistory(schoolDay(names, Date.now()));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(running.url);
    await page.getByLabel("User name").fill("dana");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("status").filter({ hasText: "1 host not answering of 9" }).waitFor();
    await page.getByText("live", { exact: true }).waitFor();
    await mkdir(out, { recursive: true });
    await page.screenshot({ path: join(out, "console-overview.png") });

    await page.getByRole("banner").getByRole("link", { name: "Sessions" }).click();
    await page.getByRole("grid", { name: "Sessions" }).getByRole("row").nth(10).waitFor();
    await page.getByLabel("Idle at least").fill("10m");
    await page.getByRole("grid", { name: "Sessions" }).getByRole("row").nth(3).waitFor();
    await page.screenshot({ path: join(out, "console-sessions.png") });

    await page.getByRole("button", { name: "Select all matching" }).click();
    await page.getByRole("button", { name: "Log off…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Preview" }).click();
    const confirm = dialog.getByRole("button", { name: /^Log off \d+ sessions? on \d+ hosts?$/ });
    await confirm.waitFor();
    await page.screenshot({ path: join(out, "console-preview.png") });
    await confirm.click();
    await dialog.getByText(/^Done:/).waitFor();
    await page.screenshot({ path: join(out, "console-results.png") });
    await dialog.getByRole("button", { name: "Close" }).click();

    // Policies and history, as an admin.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("User name").fill("ada");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("banner").getByRole("link", { name: "Policies" }).click();
    await page.getByRole("button", { name: "New policy" }).click();
    const editor = page.getByRole("form", { name: "New policy" });
    await editor.getByLabel("Name", { exact: true }).fill("evening-logoff");
    await editor
      .getByLabel("Description", { exact: true })
      .fill("Everyone but the teachers, 17:30");
    await editor.getByRole("combobox", { name: /^Which hosts/ }).selectOption("list");
    await editor
      .getByLabel("Host names (comma list)", { exact: true })
      .fill("lab-a01.school.example, library-07.school.example");
    await editor.getByLabel("ACTIVE", { exact: true }).check();
    await editor.getByLabel("DISCONNECTED", { exact: true }).check();
    await editor.getByLabel("User pattern", { exact: true }).fill("LAB\\*");
    await editor.getByLabel("Idle at least", { exact: true }).fill("");
    await editor.getByLabel("Exempt users (comma list)", { exact: true }).fill("LAB\\m.okafor");
    await editor.getByRole("combobox", { name: /^Schedule/ }).selectOption("cron");
    await editor.getByLabel("Cron expression", { exact: true }).fill("30 17 * * 1-5");
    await editor.getByRole("button", { name: "Preview" }).click();
    await editor
      .getByRole("list", { name: "Preview by host" })
      .getByRole("listitem")
      .nth(1)
      .waitFor();
    await editor
      .getByRole("group", { name: "Sessions" })
      // The page's own element (no DOM types here): its top at the top of the window.
      .evaluate((element: { scrollIntoView(options: { block: string }): void }) => {
        element.scrollIntoView({ block: "start" });
      });
    await page.screenshot({ path: join(out, "console-policy-preview.png") });
    await editor.getByRole("button", { name: "Save" }).click();
    const table = page.getByRole("table", { name: "Policies" });
    await table.getByRole("button", { name: "Enable evening-logoff" }).click();
    await table
      .getByRole("row")
      .filter({ hasText: "evening-logoff" })
      .getByText("enabled", { exact: true })
      .waitFor();
    const stored = (await (
      await page.request.get(`${running.url}/api/v1/policies/evening-logoff`)
    ).json()) as ApiPolicy;
    if (stored.nextDueAt === null) throw new Error("the policy has no due time");
    clockOffsetMs = Date.parse(stored.nextDueAt) + 1000 - Date.now();
    await running.scheduler.tick();
    await running.scheduler.idle();
    await page.getByRole("button", { name: "Refresh runs" }).click();
    const runs = page.getByRole("region", { name: "Runs of evening-logoff" });
    await runs.getByText("done", { exact: true }).click();
    await runs
      .getByRole("list", { name: /^Results of the run at / })
      .getByRole("listitem")
      .nth(1)
      .waitFor();
    await page.screenshot({ path: join(out, "console-policy-runs.png") });

    await running.history.flush();
    await page.getByRole("banner").getByRole("link", { name: "History" }).click();
    await page.getByRole("img", { name: "Occupancy chart" }).locator("canvas").waitFor();
    await page.screenshot({ path: join(out, "console-history.png") });

    // A host's page: its recorded and live events; then the accounts, with a token just made.
    await page.evaluate(`window.location.hash = "#/hosts/lab-a01.school.example"`);
    await page.locator("ol.events[aria-busy=false]").waitFor();
    await page.screenshot({ path: join(out, "console-host.png") });
    await page.getByRole("banner").getByRole("link", { name: "Accounts" }).click();
    const tokenForm = page.getByRole("form", { name: "Make a token" });
    await tokenForm.getByLabel("For account").selectOption("dana");
    await tokenForm.getByLabel("Label").fill("nightly-report");
    await tokenForm.getByRole("button", { name: "Make token" }).click();
    await page.getByLabel("The new token").waitFor();
    await page.screenshot({ path: join(out, "console-accounts.png") });
    process.stderr.write(
      `screenshots: ${out}/console-{overview,sessions,preview,results,policy-preview,policy-runs,history,host,accounts}.png\n`,
    );
  } finally {
    await browser.close();
    await running.close();
  }
} finally {
  await Promise.all(agents.map((agent) => agent.shutdown({ graceMs: 0 })));
  await rm(dir, { recursive: true, force: true });
}

/**
 * A school day on each host, the last 24 hours before `nowMs`: lessons from 08:00 to 16:00 (UTC),
 * each host's seats taken by a number of pupils that varies by host and hour, every one logged on
 * for the lesson and off at its end. Deterministic, so every run draws the same chart.
 */
function schoolDay(hosts: readonly string[], nowMs: number): NewHistoryEvent[] {
  const HOUR_MS = 3_600_000;
  const events: NewHistoryEvent[] = [];
  const firstHour = Math.floor((nowMs - 24 * HOUR_MS) / HOUR_MS) * HOUR_MS;
  for (let hour = firstHour; hour + HOUR_MS <= nowMs - HOUR_MS; hour += HOUR_MS) {
    const hourOfDay = new Date(hour).getUTCHours();
    if (hourOfDay < 8 || hourOfDay >= 16) continue;
    for (const [index, host] of hosts.entries()) {
      const pupils = hourOfDay === 12 ? 2 : 6 + ((index * 7 + hourOfDay * 3) % 10);
      for (let seat = 0; seat < pupils; seat++) {
        const user = `LAB\\pupil${String((index * 17 + seat + hourOfDay) % 90).padStart(2, "0")}`;
        const sessionId = 100 + seat;
        const common = { host, sessionId, user, detail: "" };
        events.push({
          ...common,
          time: new Date(hour + 5 * 60_000 + seat * 20_000),
          kind: "logon",
        });
        events.push({
          ...common,
          time: new Date(hour + 50 * 60_000 + seat * 20_000),
          kind: "logoff",
        });
      }
    }
  }
  return events;
}
