import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/**
 * Browser tests drive Debian's Chromium (provisioned by `npm test`, see scripts/ensure-browser.ts)
 * through playwright-core. The network is closed on these machines: without these flags Chromium
 * hangs trying to reach Google's services.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;
export const SCREENSHOT_DIR = path.join('test-results', 'screenshots');
/** Bound for every wait on the page (actions, selectors). */
export const PAGE_TIMEOUT_MS = 20_000;

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: run the browser tests through \`npm test\` (it installs Debian's), or set CHROMIUM_PATH`);
  }
  // launch() gives every browser a fresh temporary profile (user-data-dir), removed on close.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export type ConsoleProblem = { text: string; url: string };

/**
 * Every console error and uncaught page error of a page. Expected failed API answers (a 409 for
 * the loser of a race, say) appear as "Failed to load resource: … status of 409" and can be allowed.
 */
export function watchConsole(page: Page): { describe(): string; assertClean(allowed?: RegExp): void } {
  const problems: ConsoleProblem[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push({ text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => problems.push({ text: `uncaught: ${err.message}`, url: page.url() }));
  const said = (p: ConsoleProblem) => `${p.text} (${p.url})`;
  return {
    describe: () => (problems.length ? `console: ${problems.map(said).join('; ')}` : 'console: clean'),
    assertClean(allowed) {
      const unexpected = problems.filter((p) => !allowed || !allowed.test(`${p.text} ${p.url}`));
      if (unexpected.length) throw new Error(`console errors:\n${unexpected.map((p) => `  ${said(p)}`).join('\n')}`);
    },
  };
}

/** Screenshots of the page as it is now, at desktop and at phone width (then back to desktop). */
export async function snap(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0)); // else the sticky header lands mid-page
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(VIEWPORTS.phone);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-phone.png`), fullPage: true, animations: 'disabled' });
  await page.setViewportSize(VIEWPORTS.desktop);
}

/** Sign up through the login page; returns the email. Ends on the page `next` points to. */
export async function signUp(page: Page, baseUrl: string, name: string, next = '/'): Promise<string> {
  const email = `${name.toLowerCase()}-${randomBytes(4).toString('hex')}@example.test`;
  await page.goto(`${baseUrl}/login?mode=signup&next=${encodeURIComponent(next)}`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  return email;
}

/** The seat button of `seatId` ("F7") on a seat map. */
export function seat(page: Page, seatId: string) {
  return page.locator(`[data-seat="${seatId}"]`);
}

/** Wait until the seat shows `status` (available | selected | mine | held | booked). */
export async function waitForSeat(page: Page, seatId: string, status: string, timeoutMs = PAGE_TIMEOUT_MS): Promise<void> {
  await page.locator(`[data-seat="${seatId}"][data-status="${status}"]`).waitFor({ timeout: timeoutMs });
}

/**
 * Wait for a success notice (role=status) with `text` in `scope`. When the page shows an error
 * (role=alert) instead, or nothing, fail with what the page says, what its fields hold, and
 * `context` (say, the console's errors and the nodes' logs).
 */
export async function waitForNotice(scope: Locator, text: string | RegExp, context: () => string = () => ''): Promise<void> {
  const notice = scope.getByRole('status').filter({ hasText: text });
  const alert = scope.getByRole('alert');
  const shown = await notice.or(alert).first().waitFor({ timeout: PAGE_TIMEOUT_MS }).then(() => true, () => false);
  if (shown && (await notice.count())) return;
  const said = (await alert.count()) ? `an error: ${await alert.first().innerText()}` : 'no notice';
  const fields = (await scope.count())
    ? await scope.evaluate((el) => [...el.querySelectorAll('input, textarea, select')]
      .map((f) => `${(f as HTMLInputElement).name}=${JSON.stringify((f as HTMLInputElement).value)}`).join(', '))
    : `none: the element is gone from ${scope.page().url()}`;
  throw new Error(`expected a notice ${String(text)} within ${PAGE_TIMEOUT_MS} ms; the page shows ${said}\n(fields: ${fields})\n${context()}`);
}

/** Open a showtime's seat map and wait until its live stream is connected. */
export async function openSeatMap(page: Page, baseUrl: string, movieId: number, showtimeId: number): Promise<void> {
  await page.goto(`${baseUrl}/movies/${movieId}?showtime=${showtimeId}`);
  await page.locator('[data-live="live"]').waitFor();
}
