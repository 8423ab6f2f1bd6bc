import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { buildIfNeeded } from '../scripts/build-if-needed';
import { startCluster, waitFor, waitForAgreement, type TestCluster } from '../harness/cluster';
import { client, createTestDatabase, findShowtime, signedUpClient, type TestDatabase } from '../harness/helpers';
import { launchBrowser, openSeatMap, PAGE_TIMEOUT_MS, seat, signUp, snap, VIEWPORTS, waitForNotice, waitForSeat, watchConsole } from '../harness/browser';

/**
 * The booking site in a real browser against a real cluster: two node processes (pages + API) on
 * a fresh database. Pages of one test may talk to different nodes, so live seat updates cross
 * node processes (PostgreSQL LISTEN/NOTIFY → server-sent events).
 */
const TEST_TIMEOUT_MS = 120_000;
/** A failed API answer the page handles (shown as a message), e.g. the 409 of a lost race. */
const handled = (status: number) => new RegExp(`status of ${status} .*\\/api\\/`);
/** How many seat-map answers the page has merged so far (it says so on its live badge). */
const seatMapsMerged = async (page: Page) => Number(await page.locator('[data-seat-maps]').getAttribute('data-seat-maps'));
const titled = (title: string) => new RegExp(title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

describe('booking site in a browser', { timeout: 15 * 60_000 }, () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let browser: Browser;
  let node1: string;
  let node2: string;
  let showtime: { id: number; movieId: number; title: string };
  const contexts: BrowserContext[] = [];

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    return page;
  }

  before(async () => {
    buildIfNeeded(); // the pages run as in production (a no-op when the build is current)
    database = await createTestDatabase();
    cluster = await startCluster(2, database.url, { SERVE_PAGES: 'on', LOG_LEVEL: 'warn' });
    node1 = cluster.node('node-1').url;
    node2 = cluster.node('node-2').url;
    browser = await launchBrowser();
    const st = await findShowtime(database.db, 'Grand Hall');
    const { rows } = await database.db.query<{ movie_id: number; title: string }>(
      'SELECT s.movie_id, m.title FROM showtimes s JOIN movies m ON m.id = s.movie_id WHERE s.id = $1', [st.id],
    );
    showtime = { id: st.id, movieId: rows[0]!.movie_id, title: rows[0]!.title };
  }, { timeout: 10 * 60_000 });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await cluster?.stop();
    await database?.drop();
  });

  /** What a failing wait adds to its message: the page's console errors and the nodes' logs. */
  const diagnosis = (watch: ReturnType<typeof watchConsole>) => () => `${watch.describe()}\n${cluster.logTail()}`;

  async function bookingsOf(email: string): Promise<{ id: string; status: string; seat_ids: string[] }[]> {
    const { rows } = await database.db.query(
      'SELECT b.id, b.status, b.seat_ids FROM bookings b JOIN users u ON u.id = b.user_id WHERE u.email = $1 ORDER BY b.created_at', [email],
    );
    return rows;
  }

  test('server-rendered: `curl /` lists the movies, a showtime page its seats', async () => {
    const escaped = (text: string) =>
      text.replace(/&/g, '&amp;').replace(/'/g, '&#x27;').replace(/"/g, '&quot;');
    const html = async (path: string) => (await fetch(node1 + path)).text();
    type Movie = { id: number; title: string };
    const movies = (await database.db.query<Movie>('SELECT id, title FROM movies')).rows;
    const home = await html('/');
    for (const movie of movies) {
      assert.ok(home.includes(escaped(movie.title)), `${movie.title} in the HTML of /`);
      const link = `href="/movies/${movie.id}"`;
      assert.ok(home.includes(link), `a link to movie ${movie.id} that works without JavaScript`);
    }
    const st = await findShowtime(database.db, 'Grand Hall');
    const page = await html(`/movies/${showtime.movieId}?showtime=${showtime.id}`);
    assert.ok(page.includes(`<title>${escaped(showtime.title)} · MovieBook</title>`), 'its title');
    for (const id of st.seats) assert.ok(page.includes(`data-seat="${id}"`), `seat ${id}`);
    // A showtime of another movie is not shown as this one's.
    const { rows: [other] } = await database.db.query<{ id: number }>(
      'SELECT id FROM showtimes WHERE movie_id <> $1 AND starts_at > now() LIMIT 1',
      [showtime.movieId],
    );
    const wrong = await html(`/movies/${showtime.movieId}?showtime=${other!.id}`);
    assert.ok(!wrong.includes('data-seat="A1"'), 'no seat map for a showtime of another movie');
  });

  test('sign up → pick seats (mouse and keyboard) → hold → book (double click) → My bookings → cancel', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await newPage();
    const consoleWatch = watchConsole(page);

    await page.goto(`${node1}/`);
    await page.getByRole('link', { name: titled(showtime.title) }).waitFor();
    await snap(page, 'home');
    // Search and the genre filter narrow the catalogue.
    const titles = () => page.locator('main li h2').allTextContents();
    await page.getByRole('searchbox', { name: 'Search movies' }).fill('lighthouse');
    await page.waitForFunction(() => document.querySelectorAll('main li h2').length === 1);
    assert.deepEqual(await titles(), ['The Last Lighthouse']);
    await page.getByRole('searchbox', { name: 'Search movies' }).fill('');
    await page.getByRole('button', { name: 'Sci-Fi' }).click();
    await page.waitForFunction(() => document.querySelectorAll('main li h2').length === 2);
    assert.deepEqual(await titles(), ['Quantum Heist', 'Echoes of Titan']);

    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await snap(page, 'login');
    const email = await signUp(page, node1, 'Ada');

    // Home → the movie → its showtime (on whichever day it is).
    await page.getByRole('link', { name: titled(showtime.title) }).click();
    await page.getByRole('heading', { level: 1, name: showtime.title }).waitFor();
    await snap(page, 'movie');
    for (const day of await page.getByRole('group', { name: 'Day' }).getByRole('button').all()) {
      await day.click();
      if (await page.locator(`[data-showtime="${showtime.id}"]`).isVisible()) break;
    }
    await page.locator(`[data-showtime="${showtime.id}"]`).click();
    await page.waitForURL(new RegExp(`showtime=${showtime.id}`));
    await page.locator('[data-live="live"]').waitFor();

    // F7 by mouse; then the keyboard: → moves to F8, Space selects it.
    const f7 = page.getByRole('button', { name: /^Row F seat 7, Standard, \$11\.50, available$/ });
    await f7.click();
    await waitForSeat(page, 'F7', 'selected');
    assert.equal(await seat(page, 'F7').getAttribute('aria-label'), 'Row F seat 7, Standard, $11.50, selected');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    await waitForSeat(page, 'F8', 'selected');
    assert.equal(await seat(page, 'F8').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('total').textContent(), '$23.00');

    await page.getByRole('button', { name: 'Hold 2 seats' }).click();
    const countdown = page.getByTestId('hold-countdown');
    await countdown.waitFor();
    assert.match((await countdown.textContent()) ?? '', /Seats held for you\s*(9:[0-5]\d|10:00)/);
    await snap(page, 'seat-map');

    // A double click books once: the button locks at once, and every attempt of this checkout
    // carries the same Idempotency-Key, so a repeat would replay the booking, not make another.
    const keys: (string | undefined)[] = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/bookings') keys.push(req.headers()['idempotency-key']);
    });
    await page.getByRole('button', { name: /Confirm booking · \$23\.00/ }).dblclick();
    await page.getByRole('heading', { name: 'You’re booked!' }).waitFor();
    assert.equal(await page.getByTestId('booking-total').textContent(), '$23.00');
    const info = page.getByTestId('distributed-info');
    assert.match((await info.textContent()) ?? '', /Processed by\s*node-1\s*Lamport clock\s*\d+\s*Vector clock.*node-1: \d+.*Timestamp\s*\d{4}-\d\d-\d\dT/);
    await snap(page, 'confirmation');
    const booked = await bookingsOf(email);
    assert.equal(booked.length, 1, 'exactly one booking despite the double click');
    assert.ok(keys.length >= 1 && keys[0] && keys.every((k) => k === keys[0]), `Idempotency-Keys sent: ${JSON.stringify(keys)}`);
    assert.deepEqual(booked[0]!.seat_ids, ['F7', 'F8']);

    await page.getByRole('link', { name: 'My bookings' }).first().click();
    const card = page.locator(`[data-booking="${booked[0]!.id}"]`);
    await card.waitFor();
    assert.match((await page.locator('#section-upcoming').locator('..').textContent()) ?? '', titled(showtime.title));
    assert.match((await card.textContent()) ?? '', /F7F8/);
    await card.getByRole('button', { name: 'Show distributed info' }).click();
    await snap(page, 'bookings');

    await card.getByRole('button', { name: 'Cancel booking' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this booking?' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /seats F7, F8 \(\$23\.00\)/);
    await dialog.getByRole('button', { name: 'Cancel booking' }).click();
    await waitForNotice(page.getByRole('main'), 'Cancelled your booking', diagnosis(consoleWatch));
    await page.locator('#section-cancelled').waitFor();
    assert.equal((await bookingsOf(email))[0]!.status, 'cancelled');
    const { rows } = await database.db.query('SELECT 1 FROM booking_seats WHERE booking_id = $1', [booked[0]!.id]);
    assert.equal(rows.length, 0, 'the seats are free again');

    // Log out: back home, and the header offers logging in again.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${node1}/`);
    await page.getByRole('banner').getByRole('link', { name: 'Log in' }).waitFor();
    consoleWatch.assertClean();
  });

  test('two browsers (on different nodes) race for the same seat: exactly one gets it, the other is told', { timeout: TEST_TIMEOUT_MS }, async () => {
    const [a, b] = [await newPage(), await newPage()];
    const consoles = [watchConsole(a), watchConsole(b)];
    const emails = [await signUp(a, node1, 'Alice'), await signUp(b, node2, 'Bob')];
    await openSeatMap(a, node1, showtime.movieId, showtime.id);
    await openSeatMap(b, node2, showtime.movieId, showtime.id);
    for (const page of [a, b]) await seat(page, 'H5').click();
    // A page whose map shows H5 taken before its click lands cannot click any more: told as well.
    const clicked = await Promise.all([a, b].map((page) =>
      page.getByRole('button', { name: 'Hold 1 seat' }).click({ timeout: 10_000 }).then(() => true, () => false)));

    // Exactly one page reaches the countdown; the other says which seat was lost (or its map had
    // already shown the seat taken, so it could not ask).
    const outcome = async (page: Page, didClick: boolean) => {
      if (!didClick) {
        await waitForSeat(page, 'H5', 'held');
        return 'lost';
      }
      const won = page.getByTestId('hold-countdown');
      const lost = page.getByRole('alert').filter({ hasText: /seat H5 was just taken by someone else/i });
      await won.or(lost).first().waitFor();
      return (await won.isVisible()) ? 'won' : 'lost';
    };
    const results = await Promise.all([outcome(a, clicked[0]!), outcome(b, clicked[1]!)]);
    assert.deepEqual([...results].sort(), ['lost', 'won'], `outcomes: ${results.join(', ')}`);
    const winner = results[0] === 'won' ? a : b;
    const loser = winner === a ? b : a;
    await snap(loser, 'seat-conflict');
    // The loser's map shows H5 as taken by someone else and cannot select it.
    await waitForSeat(loser, 'H5', 'held');
    assert.equal(await seat(loser, 'H5').getAttribute('aria-disabled'), 'true');
    assert.equal(await loser.getByRole('button', { name: /^Hold/ }).isDisabled(), true);

    await winner.getByRole('button', { name: /Confirm booking/ }).click();
    await winner.getByRole('heading', { name: 'You’re booked!' }).waitFor();
    await waitForSeat(loser, 'H5', 'booked');
    const { rows } = await database.db.query<{ email: string }>(
      `SELECT u.email FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id JOIN users u ON u.id = b.user_id
       WHERE bs.showtime_id = $1 AND bs.seat_id = 'H5'`, [showtime.id],
    );
    assert.equal(rows.length, 1, 'H5 is sold exactly once');
    assert.equal(rows[0]!.email, emails[winner === a ? 0 : 1]);
    consoles[0]!.assertClean(handled(409));
    consoles[1]!.assertClean(handled(409));
  });

  test('a seat booked in one browser turns unavailable in another on another node, without a reload', { timeout: TEST_TIMEOUT_MS }, async () => {
    const [booker, watcher] = [await newPage(), await newPage()];
    const consoles = [watchConsole(booker), watchConsole(watcher)];
    await signUp(booker, node1, 'Carol');
    await signUp(watcher, node2, 'Dave');
    await openSeatMap(watcher, node2, showtime.movieId, showtime.id);
    await openSeatMap(booker, node1, showtime.movieId, showtime.id);
    // The watcher has J10 and J11 selected; a marker shows whether the page reloads.
    await seat(watcher, 'J10').click();
    await seat(watcher, 'J11').click();
    await watcher.evaluate(() => Object.assign(window, { __sameDocument: true }));

    await seat(booker, 'J10').click();
    await booker.getByRole('button', { name: 'Hold 1 seat' }).click();
    // Held by someone else: shown at once, and dropped from the watcher's selection (J11 stays).
    await waitForSeat(watcher, 'J10', 'held');
    await watcher.getByRole('alert').filter({ hasText: 'Seat J10 was just taken by someone else. The rest of your selection (J11) is still yours to hold.' }).waitFor();
    await waitForSeat(watcher, 'J11', 'selected');

    await booker.getByRole('button', { name: /Confirm booking/ }).click();
    await booker.getByRole('heading', { name: 'You’re booked!' }).waitFor();
    await waitForSeat(watcher, 'J10', 'booked');
    assert.match((await seat(watcher, 'J10').getAttribute('aria-label')) ?? '', /^Row J seat 10, Premium, \$15\.50, taken$/);
    assert.equal(await watcher.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload');
    consoles[0]!.assertClean();
    consoles[1]!.assertClean();
  });

  test('a conflict when confirming names the lost seats and keeps the rest selected', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await newPage();
    const consoleWatch = watchConsole(page);
    await signUp(page, node2, 'Erin');
    await openSeatMap(page, node2, showtime.movieId, showtime.id);
    await seat(page, 'K3').click();
    await seat(page, 'K4').click();
    await page.getByRole('button', { name: 'Hold 2 seats' }).click();
    await page.getByTestId('hold-countdown').waitFor();

    // The hold lapses (as after ten minutes) and someone else books K4 meanwhile.
    await database.db.query(
      "UPDATE showtime_seats SET held_until = now() - interval '1 second' WHERE showtime_id = $1 AND seat_id IN ('K3', 'K4')", [showtime.id],
    );
    const other = await signedUpClient(node1, 'frank');
    assert.equal((await other.api.post('/api/bookings', { showtimeId: showtime.id, seats: ['K4'] })).status, 201);

    await page.getByRole('button', { name: /Confirm booking/ }).click();
    await page.getByRole('alert').filter({ hasText: 'Sorry — seat K4 was just taken by someone else. We kept the rest of your selection: K3.' }).waitFor();
    await waitForSeat(page, 'K3', 'selected');
    await waitForSeat(page, 'K4', 'booked');
    await page.getByRole('button', { name: 'Hold 1 seat' }).waitFor();
    consoleWatch.assertClean(handled(409));
  });

  test('with replication to node-2 delayed, a booking through node-1 shows on node-2 at once, and a stale seat map arriving later does not undo it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const DELAY_MS = 6_000;
    const AT_ONCE_MS = 2_000;
    const watcher = await newPage();
    const consoleWatch = watchConsole(watcher);
    await signUp(watcher, node2, 'Grace');
    const booker = await signedUpClient(node1, 'heidi');
    await openSeatMap(watcher, node2, showtime.movieId, showtime.id);
    await waitForSeat(watcher, 'L4', 'available');

    // The watcher's own hold shows as theirs (selected, not "held by someone else").
    await seat(watcher, 'L6').click();
    await watcher.getByRole('button', { name: 'Hold 1 seat' }).click();
    await watcher.getByTestId('hold-countdown').waitFor();
    await waitForSeat(watcher, 'L6', 'selected');

    // Hold back the seat map the page fetches next (after "Change seats"): node-2's answer from
    // before the booking, delivered only once the booking is on the page — a stale read arriving
    // after a newer event.
    const mapPath = `/api/showtimes/${showtime.id}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let staleBody: { seats: { id: string; status: string }[] } | undefined;
    let fetchedStale!: () => void;
    const staleFetched = new Promise<void>((resolve) => { fetchedStale = resolve; });
    const holdBack = async (route: Route) => {
      if (staleBody || route.request().method() !== 'GET') return route.continue();
      const response = await route.fetch();
      staleBody = await response.json();
      fetchedStale();
      await released;
      await route.fulfill({ response });
    };
    await watcher.route((url) => url.pathname === mapPath, holdBack);
    await watcher.getByRole('button', { name: 'Change seats' }).click();
    await staleFetched;
    await waitForSeat(watcher, 'L6', 'selected'); // released: free again, still selected
    assert.equal(staleBody!.seats.find((s) => s.id === 'L4')!.status, 'available');

    const admin = await cluster.adminToken();
    const delay = async (ms: number) => {
      for (const [id, peer] of [['node-1', 'node-2'], ['node-2', 'node-1']] as const) {
        const res = await client(cluster.node(id).url, admin).post('/api/faults', { delayToMs: ms ? { [peer]: ms } : {} });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
    };
    await delay(DELAY_MS);
    try {
      const started = Date.now();
      // The booking answers once its replication times out (node-2 must acknowledge it): not awaited here.
      const booked = booker.api.post('/api/bookings', { showtimeId: showtime.id, seats: ['L4'] });
      await waitForSeat(watcher, 'L4', 'booked', AT_ONCE_MS);
      const shownAfterMs = Date.now() - started;
      const replicaNow = await client(node2).get(`${mapPath}?consistency=eventual`);
      assert.equal(replicaNow.body.seats.find((s: { id: string }) => s.id === 'L4').status, 'available', `node-2's replica is still behind (shown after ${shownAfterMs} ms)`);

      // The held-back stale answer arrives now (the page counts the seat maps it has merged); L4 stays booked.
      const merged = await seatMapsMerged(watcher);
      release();
      await watcher.waitForFunction((n) => Number(document.querySelector('[data-seat-maps]')?.getAttribute('data-seat-maps')) > n, merged);
      await watcher.unroute((url) => url.pathname === mapPath, holdBack);
      assert.equal(await seat(watcher, 'L4').getAttribute('data-status'), 'booked', 'a stale seat map did not undo the booking');
      assert.equal((await booked).status, 201);

      // Once node-2's replica has the booking, a fresh seat map agrees; the page still shows it.
      await waitFor("node-2's replica to have the booking", DELAY_MS + 20_000, async () =>
        (await client(node2).get(`${mapPath}?consistency=eventual`)).body.seats.find((s: { id: string }) => s.id === 'L4').status === 'booked', 100);
    } finally {
      await delay(0);
    }
    await waitForAgreement(cluster, ['node-1', 'node-2'], 20_000);
    await watcher.getByRole('button', { name: 'Hold 1 seat' }).click();
    await watcher.getByTestId('hold-countdown').waitFor();
    const before = await seatMapsMerged(watcher);
    await watcher.getByRole('button', { name: 'Change seats' }).click();
    await watcher.waitForFunction((n) => Number(document.querySelector('[data-seat-maps]')?.getAttribute('data-seat-maps')) > n, before);
    await waitForSeat(watcher, 'L6', 'selected');
    assert.equal(await seat(watcher, 'L4').getAttribute('data-status'), 'booked');
    consoleWatch.assertClean();
  });

  test('admin adds a movie and a showtime; a wrong password gets a readable message', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await newPage();
    const consoleWatch = watchConsole(page);
    const password = /password: (\S+)/.exec(fs.readFileSync(path.join(cluster.dataDir, 'admin-credentials.txt'), 'utf8'))![1]!;

    await page.goto(`${node2}/admin`);
    await page.getByText('Log in with an administrator account').waitFor();
    await page.getByRole('main').getByRole('link', { name: 'Log in' }).click();
    await page.getByLabel('Email').fill('admin@moviebook.local');
    await page.getByLabel('Password').fill('not the password');
    const submit = page.getByRole('form', { name: 'Log in' }).getByRole('button', { name: 'Log in' });
    await submit.click();
    await page.getByRole('alert').filter({ hasText: 'That email and password do not match an account.' }).waitFor();
    await page.getByLabel('Password').fill(password);
    await submit.click();
    await page.getByRole('heading', { name: 'Add a movie' }).waitFor();
    await page.getByRole('combobox', { name: 'Movie' }).locator('option').first().waitFor({ state: 'attached' });
    await snap(page, 'admin');

    const movie = page.getByRole('region', { name: 'Add a movie' });
    await movie.getByRole('textbox', { name: 'Title' }).fill('Consensus at Dawn');
    await movie.getByRole('textbox', { name: 'Genre' }).fill('Thriller');
    await movie.getByRole('spinbutton', { name: 'Duration (min)' }).fill('101');
    await movie.getByRole('textbox', { name: 'Description' }).fill('Five replicas, one log, and a leader who will not step down.');
    await movie.getByRole('button', { name: 'Add movie' }).click();
    await waitForNotice(movie, /Added “Consensus at Dawn” \(movie #\d+\), processed by node-2, Lamport clock \d+/, diagnosis(consoleWatch));

    const showtimeForm = page.getByRole('region', { name: 'Add a showtime' });
    const movieSelect = showtimeForm.getByRole('combobox', { name: 'Movie' });
    await movieSelect.locator('option', { hasText: 'Consensus at Dawn' }).waitFor({ state: 'attached' });
    await movieSelect.selectOption({ label: 'Consensus at Dawn' });
    await showtimeForm.getByRole('combobox', { name: 'Screen' }).selectOption({ label: 'Boutique · 40 seats' });
    await showtimeForm.getByRole('button', { name: 'Add showtime' }).click();
    await waitForNotice(showtimeForm, /Consensus at Dawn on Boutique/, diagnosis(consoleWatch));
    // The same showtime twice is refused with a readable message.
    await showtimeForm.getByRole('button', { name: 'Add showtime' }).click();
    await showtimeForm.getByRole('alert').filter({ hasText: 'That screen already has a showtime at that time' }).waitFor();

    // Where an admin would go next: the new showtime's seat map, with the Boutique's sofas.
    await page.goto(`${node2}/`);
    await page.getByRole('link', { name: /Consensus at Dawn/ }).click();
    await page.getByRole('button', { name: /Boutique/ }).click();
    await page.locator('[data-live="live"]').waitFor();
    assert.equal(await page.locator('[data-seat]').count(), 40);
    await page.getByRole('button', { name: /^Row E seat 1, Sofa for two, \$24\.00, available$/ }).waitFor();
    await page.getByRole('button', { name: /^Row A seat 1, Accessible, \$11\.50, wheelchair space, available$/ }).waitFor();
    await snap(page, 'seat-map-boutique');
    consoleWatch.assertClean(/status of (401|400) .*\/api\/(auth\/login|showtimes)/);
  });
});
