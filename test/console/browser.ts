/**
 * Debian's chromium driven by playwright-core (no browser download): a fresh profile per run,
 * every console error and page error recorded, screenshots kept as artifacts in a directory the
 * test prints. The browser is closed by `close()`, and killed with the test process otherwise
 * (playwright's pipe closes with it).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { shellQuote, whenProcessGone } from "../support/cleanup.ts";

export const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Where screenshots go: $WISP_CONSOLE_ARTIFACTS, else $TMPDIR/wisp-console-artifacts/<run>. */
export function artifactsDir(): string {
  const base = process.env.WISP_CONSOLE_ARTIFACTS ?? join(tmpdir(), "wisp-console-artifacts");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${new Date().toISOString().replace(/[:.]/g, "-")}-`));
}

/** A browser with one page, its errors, and screenshots. */
export interface ConsoleBrowser {
  page: Page;
  /** Console messages of type error and uncaught page errors so far. */
  errors: string[];
  /** Saves a full-page screenshot as `<n>-<name>.png`; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile. */
export async function openBrowser(artifacts: string): Promise<ConsoleBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "wisp-chromium-"));
  whenProcessGone(`rm -rf ${shellQuote(profile)}`);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1360, height: 900 },
      timeout: 60_000,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  let shots = 0;
  return {
    page,
    errors,
    async screenshot(name) {
      const path = join(artifacts, `${String(++shots).padStart(2, "0")}-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
