/**
 * Debian's Chromium driven by playwright-core, for the web UI's browser tests: never a browser
 * download (`.ci/run` installs the `chromium` package). Importing this module throws when the UI
 * bundle (dist/console-ui/, scripts/bundle-ui.js) is older than its sources, naming the file and
 * the command that rebuilds, so a test run by itself never tests yesterday's page.
 */
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const ROOT = new URL("../../", import.meta.url);

/** The folder wms-console serves the UI from: scripts/bundle-ui.js's output. */
export const UI_DIR = fileURLToPath(new URL("dist/console-ui/", ROOT));

/** Debian's Chromium (`apt-get install chromium`). */
export const CHROMIUM_PATH = process.env["WMSFLEET_CHROMIUM"] ?? "/usr/bin/chromium";

/** Why dist/console-ui/ cannot be tested as the sources are now, or `undefined` when it can. */
function staleness(): string | undefined {
  let manifest: { started?: unknown; inputs?: unknown };
  try {
    manifest = JSON.parse(
      readFileSync(new URL("dist/console-ui/inputs.json", ROOT), "utf8"),
    ) as typeof manifest;
  } catch {
    return "dist/console-ui/ was never built";
  }
  const started = Date.parse(String(manifest.started));
  for (const input of Array.isArray(manifest.inputs) ? (manifest.inputs as string[]) : []) {
    let modified: number;
    try {
      modified = statSync(new URL(input, ROOT)).mtimeMs;
    } catch {
      return `${input}, built into dist/console-ui/, is gone`;
    }
    if (!(modified < started)) return `${input} changed after dist/console-ui/ was built`;
  }
  return undefined;
}

const stale = staleness();
if (stale !== undefined)
  throw new Error(`${stale}: run \`npm run build\` (npm test does it first)`);

/**
 * Starts headless Chromium. `--no-sandbox` because the tests run as root (CI and here), where
 * Chromium's sandbox refuses to start.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--no-sandbox"],
  });
}

/**
 * A fresh browser profile (cookies, storage) at the size the UI is designed for first: a
 * 1280×800 laptop screen. `bypassCSP` lets a test inject a script of its own (the accessibility
 * checker) past the console's Content-Security-Policy; every other test keeps the policy.
 */
export async function newContext(
  browser: Browser,
  options: { readonly bypassCSP?: boolean } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    ...(options.bypassCSP === true ? { bypassCSP: true } : {}),
  });
  // Waits are for conditions, never for time; this only bounds how long a broken test hangs,
  // generously, as several suites share two cores here.
  context.setDefaultTimeout(BROWSER_WAIT_MS);
  return context;
}

/** How long a browser test waits for a condition before it fails, in milliseconds. */
export const BROWSER_WAIT_MS = 90_000;

/** The name of the element that has the keyboard's focus (its aria-label, label or text). */
export function focusedName(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const element = document.activeElement;
    if (element === null) return "";
    const label = element.labels?.[0]?.textContent ?? "";
    return (element.getAttribute("aria-label") || label || element.textContent || "").trim();
  })()`);
}

/**
 * Waits until the element that has the focus matches `selector` and, when given, its whole text
 * is `text`. A locator, never `page.waitForFunction`: that polls through `eval` in the page, which
 * the console's Content-Security-Policy (`script-src 'self'`) refuses once the first check, run
 * inside DevTools' own evaluation, has not already succeeded — a test that passed only when the
 * focus had moved before its first look.
 */
export async function waitForFocus(page: Page, selector = "*", text?: string): Promise<void> {
  const exact = text === undefined ? undefined : new RegExp(`^${escapeRegExp(text)}$`);
  await page.locator(`${selector}:focus`, exact === undefined ? {} : { hasText: exact }).waitFor();
}

/**
 * Waits until the focused element's text is `text` (a dialog moving the focus to its next
 * button), then presses Enter on it.
 */
export async function enterWhenFocused(page: Page, text: string): Promise<void> {
  await waitForFocus(page, "*", text);
  await page.keyboard.press("Enter");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Presses Tab (or Shift+Tab) until the focused element's name matches; fails after `max`. */
export async function tabTo(page: Page, name: RegExp, backwards = false, max = 40): Promise<void> {
  for (let i = 0; i < max; i += 1) {
    if (name.test(await focusedName(page))) return;
    await page.keyboard.press(backwards ? "Shift+Tab" : "Tab");
  }
  assert.fail(`no element named ${String(name)} within ${max} presses of Tab`);
}
