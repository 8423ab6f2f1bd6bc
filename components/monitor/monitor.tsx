'use client';

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { compareNodeIds } from '@/core/node-id';
import { useAuth } from '@/components/auth-provider';
import { ApiError } from '@/client/api';
import type { Election, Health, LbStats } from './api';
import { ChaosTab, useChaosState } from './chaos-tab';
import { ClocksTab } from './clocks-tab';
import { ElectionTab } from './election-tab';
import { HealthTab } from './health-tab';
import { MonitorHistory } from './history';
import { LoadBalancerTab } from './lb-tab';
import { CrownIcon, NodeChip } from './parts';
import { ReplicationTab } from './replication-tab';
import { usePoll, useTicker, type PollState } from './use-poll';

const TABS = [
  { id: 'health', label: 'Health' },
  { id: 'clocks', label: 'Clock sync' },
  { id: 'election', label: 'Leader election' },
  { id: 'replication', label: 'Replication' },
  { id: 'balancer', label: 'Load balancer' },
  { id: 'chaos', label: 'Chaos' },
] as const;

export type TabId = (typeof TABS)[number]['id'];

const POLL_MS = 1_000;

function isTab(value: string): value is TabId {
  return TABS.some((t) => t.id === value);
}

/**
 * The system monitor: every node's health, clocks, elections, replication, the gateway's
 * balancing, and chaos actions — polled every second through the gateway, so each answer may
 * come from a different node ("as seen by node-2"), or from the one chosen under "View from".
 */
export function SystemMonitor() {
  const auth = useAuth();
  const isAdmin = auth.status === 'user' && auth.user.role === 'admin';
  const [viewFrom, setViewFrom] = useState<string>('');
  const now = useTicker(500);
  const history = useRef<MonitorHistory>(null);
  history.current ??= new MonitorHistory();
  const h = history.current;
  const chaos = useChaosState();
  const [tab, choose] = useTabFromHash();

  const node = viewFrom || undefined;
  // A node chosen under "View from" may be down: ask it less often until it answers again.
  const errorIntervalMs = node ? 3_000 : POLL_MS;
  const health = usePoll('GET /api/health', POLL_MS, { node, errorIntervalMs, onData: (a) => h.onHealth(a.data, a.at) });
  const sync = usePoll('GET /api/sync', POLL_MS, { node, errorIntervalMs, onData: (a) => h.onSync(a.data, a.at) });
  const election = usePoll('GET /api/election', POLL_MS, { node, errorIntervalMs, onData: (a) => h.onElection(a.data) });
  // Without the gateway (a node run on its own, `npm run dev`) there is no /api/lb: ask rarely.
  const lb = usePoll('GET /api/lb', POLL_MS, { errorIntervalMs: 10_000, onData: (a) => h.onLb(a.data, a.at) });
  const noGateway = lb.error instanceof ApiError && lb.error.status === 404;

  /** Every node anyone mentions: the answering node's members and the gateway's backends. */
  const nodeIds = useMemo(() => {
    const ids = new Set<string>();
    for (const n of health.data?.nodes ?? []) ids.add(n.id);
    for (const n of lb.data?.nodes ?? []) ids.add(n.id);
    return [...ids].sort(compareNodeIds);
  }, [health.data, lb.data]);

  const leader = election.data?.leader ?? null;

  return (
    <div className="flex flex-col gap-6">
      <MonitorHeader viewFrom={viewFrom} onViewFrom={setViewFrom} nodeIds={nodeIds} />

      <SummaryTiles election={election.data} health={health} lb={lb} noGateway={noGateway} />

      <TabStrip tab={tab} onChoose={choose} />

      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} data-testid={`panel-${tab}`}>
        {tab === 'health' && <HealthTab health={health} lb={lb.data} history={h} now={now} pinned={Boolean(node)} />}
        {tab === 'clocks' && <ClocksTab sync={sync} leader={leader} isAdmin={isAdmin} now={now} history={h} pinned={Boolean(node)} />}
        {tab === 'election' && <ElectionTab election={election} nodeIds={nodeIds} isAdmin={isAdmin} now={now} history={h} pinned={Boolean(node)} />}
        {tab === 'replication' && <ReplicationTab isAdmin={isAdmin} now={now} node={node} />}
        {tab === 'balancer' && (noGateway ? (
          <p className="rounded-2xl border border-slate-800 bg-slate-900/60 px-6 py-12 text-center text-sm text-slate-400">
            This page is served by a node directly, not through the gateway (<code className="text-slate-200">npm start</code> runs it on port 3000), so there is no balancer to show.
          </p>
        ) : <LoadBalancerTab lb={lb} isAdmin={isAdmin} history={h} now={now} />)}
        {tab === 'chaos' && <ChaosTab state={chaos} health={health} election={election.data} nodeIds={nodeIds} lb={lb.data} isAdmin={isAdmin} authStatus={auth.status} now={now} />}
      </div>
    </div>
  );
}

/** The tab shown: from the URL's hash (#clocks), kept there when another is chosen. */
function useTabFromHash(): [TabId, (id: TabId) => void] {
  const [tab, setTab] = useState<TabId>('health');
  useEffect(() => {
    const fromHash = () => {
      const hash = window.location.hash.slice(1);
      if (isTab(hash)) setTab(hash);
    };
    fromHash();
    window.addEventListener('hashchange', fromHash);
    return () => window.removeEventListener('hashchange', fromHash);
  }, []);

  // On a phone the tab strip scrolls sideways: keep the chosen tab in view.
  useEffect(() => {
    document.getElementById(`tab-${tab}`)?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [tab]);

  const choose = useCallback((id: TabId) => {
    setTab(id);
    window.history.replaceState(null, '', `#${id}`);
  }, []);
  return [tab, choose];
}

function MonitorHeader({ viewFrom, onViewFrom: setViewFrom, nodeIds }: {
  viewFrom: string; onViewFrom: (id: string) => void; nodeIds: string[];
}) {
  return (
  <div className="flex flex-wrap items-end justify-between gap-4">
    <div>
      <h1 className="flex items-center gap-3 text-3xl font-bold tracking-tight sm:text-4xl">
        System monitor
        <span className="inline-flex items-center gap-1.5 rounded-full border border-emerald-500/30 bg-emerald-500/10 px-2.5 py-0.5 text-xs font-semibold text-emerald-300">
          <span className="size-1.5 animate-pulse rounded-full bg-emerald-400" aria-hidden="true" /> live
        </span>
      </h1>
      <p className="mt-2 max-w-2xl text-sm text-slate-400">
        Every panel refreshes each second through the gateway, so each answer may come from another node — it says which.
      </p>
    </div>
    <label className="flex items-center gap-2 text-sm text-slate-400">
      View from
      <select
        value={viewFrom}
        onChange={(e) => setViewFrom(e.target.value)}
        className="rounded-lg border border-slate-700 bg-slate-900 px-2 py-1.5 text-sm text-slate-100 focus:border-amber-400 focus:outline-none"
        data-testid="view-from"
      >
        <option value="">any node (balanced)</option>
        {nodeIds.map((id) => (
          <option key={id} value={id}>{id}</option>
        ))}
      </select>
    </label>
  </div>
  );
}

function SummaryTiles({ election, health, lb, noGateway }: {
  election: Election | undefined; health: PollState<Health>; lb: PollState<LbStats>;
  noGateway: boolean;
}) {
  const leader = election?.leader ?? null;
  const statuses = health.data?.nodes ?? [];
  const alive = statuses.filter((n) => n.status === 'alive').length;
  return (
  <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4" data-testid="summary">
    <SummaryTile label="Leader" testId="summary-leader">
      {leader ? (
        <span className="inline-flex items-center gap-1.5 text-amber-300"><CrownIcon className="size-4" /><NodeChip id={leader} /></span>
      ) : (
        <span className="text-rose-300">{election ? 'none' : '…'}</span>
      )}
    </SummaryTile>
    <SummaryTile label="Epoch · algorithm" testId="summary-epoch">
      {election ? <>{election.epoch} <span className="text-slate-400">·</span> <span className="capitalize">{election.algorithm}</span></> : '…'}
    </SummaryTile>
    <SummaryTile label="Nodes alive" testId="summary-alive">
      {health.data ? (
        <span className={alive < statuses.length ? 'text-amber-300' : 'text-emerald-300'}>{alive} / {statuses.length}</span>
      ) : '…'}
    </SummaryTile>
    <SummaryTile label="Gateway" testId="summary-gateway">
      {lb.data ? (
        <span>
          {lb.data.algorithm}{' '}
          <span className="block text-sm text-slate-400 sm:inline sm:text-base">
            <span className="hidden sm:inline">· </span>{lb.data.nodes.filter((n) => n.eligible).length} eligible
          </span>
        </span>
      ) : noGateway ? <span className="text-slate-400">none (direct to a node)</span> : lb.error ? <span className="text-rose-300">unreachable</span> : '…'}
    </SummaryTile>
  </dl>
  );
}

function TabStrip({ tab, onChoose: choose }: { tab: TabId; onChoose: (id: TabId) => void }) {
  return (
  <div className="-mx-4 overflow-x-auto px-4 sm:mx-0 sm:px-0">
    <div role="tablist" aria-label="Monitor sections" className="flex min-w-max gap-1 border-b border-slate-800">
      {TABS.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={tab === t.id}
          aria-controls={`panel-${t.id}`}
          onClick={() => choose(t.id)}
          className={`-mb-px whitespace-nowrap border-b-2 px-3 py-2.5 text-sm font-semibold transition sm:px-4 ${
            tab === t.id ? 'border-amber-400 text-white' : 'border-transparent text-slate-400 hover:border-slate-600 hover:text-slate-200'
          }`}
        >
          {t.label}
          {t.id === 'chaos' && <span className="ml-1.5 rounded bg-rose-500/20 px-1.5 py-0.5 text-[10px] font-bold uppercase text-rose-300">admin</span>}
        </button>
      ))}
    </div>
  </div>
  );
}

function SummaryTile({ label, children, testId }: { label: string; children: React.ReactNode; testId: string }) {
  return (
    <div className="rounded-2xl border border-slate-800 bg-slate-900/60 px-4 py-3">
      <dt className="text-[11px] font-medium uppercase tracking-wider text-slate-500">{label}</dt>
      <dd className="mt-1 break-words text-base font-semibold tabular-nums" data-testid={testId}>{children}</dd>
    </div>
  );
}
