import type { Logger } from 'pino';
import type { PoolClient } from 'pg';
import { assert } from '../../core/assert';
import { fencedWrite, FencedOut } from '../../db/leadership';
import type { Db } from '../../db/pool';

/** Work only the leader does, in a transaction fenced by its epoch (`LeaderDuties.add`). */
export type LeaderDuty = {
  name: string;
  everyMs: number;
  run: (client: PoolClient) => Promise<unknown>;
};

/** Work the leader repeats that writes nothing to the system of record (a Berkeley round). */
export type LeaderTask = {
  everyMs: number;
  /** The first run this soon after winning (default: after `everyMs`). */
  firstAfterMs?: number;
  run: () => Promise<unknown>;
};

/**
 * What this node does while it leads, registered by the parts of the node they belong to (the hold
 * sweep by booking, the purge by accounts, clock rounds by clock sync): started when it wins an
 * epoch, stopped when it loses it; each duty a write fenced by that epoch, so a deposed leader's
 * late write is refused by PostgreSQL, not trusted to its own view.
 */
export class LeaderDuties {
  private readonly duties: LeaderDuty[] = [];
  private readonly tasks: LeaderTask[] = [];
  private timers: NodeJS.Timeout[] = [];
  private leading: number | null = null;
  /** The last epoch this node led (kept after it is deposed, for the fencing probe). */
  private lastLed: number | null = null;
  readonly writes = { accepted: 0, refused: 0 };

  constructor(
    private readonly nodeId: string,
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** The epoch this node leads now, or null. */
  get epoch(): number | null {
    return this.leading;
  }

  /** Registered before the node can lead. */
  add(duty: LeaderDuty): void {
    assert(this.leading === null, 'leader duties are registered before the node can lead');
    this.duties.push(duty);
  }

  addTask(task: LeaderTask): void {
    assert(this.leading === null, 'leader tasks are registered before the node can lead');
    this.tasks.push(task);
  }

  /** This node won `epoch`: mark it the leader in `server_nodes` and run every duty and task. */
  lead(epoch: number): void {
    const last = this.lastLed;
    assert(last === null || epoch >= last, 'the epochs a node leads only grow');
    this.stop();
    this.leading = epoch;
    this.lastLed = epoch;
    void this.write('mark leader', (c) => c.query('UPDATE server_nodes SET is_leader = (id = $1), epoch = $2', [this.nodeId, epoch]));
    for (const duty of this.duties) this.repeat(duty.everyMs, () => this.write(duty.name, duty.run), duty.name);
    for (const task of this.tasks) {
      this.repeat(task.everyMs, task.run, 'leader task');
      if (task.firstAfterMs !== undefined) {
        this.timers.push(setTimeout(() => void task.run().catch(() => {}), task.firstAfterMs));
      }
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.leading = null;
  }

  private repeat(ms: number, work: () => Promise<unknown>, what: string): void {
    this.timers.push(setInterval(() => void work().catch((err: unknown) => this.log.warn({ err }, `${what} failed`)), ms));
  }

  /** A leader-only write, fenced by this node's epoch (undefined if it is not the leader's). */
  async write<T>(what: string, work: (client: PoolClient) => Promise<T>, epoch = this.leading): Promise<T | undefined> {
    if (epoch === null) return undefined;
    try {
      const result = await fencedWrite(this.db, epoch, this.nodeId, work);
      this.writes.accepted += 1;
      return result;
    } catch (err) {
      if (!(err instanceof FencedOut)) throw err;
      this.writes.refused += 1;
      this.log.warn(`${what}: ${err.message}`);
      return undefined;
    }
  }

  /** Try a leader-only write with the epoch this node last led (tests and the chaos tab). */
  async probe(): Promise<{ accepted: boolean; epoch: number | null; leaderWrites: LeaderDuties['writes'] }> {
    const epoch = this.lastLed;
    const mark = (c: PoolClient) => c.query('UPDATE server_nodes SET is_leader = (id = $1)', [this.nodeId]).then(() => true);
    const done = await this.write('probe', mark, epoch);
    return { accepted: done === true, epoch, leaderWrites: { ...this.writes } };
  }
}
