import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '../db/embedded';
import { waitFor } from './cluster';

/**
 * Tests of the spec's own commands (`npm start`, `npm run dev`, `npm run db:init`) run them as the
 * spec does, through npm, and then need to see the whole process tree npm started: the launcher,
 * its nodes and gateway, the embedded PostgreSQL. All from /proc (Linux), by pid. A pid is kept with
 * its start time, so a pid reused by another process after ours exited is never mistaken for ours
 * (and never killed).
 */
export type ProcInfo = { pid: number; ppid: number; startTime: string; state: string; argv: string[] };

export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // fields[0] is the state (field 3 of stat), fields[1] the ppid, fields[19] the start time.
    return { pid, ppid: Number(fields[1]), state: fields[0]!, startTime: fields[19]!, argv };
  } catch {
    return undefined;
  }
}

/** Every live process whose ancestry leads to `rootPid` (not the root itself). */
export function descendants(rootPid: number): ProcInfo[] {
  const all = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map((e) => procInfo(Number(e))).filter((p): p is ProcInfo => p !== undefined);
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const found: ProcInfo[] = [];
  const queue = [rootPid];
  while (queue.length) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Still running: the same process (same start time), not a zombie waiting to be reaped. */
export function isRunning(p: Pick<ProcInfo, 'pid' | 'startTime'>): boolean {
  const now = procInfo(p.pid);
  return now !== undefined && now.startTime === p.startTime && now.state !== 'Z';
}

/** The value of `name` in a process's environment (what it was started with). */
export function envOf(pid: number, name: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith(`${name}=`))?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

/**
 * Processes a test started, directly or as descendants, remembered as they are seen; `killAll`
 * (for an `after` hook) SIGKILLs those still running, one pid at a time.
 */
export class StartedProcesses {
  private readonly seen = new Map<number, ProcInfo>();

  remember(...procs: (ProcInfo | undefined)[]): void {
    for (const p of procs) if (p) this.seen.set(p.pid, p);
  }

  /** Remember `rootPid` and everything below it now; returns the descendants. */
  rememberTree(rootPid: number): ProcInfo[] {
    this.remember(procInfo(rootPid));
    const below = descendants(rootPid);
    this.remember(...below);
    return below;
  }

  all(): ProcInfo[] {
    return [...this.seen.values()];
  }

  running(): ProcInfo[] {
    return this.all().filter(isRunning);
  }

  killAll(): void {
    for (const p of this.running()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
}

export type NpmRun = { proc: ChildProcess; log: string[]; output(): string; exited: Promise<number | null> };

/** `npm run <script>` (or `npm start`) in the repository, its output kept for assertions and failures. */
export function npmRun(args: string[], env: Record<string, string>): NpmRun {
  const proc = spawn('npm', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 2_000) log.splice(0, 500);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, log, output: () => log.join(''), exited };
}

/** The exit code of `run`, or 'timeout' after `timeoutMs` (the timer never outlives the answer). */
export async function exitCode(run: NpmRun, timeoutMs: number): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([run.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `count` consecutive free loopback ports (the launcher puts its nodes on NODE_BASE_PORT, +1, …). */
export async function consecutiveFreePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + count > 65_535) continue;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Wait (bounded) until none of `procs` runs any more. */
export async function waitUntilGone(what: string, procs: ProcInfo[], timeoutMs: number): Promise<void> {
  await waitFor(what, timeoutMs, async () => procs.every((p) => !isRunning(p))).catch((err: Error) => {
    const left = procs.filter(isRunning).map((p) => `${p.pid} ${p.argv.join(' ').slice(0, 120)}`);
    throw new Error(`${err.message}; still running: ${left.join('; ')}`);
  });
}

/** Every live process started with `dir` as its DATA_DIR or naming it in its arguments (the embedded PostgreSQL's `-D`). */
export function processesUsing(dir: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const p = procInfo(Number(entry));
    if (!p || p.state === 'Z') continue;
    if (p.argv.some((a) => a.includes(dir)) || envOf(p.pid, 'DATA_DIR')?.includes(dir)) found.push(p);
  }
  return found;
}
