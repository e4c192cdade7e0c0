// Debian's chromium driven by playwright-core (Playwright's own browser
// download cannot be reached in CI). Every page opened here records the
// requests it made and the script errors it threw, for the tests to check.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The browser, or the reason there is none (the test then prints SKIPPED). */
export async function launchChromium(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install -y chromium; .ci/run does it)`;
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
      timeout: 60_000,
    });
  } catch (e) {
    return `${CHROMIUM} did not start: ${(e as Error).message.split('\n')[0] ?? ''}`;
  }
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /**
   * Uncaught script errors and console errors (a CSP violation is one).
   * Chromium's own "Failed to load resource" lines for answers like 401 or
   * a refused connection are not script errors: the tests cause those on purpose.
   */
  errors: string[];
}

export async function openPage(browser: Browser, locale = 'en-US'): Promise<WatchedPage> {
  const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
  // Generous: CI is a loaded 2-core machine, and each step waits for a condition, never for a time.
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const watched: WatchedPage = { context, page, requests: [], errors: [] };
  page.on('request', (r) => watched.requests.push(r.url()));
  page.on('pageerror', (e) => watched.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      watched.errors.push(`console: ${m.text()}`);
  });
  return watched;
}
