import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';

/** Chromium as the container has it, quiet and local: no sandbox, no network of its own. */
export const CHROMIUM = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
};

export const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

export interface BrowserTest {
  page: Page;
  context: BrowserContext;
  /** Every console message of the page, as `type: text`. */
  console: string[];
}

/**
 * One Chromium per test file, a fresh context (no cookies, no storage) per test, and a
 * screenshot in test-artifacts/ when a test fails: jest has no after-failure hook, so the test
 * body is wrapped instead (`browser.it`).
 */
export function useBrowser(
  options: {
    headers?: () => Record<string, string>;
    /** For flows through the emulators that serve HTTPS with the test CA (Azure, OVH). */
    ignoreHTTPSErrors?: boolean;
  } = {},
) {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch(CHROMIUM);
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    it(name: string, fn: (t: BrowserTest) => Promise<void>, timeout?: number): void {
      it(
        name,
        async () => {
          if (!browser) throw new Error('the browser did not start');
          const context = await browser.newContext({
            ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
          });
          const headers = options.headers?.();
          if (headers) await context.setExtraHTTPHeaders(headers);
          const page = await context.newPage();
          const messages: string[] = [];
          page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
          try {
            await fn({ page, context, console: messages });
          } catch (err) {
            await screenshot(page, name);
            throw err;
          } finally {
            await context.close();
          }
        },
        timeout,
      );
    },
  };
}

async function screenshot(page: Page, name: string): Promise<void> {
  try {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = `${expect.getState().testPath?.split('/').pop() ?? 'test'}-${name}`
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, 150);
    await page.screenshot({ path: join(ARTIFACTS, `${file}.png`), fullPage: true });
  } catch {
    // a failed screenshot must not hide the test's own failure
  }
}

/**
 * Retries an assertion until it holds (playwright-core has no web-first `expect`): for what the
 * page changes by itself (a redirect landing, the setup poller).
 */
export async function eventually(
  assertion: () => Promise<void>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
