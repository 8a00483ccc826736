/**
 * The screenshots of docs/console.md, taken from the real thing: eight simulated classroom hosts
 * (real agents, the activity model on, seeded so every run shows the same day) and one host that
 * does not answer, a real console watching them, and Debian's Chromium at 1280×800 signed in as an
 * operator: the fleet overview, every session, a log-off's preview and its results.
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
import { resolveConsoleConfig } from "../console/config/options.js";
import { hashPassword } from "../console/security/passwords.js";
import { startConsole } from "../console/service.js";

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
  const running = await startConsole({ config, logger: pino({ level: "silent" }) });
  await running.store.addAccount("dana", "operator", await hashPassword(PASSWORD));
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
    process.stderr.write(`screenshots: ${out}/console-{overview,sessions,preview,results}.png\n`);
  } finally {
    await browser.close();
    await running.close();
  }
} finally {
  await Promise.all(agents.map((agent) => agent.shutdown({ graceMs: 0 })));
  await rm(dir, { recursive: true, force: true });
}
