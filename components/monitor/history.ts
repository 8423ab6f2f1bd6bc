import type { Election, ElectionRound, Health, LbStats, Sync } from './api';

/**
 * What the monitor remembers between polls, to draw charts over time: request rates per node
 * (from /api/health and /api/lb), Lamport clocks, and every election any node reported.
 */
export const WINDOW_MS = 90_000;

export type Point = { x: number; y: number };

/** Per-node counters → per-node rates (per second), over a sliding window. */
export class RateSeries {
  private last = new Map<string, { value: number; at: number }>();
  readonly series = new Map<string, Point[]>();

  add(id: string, value: number, at: number, minGapMs = 400): void {
    const prev = this.last.get(id);
    if (prev && at - prev.at < minGapMs) return;
    this.last.set(id, { value, at });
    if (!prev || value < prev.value) return; // first sample, or a restarted process (counter reset)
    this.push(id, { x: at, y: ((value - prev.value) * 1000) / (at - prev.at) });
  }

  push(id: string, point: Point): void {
    const points = this.series.get(id) ?? [];
    points.push(point);
    while (points.length && points[0]!.x < point.x - WINDOW_MS) points.shift();
    this.series.set(id, points);
  }

  /** Sum of the counter increase per node within the last `ms`. */
  recent(ms: number, now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, points] of this.series) {
      let sum = 0;
      for (let i = 1; i < points.length; i++) {
        if (points[i]!.x < now - ms) continue;
        sum += (points[i]!.y * (points[i]!.x - points[i - 1]!.x)) / 1000;
      }
      out.set(id, sum);
    }
    return out;
  }
}

/** One node's account of one election (see ElectionRound). */
type Report = { algorithm: ElectionRound['algorithm']; startedAt: number; durationMs: number | null; sent: number; received: number; trigger: string; initiatedHere: boolean };

/** One election (one epoch), merged from the rounds every node reported. */
export type TimelineEntry = {
  epoch: number;
  algorithm: ElectionRound['algorithm'];
  leader: string | null;
  startedAt: number;
  durationMs: number | null;
  initiator: string | null;
  /** Why it started: the initiator's trigger, or a death some node reported. */
  trigger: string | null;
  /** Messages the election cost: measured by the initiator (manual triggers), else the sum of what nodes reported. */
  messages: number;
  /** Messages sent / received per node, as each node counted them. */
  perNode: Record<string, { sent: number; received: number }>;
};

type Stored = { epoch: number; leader: string | null; reports: Record<string, Report>; result?: { algorithm: ElectionRound['algorithm']; initiator: string; leader: string | null; durationMs: number; messages: number; at: number } };

export class ElectionTimeline {
  private readonly entries = new Map<number, Stored>();

  private entry(epoch: number): Stored {
    let e = this.entries.get(epoch);
    if (!e) {
      e = { epoch, leader: null, reports: {} };
      this.entries.set(epoch, e);
      // Keep the 30 most recent epochs.
      const epochs = [...this.entries.keys()].sort((a, b) => b - a);
      for (const old of epochs.slice(30)) this.entries.delete(old);
    }
    return e;
  }

  addRounds(reporter: string, rounds: ElectionRound[]): void {
    for (const r of rounds) {
      if (r.epoch === null) continue;
      const e = this.entry(r.epoch);
      e.leader ??= r.leader;
      e.reports[reporter] = {
        algorithm: r.algorithm, startedAt: r.startedAt, durationMs: r.durationMs, sent: r.messagesSent, received: r.messagesReceived,
        trigger: r.trigger, initiatedHere: r.initiatedHere,
      };
    }
  }

  /** What POST /api/election answered: who ran it, how long it took, what it cost across the cluster. */
  addResult(result: { epoch: number; algorithm: ElectionRound['algorithm']; initiator: string; leader: string | null; durationMs: number; messages: number }): void {
    const e = this.entry(result.epoch);
    e.leader ??= result.leader;
    e.result = { ...result, at: Date.now() - result.durationMs };
  }

  list(): TimelineEntry[] {
    return [...this.entries.values()].sort((a, b) => b.epoch - a.epoch).map((e) => {
      const reports = Object.entries(e.reports);
      const initiator = e.result?.initiator ?? reports.find(([, r]) => r.initiatedHere)?.[0] ?? null;
      // A node may have opened its round long before (a stray message): the initiator's account, else
      // the shortest one, is the election's.
      const main = (initiator ? e.reports[initiator] : undefined)
        ?? reports.map(([, r]) => r).filter((r) => r.durationMs !== null).sort((a, b) => a.durationMs! - b.durationMs!)[0]
        ?? reports[0]?.[1];
      const death = reports.map(([, r]) => r.trigger).find((t) => t.endsWith(' is dead'));
      return {
        epoch: e.epoch,
        algorithm: e.result?.algorithm ?? main?.algorithm ?? 'bully',
        leader: e.leader,
        startedAt: e.result?.at ?? main?.startedAt ?? Date.now(),
        durationMs: e.result?.durationMs ?? main?.durationMs ?? null,
        initiator,
        trigger: e.result ? 'triggered' : initiator ? (e.reports[initiator]?.trigger ?? null) : (death ?? null),
        messages: e.result?.messages ?? reports.reduce((sum, [, r]) => sum + r.sent, 0),
        perNode: Object.fromEntries(reports.map(([id, r]) => [id, { sent: r.sent, received: r.received }])),
      };
    });
  }
}

export class MonitorHistory {
  readonly nodeRequests = new RateSeries();
  readonly gatewayRequests = new RateSeries();
  readonly lamport = new Map<string, Point[]>();
  readonly timeline = new ElectionTimeline();

  onHealth(health: Health, at: number): void {
    for (const n of health.nodes) {
      if (n.load && n.status !== 'dead') {
        // A peer's counter is as of its last heartbeat; this node's own is as of now.
        const when = n.lastHeardMsAgo !== null ? at - n.lastHeardMsAgo : at;
        this.nodeRequests.add(n.id, n.load.requestsServed, when);
      }
    }
  }

  onSync(sync: Sync, at: number): void {
    for (const n of sync.nodes) {
      if (n.lamport === null) continue;
      const points = this.lamport.get(n.id) ?? [];
      if (points.length && at - points.at(-1)!.x < 400) continue;
      points.push({ x: at, y: n.lamport });
      while (points.length && points[0]!.x < at - WINDOW_MS) points.shift();
      this.lamport.set(n.id, points);
    }
  }

  onElection(election: Election): void {
    this.timeline.addRounds(election.nodeId, election.rounds);
  }

  onLb(lb: LbStats, at: number): void {
    for (const n of lb.nodes) this.gatewayRequests.add(n.id, n.requests, at, 200);
  }
}
