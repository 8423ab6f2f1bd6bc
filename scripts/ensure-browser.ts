import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * The browser tests drive Debian's Chromium. No browser build can be downloaded on these
 * machines, so `npm test` provisions it the way `playwright install --with-deps` does: from the
 * system's package manager, with its progress visible — and says clearly what to do when it cannot.
 */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
const APT_GET = '/usr/bin/apt-get';

export type BrowserPlan =
  | { action: 'use'; path: string }
  | { action: 'install'; path: string }
  | { action: 'fail'; message: string };

/** What to do, from the facts of this machine (pure, so every branch is tested). */
export function planBrowser(facts: { chosenPath: string | undefined; exists: (p: string) => boolean; isRoot: boolean; hasApt: boolean }): BrowserPlan {
  const path = facts.chosenPath ?? DEFAULT_CHROMIUM_PATH;
  if (facts.exists(path)) return { action: 'use', path };
  if (facts.chosenPath !== undefined) {
    return { action: 'fail', message: `CHROMIUM_PATH=${facts.chosenPath} does not exist: point it at a Chromium binary, or unset it to use Debian's` };
  }
  if (facts.isRoot && facts.hasApt) return { action: 'install', path };
  return {
    action: 'fail',
    message: `The browser tests need Chromium at ${path}. Install Debian's with \`sudo apt-get install chromium\` ` +
      '(npm test does this by itself when run as root), or set CHROMIUM_PATH to a Chromium binary.',
  };
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/** Make sure a Chromium is there for the browser tests; returns its path. */
export function ensureBrowser(): string {
  const plan = planBrowser({
    chosenPath: process.env.CHROMIUM_PATH || undefined,
    exists: (p) => fs.existsSync(p),
    isRoot: process.getuid?.() === 0,
    hasApt: fs.existsSync(APT_GET),
  });
  if (plan.action === 'fail') throw new Error(plan.message);
  if (plan.action === 'install') {
    console.log("Installing Debian's Chromium for the browser tests (apt-get install chromium; once per machine)…");
    run(APT_GET, ['update']);
    run(APT_GET, ['install', '-y', 'chromium']);
    if (!fs.existsSync(plan.path)) throw new Error(`apt-get installed chromium, but ${plan.path} is still missing`);
  }
  return plan.path;
}
