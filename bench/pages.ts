/**
 * How fast the pages are usable, in Chromium (Debian's, as the browser tests use it) against one
 * real node serving the production build on a fresh seeded database: for the home page, first
 * contentful paint and the time until the first movie link is on screen; for a movie page opened
 * on a showtime (`?showtime=`), first contentful paint, the time until its seat map shows a seat,
 * and the time until a click on a seat selects it (the page has hydrated). Each round is a fresh
 * browser context (no cache, no session). Also: how many movie titles the HTML of `/` holds
 * before any JavaScript runs (what `curl /` sees).
 *
 *   npm run bench:pages            (BENCH_PAGE_ROUNDS=15)
 */
import os from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { buildIfNeeded } from '../scripts/build-if-needed';
import { startCluster } from '../harness/cluster';
import { launchBrowser } from '../harness/browser';
import { Cleanup, cleanUpOnSignal, median, openBenchDatabase, runMain } from '../harness/kit';
import { createPool } from '../db/pool';

const ROUNDS = Number(process.env.BENCH_PAGE_ROUNDS ?? 15);
const log = (msg: string) => console.error(`[bench:pages] ${msg}`);

type Timing = { fcpMs: number; shownMs: number; usableMs: number };

const now = (page: Page) => page.evaluate(() => performance.now());

/** The first click that selects an available seat: the seat map is usable (hydrated), not drawn. */
async function firstSelectingClick(page: Page): Promise<number> {
  const seat = page.locator('[data-seat][data-status="available"]:not([aria-disabled])').first();
  const chosen = page.locator(`[data-seat="${await seat.getAttribute('data-seat')}"]`);
  for (let attempt = 0; attempt < 600; attempt++) {
    await chosen.click({ timeout: 5_000 });
    if ((await chosen.getAttribute('data-status')) === 'selected') return now(page);
    await page.waitForTimeout(10);
  }
  throw new Error('no click selected a seat');
}

/** One fresh visit of `url`: first paint, `shown` on screen, and `usable` (by default: shown). */
async function visit(
  browser: Browser,
  url: string,
  shown: string,
  usable?: (page: Page) => Promise<number>,
): Promise<Timing> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator(shown).first().waitFor({ state: 'visible', timeout: 30_000 });
    const shownMs = await now(page);
    const usableMs = usable ? await usable(page) : shownMs;
    const fcpMs = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
    );
    return { fcpMs, shownMs, usableMs };
  } finally {
    await context.close();
  }
}

function report(home: Timing[], seatMap: Timing[], inHtml: number, titles: number): void {
  const ms = (t: Timing[], pick: (x: Timing) => number) => median(t.map(pick)).toFixed(0);
  const row = (name: string, t: Timing[]) => {
    const cells = [ms(t, (x) => x.fcpMs), ms(t, (x) => x.shownMs), ms(t, (x) => x.usableMs)];
    return `| ${name} | ${cells.join(' | ')} |`;
  };
  const machine = `${os.cpus().length} cores · Chromium headless · ${ROUNDS} rounds, medians`;
  console.log(`\n${new Date().toISOString()} · ${machine}`);
  console.log(`movie titles in the HTML of / (no JavaScript): ${inHtml} of ${titles}\n`);
  console.log('| page | first contentful paint, ms | content on screen, ms | usable, ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(row('home: a movie link (works without JavaScript)', home));
  console.log(row('movie page on a showtime: a seat; usable = a click selects it', seatMap));
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  cleanUpOnSignal(cleanup, log);
  try {
    buildIfNeeded();
    const database = await openBenchDatabase(cleanup, log, 'moviebook_bench_pages');
    const cluster = await startCluster(1, database.url, { SERVE_PAGES: 'on', LOG_LEVEL: 'warn' });
    cleanup.add('stop the node', () => cluster.stop());
    const url = cluster.node('node-1').url;
    const db = createPool(database.url, 1);
    const { rows } = await db.query<{ id: number; movie_id: number; titles: string[] }>(
      `SELECT s.id, s.movie_id, (SELECT array_agg(title) FROM movies) AS titles FROM showtimes s
       WHERE s.starts_at > now() + interval '1 hour' ORDER BY s.starts_at LIMIT 1`,
    );
    await db.end();
    const { id: showtimeId, movie_id: movieId, titles } = rows[0]!;
    const html = await (await fetch(`${url}/`)).text();
    const escaped = (t: string) => t.replace(/&/g, '&amp;').replace(/'/g, '&#x27;');
    const inHtml = titles.filter((t) => html.includes(escaped(t))).length;

    const browser = await launchBrowser();
    cleanup.add('close the browser', () => browser.close());
    const home: Timing[] = [];
    const seatMap: Timing[] = [];
    await visit(browser, `${url}/`, 'a[href^="/movies/"]'); // warm the node's caches once
    for (let i = 0; i < ROUNDS; i++) {
      home.push(await visit(browser, `${url}/`, 'a[href^="/movies/"]'));
      const showtimePage = `${url}/movies/${movieId}?showtime=${showtimeId}`;
      seatMap.push(await visit(browser, showtimePage, '[data-seat]', firstSelectingClick));
    }
    report(home, seatMap, inHtml, titles.length);
  } finally {
    await cleanup.run();
  }
}

runMain(main);
