import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildIfNeeded } from '../scripts/build-if-needed';
import { takeRestartRequest } from '../node/cluster/restart-requests';
import { startCluster, startGateway, waitFor, type TestCluster, type TestGateway } from '../harness/cluster';
import { createTestDatabase, type TestDatabase } from '../harness/helpers';
import { launchBrowser, PAGE_TIMEOUT_MS, SCREENSHOT_DIR, VIEWPORTS, watchConsole } from '../harness/browser';

/**
 * The system monitor in a real browser, served through the real gateway in front of three real
 * node processes (pages + API): the election buttons run real elections, and killing the leader
 * from the Chaos tab really crashes its process — this test plays the launcher's part and
 * restarts it when the crash asked for it (as `npm start` does).
 */
const TEST_TIMEOUT_MS = 120_000;
/** A Berkeley round asked of a node that is no longer the leader: answered 409 NOT_LEADER, shown as a message. */
const LEADER_MOVED = /status of 409 .*\/api\/cluster\/sync-now/;

describe('system monitor in a browser', { timeout: 15 * 60_000 }, () => {
  let database: TestDatabase;
  let cluster: TestCluster;
  let gateway: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let consoleWatch: ReturnType<typeof watchConsole>;
  const restarts: string[] = [];
  let stopping = false;

  /** The launcher's part: restart a node that crashed on request, after the delay it asked for. */
  function supervise(id: string): void {
    cluster.node(id).proc!.once('exit', (code) => {
      const delay = takeRestartRequest(cluster.dataDir, id, code);
      if (delay === undefined || stopping) return;
      setTimeout(() => {
        if (stopping) return;
        cluster.start(id).then(() => {
          restarts.push(id);
          supervise(id);
        }, (err: unknown) => console.error(`restarting ${id} failed`, err));
      }, delay);
    });
  }

  async function gatewayEligible(count: number): Promise<void> {
    await waitFor(`${count} nodes eligible at the gateway`, 30_000, async () => {
      const stats = (await (await fetch(`${gateway.url}/api/lb`)).json()) as { nodes: { eligible: boolean }[] };
      return stats.nodes.filter((n) => n.eligible).length === count;
    }, 100);
  }

  /** Both widths; the charts are drawn at the element's width, so let them re-render first. */
  async function snapBoth(name: string): Promise<void> {
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0)); // else the sticky header lands mid-page in a full-page shot
    const settle = () => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await settle();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `monitor-${name}-desktop.png`), fullPage: true, animations: 'disabled' });
    await page.setViewportSize(VIEWPORTS.phone);
    await settle();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `monitor-${name}-phone.png`), fullPage: true, animations: 'disabled' });
    await page.setViewportSize(VIEWPORTS.desktop);
    await settle();
  }

  async function openTab(name: string): Promise<void> {
    await page.getByRole('tab', { name }).click();
    await page.waitForFunction((tab) => document.querySelector(`[role="tab"][aria-selected="true"]`)?.textContent?.startsWith(tab), name);
  }

  /** The end of every node's log, to explain a failure. */

  const text = async (testId: string) => ((await page.getByTestId(testId).textContent()) ?? '').trim();

  before(async () => {
    // The pages run as in production: scripts/run-tests.ts builds them once before browser tests
    // (not per file: two builds at once fail); build here only when run on its own without a build.
    if (!fs.existsSync(path.join('.next', 'BUILD_ID'))) buildIfNeeded();
    database = await createTestDatabase();
    cluster = await startCluster(3, database.url, { SERVE_PAGES: 'on', LOG_LEVEL: 'warn' });
    for (const id of cluster.nodes.keys()) supervise(id);
    gateway = await startGateway(database.url);
    await gatewayEligible(3);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    page = await context.newPage();
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    consoleWatch = watchConsole(page);
  }, { timeout: 10 * 60_000 });

  after(async () => {
    stopping = true;
    await context?.close().catch(() => {});
    await browser?.close();
    await gateway?.stop();
    await cluster?.stop();
    await database?.drop();
  });

  test('anonymous: the monitor is live, the admin-only actions ask for a login', { timeout: TEST_TIMEOUT_MS }, async () => {
    await page.goto(`${gateway.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitor' }).click();
    await page.waitForURL(/\/monitor/);
    await page.locator('[data-testid="health-nodes"] article[data-status="alive"]').nth(2).waitFor();
    assert.match(await text('summary-alive'), /^3 \/ 3$/);
    assert.match(await text('seen-by'), /as seen by\s*node-[123]/);
    // "View from" pins every poll to one node (X-Node through the gateway).
    await page.getByTestId('view-from').selectOption('node-2');
    await page.waitForFunction(() => /as seen by\s*node-2\s*\(pinned\)/.test(document.querySelector('[data-testid="seen-by"]')?.textContent ?? ''));
    await page.getByTestId('view-from').selectOption('');
    await openTab('Chaos');
    await page.getByTestId('chaos-login').getByRole('link', { name: 'Log in' }).waitFor();
    await openTab('Leader election');
    assert.equal(await page.getByRole('button', { name: 'Trigger Bully election' }).isDisabled(), true);
    consoleWatch.assertClean();
  });

  test('the Bully and Ring buttons run elections: the epoch grows, the algorithm shown changes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const password = /password: (\S+)/.exec(fs.readFileSync(path.join(cluster.dataDir, 'admin-credentials.txt'), 'utf8'))![1]!;
    await page.goto(`${gateway.url}/login?next=${encodeURIComponent('/monitor')}`);
    await page.getByLabel('Email').fill('admin@moviebook.local');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('form', { name: 'Log in' }).getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/monitor$/);
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    await snapBoth('health');

    await openTab('Leader election');
    await page.getByTestId('election-epoch').waitFor();
    const epoch0 = Number(await text('election-epoch'));
    assert.ok(epoch0 >= 1, `a leader was elected at start (epoch ${epoch0})`);

    const trigger = async (algorithm: 'Bully' | 'Ring', after: number): Promise<number> => {
      const started = Date.now();
      await page.getByRole('button', { name: `Trigger ${algorithm} election` }).click();
      // This election's answer names its algorithm (the one before named the other).
      const result = page.getByTestId('election-result').filter({ hasText: algorithm.toLowerCase() });
      await result.waitFor();
      const shown = (await result.textContent()) ?? '';
      // A triggered election always ends in a new epoch, whichever node runs it.
      assert.match(shown, /elected/, `the ${algorithm} election's result: ${shown}\n${cluster.logTail()}`);
      // Every poll may come from another node: wait until the displayed state shows the new election.
      await page.waitForFunction(([min, algo]) => {
        const epoch = Number(document.querySelector('[data-testid="election-epoch"]')?.textContent);
        const shown = document.querySelector('[data-testid="election-algorithm"]')?.textContent;
        return epoch > Number(min) && shown === algo;
      }, [after, algorithm.toLowerCase()] as const);
      const epoch = Number(await text('election-epoch'));
      console.log(`${algorithm}: epoch ${after} → ${epoch}, leader ${await text('election-leader')}, shown after ${Date.now() - started} ms`);
      return epoch;
    };
    const epoch1 = await trigger('Bully', epoch0);
    assert.equal(await text('election-algorithm'), 'bully');
    const epoch2 = await trigger('Ring', epoch1);
    assert.ok(epoch2 > epoch1);
    assert.equal(await text('election-algorithm'), 'ring');
    assert.match(await text('election-leader'), /^node-\d$/);
    // The timeline lists both elections, with the algorithm that ran them.
    await page.locator(`[data-testid="election-timeline"] li[data-epoch="${epoch2}"]`).getByText('ring').waitFor();
    await page.locator(`[data-testid="election-timeline"] li[data-epoch="${epoch1}"]`).getByText('bully').waitFor();
    await snapBoth('election');
    consoleWatch.assertClean();
  });

  test('every other tab renders: clocks (with a skewed node pulled back), replication, load balancer', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Skew node-1 by +3 s from the Chaos tab, then ask the leader for a Berkeley round at once.
    await openTab('Chaos');
    const node1 = page.getByTestId('chaos-node-node-1');
    await node1.getByText('no faults injected').waitFor();
    await node1.getByLabel('Clock skew of node-1 in ms').fill('3000');
    await node1.getByRole('button', { name: 'Skew' }).click();
    await node1.getByText('clock +3.00 s').waitFor();
    await openTab('Clock sync');
    await page.getByRole('button', { name: 'Run a round now' }).click();
    // "Round n: spread …", or NOT_LEADER if leadership moved since the page showed the leader.
    await page.getByTestId('berkeley').getByRole('status').waitFor();
    // A round (this one, or the leader's next one, every 5 s) measured node-1 seconds ahead.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="berkeley-rounds"] tbody tr td:nth-child(4)')].some((td) => /^\d\.\d\d s$/.test(td.textContent ?? '')));
    await page.getByTestId('lamport-node-3').waitFor();
    await snapBoth('clocks');

    // Replication: the mode, and one row per replica (a node without replication would say so instead).
    await openTab('Replication');
    await page.getByTestId('replication-mode').getByRole('radio', { checked: true }).waitFor();
    await page.locator('[data-testid="replicas-table"] tbody tr').nth(2).waitFor();
    await snapBoth('replication');

    await openTab('Load balancer');
    await page.getByRole('button', { name: 'Send 300 requests' }).click();
    await page.getByTestId('traffic-result').getByText(/node-1: \d+ · node-2: \d+ · node-3: \d+/).waitFor();
    await page.getByRole('radio', { name: 'least-connections' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="summary-gateway"]')?.textContent?.startsWith('least-connections'));
    await page.getByRole('radio', { name: 'round-robin' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="summary-gateway"]')?.textContent?.startsWith('round-robin'));
    await snapBoth('balancer');

    await openTab('Chaos');
    await node1.getByRole('button', { name: 'Reset' }).click();
    await node1.getByText('no faults injected').waitFor();
    consoleWatch.assertClean(LEADER_MOVED);
  });

  test('killing the leader from the Chaos tab: the monitor shows it dead and a new leader, then back after its restart', { timeout: TEST_TIMEOUT_MS }, async () => {
    await openTab('Chaos');
    await page.waitForFunction(() => /^Leader now: node-\d/.test(document.querySelector('[data-testid="chaos-leader"]')?.textContent ?? ''));
    const leader = /Leader now: (node-\d+)/.exec(await text('chaos-leader'))![1]!;
    await snapBoth('chaos');
    const card = page.getByTestId(`chaos-node-${leader}`);
    await card.getByLabel(`After killing ${leader}`).selectOption({ label: 'restart after 3 s' });
    const killed = Date.now();
    await card.getByRole('button', { name: `Kill ${leader}` }).click();
    await page.getByTestId('chaos-log').getByText(/killed \(pid \d+\); the launcher restarts it in 3 s/).waitFor();

    await page.locator(`[data-testid="chaos-node-${leader}"][data-status="dead"]`).waitFor();
    await page.waitForFunction((old) => {
      const shown = document.querySelector('[data-testid="summary-leader"]')?.textContent ?? '';
      return /node-\d/.test(shown) && !shown.includes(old);
    }, leader);
    const newLeader = await text('summary-leader');
    console.log(`killed ${leader}: shown dead with new leader ${newLeader} after ${Date.now() - killed} ms`);
    assert.notEqual(newLeader, leader);
    await openTab('Health');
    await page.locator(`[data-testid="node-card-${leader}"][data-status="dead"]`).waitFor();
    await page.locator(`[data-testid="node-card-${newLeader}"][data-role="leader"]`).waitFor();
    // Two alive as soon as the node serving the poll has heard the other survivor since the kill
    // (a peer silent for SUSPECT_AFTER_MS under load is shown suspect until its next heartbeat).
    await page.waitForFunction(
      () => document.querySelector('[data-testid="summary-alive"]')?.textContent === '2 / 3',
      undefined,
      { timeout: 10_000 },
    );
    await snapBoth('health-leader-killed');

    // The "launcher" restarts it; the monitor shows it alive again (and, highest id, leading again).
    await page.locator(`[data-testid="node-card-${leader}"][data-status="alive"]`).waitFor({ timeout: 60_000 });
    assert.deepEqual(restarts, [leader]);
    await page.waitForFunction(() => document.querySelector('[data-testid="summary-alive"]')?.textContent === '3 / 3', undefined, { timeout: 30_000 });
    console.log(`${leader} back after ${Date.now() - killed} ms`);
    await openTab('Chaos');
    await page.getByTestId(`chaos-node-${leader}`).getByText('no faults injected').waitFor({ timeout: 30_000 });
    await snapBoth('chaos-after-restart');
    consoleWatch.assertClean(LEADER_MOVED);
  });
});
