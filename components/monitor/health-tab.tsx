'use client';

import { compareNodeIds } from '@/core/node-id';
import type { Health, HealthNode, LbStats } from './api';
import { monitorErrorText } from './api';
import { nodeSeries, RecentChart } from './charts';
import type { MonitorHistory } from './history';
import { Card, EmptyState, formatAge, formatInt, formatMs, formatUptime, NodeChip, RoleBadge, SeenBy, Stat, StatusBadge } from './parts';
import type { PollState } from './use-poll';

const CARD_BORDER = { alive: 'border-slate-800', suspect: 'border-amber-400/50', dead: 'border-rose-500/60' } as const;

export function HealthTab({ health, lb, history, now, pinned }: { health: PollState<Health>; lb: LbStats | undefined; history: MonitorHistory; now: number; pinned: boolean }) {
  const data = health.data;
  if (!data) {
    return health.error ? <ErrorLine error={health.error} /> : <EmptyState>Asking the cluster…</EmptyState>;
  }
  const nodes = [...data.nodes].sort((a, b) => compareNodeIds(a.id, b.id));
  const series = nodeSeries(nodes.map((n) => n.id), history.nodeRequests.series);

  return (
    <div className="flex flex-col gap-5">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-400">
          Each node’s view of the cluster comes from its failure detector: heartbeats every 100 ms; by default a peer silent for 500 ms is suspect, for 1.5 s dead — and one whose port refuses connections is dead at once.
        </p>
        <SeenBy servedBy={health.servedBy} at={health.at} now={now} pinned={pinned} />
      </div>
      {health.error ? <ErrorLine error={health.error} stale /> : null}
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="health-nodes">
        {nodes.map((n) => (
          <NodeCard key={n.id} node={n} self={n.id === data.nodeId} gateway={lb?.nodes.find((g) => g.id === n.id)} now={now} />
        ))}
      </div>
      <div className="grid gap-4 lg:grid-cols-3">
        <Card title="Requests served per second" subtitle="per node, from the counters each node reports in its heartbeats" className="lg:col-span-2">
          <RecentChart series={series} now={now} label="Requests served per second, per node" />
        </Card>
        <Card title={<>Answering node <NodeChip id={data.nodeId} className="ml-1" /></>} subtitle={`pid ${data.pid} · up ${data.uptimeS} s`}>
          <dl className="grid grid-cols-2 gap-3">
            <Stat label="Database" value={data.database.status === 'up' ? `up · ${formatMs(data.database.latencyMs ?? null, 2)}` : 'down'} />
            <Stat label="Event loop p99" value={formatMs(data.load.eventLoopDelayMs)} />
            <Stat label="Capacity" value={data.load.capacity} />
            <Stat label="Fenced writes" value={`${data.leaderWrites.accepted} ok · ${data.leaderWrites.refused} refused`} />
            <Stat
              label="Refused peer messages"
              value={Object.values(data.refusedPeerMessages).reduce((a, b) => a + b, 0)}
              hint={Object.entries(data.refusedPeerMessages).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}
            />
          </dl>
        </Card>
      </div>
    </div>
  );
}

function NodeCard({ node, self, gateway, now }: { node: HealthNode; self: boolean; gateway: LbStats['nodes'][number] | undefined; now: number }) {
  const heard = node.lastHeardMsAgo;
  return (
    <article
      className={`rounded-2xl border bg-slate-900/60 p-4 transition-colors ${CARD_BORDER[node.status]} ${node.role === 'leader' && node.status === 'alive' ? 'ring-1 ring-amber-400/40' : ''}`}
      data-testid={`node-card-${node.id}`}
      data-status={node.status}
      data-role={node.role ?? ''}
    >
      <header className="flex flex-wrap items-center gap-2">
        <NodeChip id={node.id} className="text-base text-white" />
        <StatusBadge status={node.status} />
        <span className="ml-auto"><RoleBadge role={node.status === 'dead' ? undefined : node.role} /></span>
      </header>
      <dl className={`mt-4 grid grid-cols-3 gap-x-3 gap-y-3 ${node.status === 'dead' ? 'opacity-50' : ''}`} title={node.status === 'dead' ? 'last values heard before it died' : undefined}>
        <Stat label="Epoch" value={node.epoch ?? '—'} />
        <Stat label="PID" value={node.pid ?? '—'} />
        <Stat label="Uptime" value={node.status === 'dead' ? '—' : formatUptime(node.startedAt, now)} />
        <Stat label="In flight" value={node.load ? node.load.inFlight : '—'} />
        <Stat label="Served" value={formatInt(node.load?.requestsServed)} />
        <Stat label="Load 1m" value={node.load ? node.load.loadAvg1m.toFixed(2) : '—'} />
      </dl>
      <div className="mt-4 flex flex-wrap items-center justify-between gap-2 border-t border-slate-800 pt-3 text-xs text-slate-400">
        <span>
          {self ? 'answering node (itself)' : heard === null ? 'never heard from' : <>last heartbeat <span className={heard > 1_500 ? 'text-rose-300' : heard > 500 ? 'text-amber-300' : 'text-slate-200'}>{formatAge(heard)}</span></>}
        </span>
        {gateway && (
          <span className={gateway.eligible ? 'text-emerald-300' : 'text-rose-300'}>
            gateway: {gateway.eligible ? 'in rotation' : gateway.ejected ? 'ejected' : gateway.deadInCluster ? 'avoided (dead)' : 'unhealthy'}
          </span>
        )}
      </div>
    </article>
  );
}

export function ErrorLine({ error, stale = false }: { error: unknown; stale?: boolean }) {
  return (
    <p role="status" className="rounded-xl border border-amber-400/30 bg-amber-400/10 px-4 py-2 text-sm text-amber-100">
      {stale ? 'Showing the last answer: ' : ''}
      {monitorErrorText(error)}
    </p>
  );
}
