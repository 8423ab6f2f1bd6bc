/**
 * Simulated time for both simulators: a simulator's events and control actions (fault injection,
 * client callbacks) run in (time, seq) order, so a run depends only on its seed.
 */
import { EventQueue } from './event-queue';

type Queued<E> = { readonly event: E } | { readonly action: () => void };

export class Scheduler<E> {
  private readonly queue = new EventQueue<Queued<E>>();
  private clock = 0;

  constructor(private readonly handle: (event: E) => void) {}

  get now(): number {
    return this.clock;
  }

  push(time: number, event: E): void {
    this.queue.push(time, { event });
  }

  /** Run `action` at simulated time `time` (now, if that has passed). */
  at(time: number, action: () => void): void {
    this.queue.push(Math.max(time, this.clock), { action });
  }

  /** Run everything due up to `time`, then stand at `time`. */
  runUntil(time: number): void {
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > time) break;
      const scheduled = this.queue.pop();
      if (scheduled === undefined) break;
      this.clock = scheduled.time;
      const item = scheduled.item;
      if ('action' in item) item.action();
      else this.handle(item.event);
    }
    this.clock = Math.max(this.clock, time);
  }
}

/**
 * A node's core timers. Setting a name replaces its timer; a timer event fires only if it carries
 * the generation last set under its name and was not cancelled since.
 */
export class CoreTimers {
  private readonly armed = new Map<string, number>();
  private generation = 0;

  /** Arm `name`; returns the generation its timer event must carry. */
  set(name: string): number {
    const gen = ++this.generation;
    this.armed.set(name, gen);
    return gen;
  }

  cancel(name: string): void {
    this.armed.delete(name);
  }

  clear(): void {
    this.armed.clear();
  }

  /** Whether a timer event is still due (it is then disarmed). */
  fire(name: string, gen: number): boolean {
    if (this.armed.get(name) !== gen) return false;
    this.armed.delete(name);
    return true;
  }
}

/** One trace line per core step: time, node, event, a summary of the new state, then any effects and sends. */
export function stepTraceLine(now: number, node: string, event: unknown, state: string, result: { readonly effects: readonly unknown[]; readonly send: readonly unknown[] }): string {
  return (
    `${now.toFixed(1)} ${node} ${JSON.stringify(event)} => ${state}` +
    (result.effects.length > 0 ? ` effects=${JSON.stringify(result.effects)}` : '') +
    (result.send.length > 0 ? ` send=${JSON.stringify(result.send)}` : '')
  );
}
