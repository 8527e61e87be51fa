// Debian's chromium driven by playwright-core (never a downloaded browser), with a fresh profile
// per launch. Tests skip with a reason when chromium is not installed.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "bun:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { Database } from "../../src/db/database";
import type { RunningServer } from "../../src/server/lifecycle";
import { freshDatabase } from "../support/db";
import { startTestServer, stopTestServer } from "../support/server";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
export const SKIP_REASON = `chromium not found at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`;
export const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");

export async function launch(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "gridcast-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a describe block of browser tests works with, filled in before its first test. */
export interface BrowserSession {
  server: RunningServer;
  db: Database;
  context: BrowserContext;
  /** Content-Security-Policy violations reported by any page so far (watchCsp). */
  csp: string[];
}

/**
 * Registers, in the calling describe block, a daemon on a fresh PGlite with these flags and a
 * browser whose violations are watched, started before the block's tests and stopped after them.
 */
export function browserSession(flags: string[], onContext?: (context: BrowserContext) => void): BrowserSession {
  const session = {} as BrowserSession;
  let browser: Awaited<ReturnType<typeof launch>> | undefined;
  beforeAll(async () => {
    session.db = await freshDatabase("pglite");
    session.server = await startTestServer({ database: session.db, flags });
    browser = await launch();
    session.context = browser.context;
    session.csp = watchCsp(session.context);
    onContext?.(session.context);
  });
  afterAll(async () => {
    await browser?.close();
    if (session.server) await stopTestServer(session.server);
    await session.db?.close();
  });
  return session;
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/**
 * Collects what the pages of a context report against the Content-Security-Policy: chromium's
 * console errors ("Refused to ...") and the securitypolicyviolation events of each document.
 */
export function watchCsp(context: BrowserContext): string[] {
  const seen: string[] = [];
  void context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  context.on("console", (m) => {
    const text = m.text();
    if (/Content Security Policy|CSP violation/i.test(text)) seen.push(`${m.page()?.url()}: ${text}`);
  });
  return seen;
}

/** A full-page screenshot at 1280 px and at 360 px (`name.png`, `name-360.png`). */
export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: artifact(`${name}.png`), fullPage: true });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.screenshot({ path: artifact(`${name}-360.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** The page's socket indicator: `live`, `offline`, ... */
export const liveState = (page: Page) => page.locator("#live").getAttribute("data-live");

/** A mark set in the page's window: still there later means the page was not reloaded. */
export const markHere = (page: Page) => page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
export const stillHere = (page: Page) => page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere === true);
