// A real headless Chromium (through playwright-core) for the tests of the monitor's pages: a
// fresh profile per launch, and every console error and uncaught page error kept, so a test
// can assert the page ran clean.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { requireTool } from './tools.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches Chromium with a new profile under `dir`; the caller closes `browser`. */
export async function launchChromium(
  dir: string,
  viewport: { width: number; height: number },
): Promise<{ browser: BrowserContext; page: Page; consoleErrors: string[] }> {
  requireTool(CHROMIUM, 'chromium');
  const profile = await mkdtemp(join(dir, 'chromium-'));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
    viewport,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  return { browser, page, consoleErrors };
}
