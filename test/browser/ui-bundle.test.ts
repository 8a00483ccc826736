/**
 * The UI bundle in Chromium on its own: it loads under its own Content-Security-Policy, with
 * nothing fetched from anywhere but its own origin (no CDN, works offline) and no error on the
 * page. The bundle's files are answered from dist/console-ui/ by the browser's request routing,
 * every other request is refused and recorded.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import type { Browser } from "playwright-core";
import { UI_DIR, launchChromium, newContext } from "../helpers/browser.js";

const ORIGIN = "https://console.test";
const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
});

it("the bundle renders from its own origin alone, under its CSP, with no error", async () => {
  const context = await newContext(browser);
  const elsewhere: string[] = [];
  const errors: string[] = [];
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== ORIGIN) {
      elsewhere.push(url.href);
      return route.abort();
    }
    const file = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
    if (file.startsWith("api/")) {
      return route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "unauthenticated", message: "sign in first" } }),
      });
    }
    try {
      const body = await readFile(join(UI_DIR, file));
      const type = TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream";
      return await route.fulfill({ status: 200, contentType: type, body });
    } catch {
      return route.fulfill({ status: 404, body: "not found" });
    }
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${ORIGIN}/`);
  await page.getByRole("banner").getByText("wms-console").waitFor();
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(
    errors.filter((text) => !text.includes("401")),
    [],
  );
  await context.close();
});
