'use client';

import { useState } from 'react';
import { compareNodeIds } from '@/core/node-id';
import { monitorCall, monitorErrorText, type Sync, type SyncRound } from './api';
import { Legend, LineChart, nodeSeries, RecentChart, type Series } from './charts';
import { ErrorLine } from './health-tab';
import type { MonitorHistory } from './history';
import { Card, TableHead, EmptyState, formatClock, formatMs, formatSignedMs, NodeChip, nodeColor, SeenBy, Stat, StatusBadge } from './parts';
import type { PollState } from './use-poll';

export function ClocksTab({ sync, leader, isAdmin, now, history, pinned }: {
  sync: PollState<Sync>;
  leader: string | null;
  isAdmin: boolean;
  now: number;
  history: MonitorHistory;
  pinned: boolean;
}) {
  const data = sync.data;
  if (!data) return sync.error ? <ErrorLine error={sync.error} /> : <EmptyState>Reading the clocks…</EmptyState>;
  const nodes = [...data.nodes].sort((a, b) => compareNodeIds(a.id, b.id));
  const rounds = [...data.rounds].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));

  return (
    <div className="flex flex-col gap-5">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-400">Logical clocks tick on bookings, holds, elections and clock messages; heartbeats only spread what each node knows.</p>
        <SeenBy servedBy={sync.servedBy} at={sync.at} now={now} pinned={pinned} />
      </div>
      {sync.error ? <ErrorLine error={sync.error} stale /> : null}

      <div className="grid gap-4 lg:grid-cols-5">
        <VectorClocksCard nodes={nodes} />
        <PhysicalClockCard data={data} />
      </div>

      <LamportChartCard nodes={nodes} history={history} now={now} />

      <BerkeleyCharts rounds={rounds} leader={leader} isAdmin={isAdmin} onRound={sync.refresh} />
    </div>
  );
}

type ClockNode = Sync['nodes'][number];

/** One row per node: its Lamport clock and what it knows of each node's events (its vector). */
function VectorClocksCard({ nodes }: { nodes: ClockNode[] }) {
  const ids = [...nodes.map((n) => n.id), ...nodes.flatMap((n) => Object.keys(n.vector ?? {}))];
  const columns = [...new Set(ids)].sort(compareNodeIds);
  const most = (c: string) => Math.max(0, ...nodes.map((n) => n.vector?.[c] ?? 0));
  const columnMax = Object.fromEntries(columns.map((c) => [c, most(c)]));
  return (
    <Card title="Lamport and vector clocks" subtitle="one row per node; a column is what that node knows of each node’s events" className="lg:col-span-3" testId="vector-clocks">
      <div className="-mx-1 overflow-x-auto px-1">
        <table className="w-full min-w-[17rem] border-separate border-spacing-y-1 text-sm">
          <thead>
            <tr className="text-left text-[11px] uppercase tracking-wider text-slate-500">
              <th scope="col" className="pb-1 font-medium">Node</th>
              <th scope="col" className="pb-1 pr-2 text-right font-medium">Lamport</th>
              {columns.map((c) => (
                <th key={c} scope="col" className="pb-1 text-center font-medium">V[{c.replace(/^node-/, 'n')}]</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.id} data-node={n.id}>
                <th scope="row" className="pr-2 text-left font-normal">
                  <div className="flex flex-wrap items-center gap-1.5">
                    <NodeChip id={n.id} />
                    {n.status !== 'alive' && <StatusBadge status={n.status} />}
                  </div>
                </th>
                <td className="pr-2 text-right font-mono text-base font-bold tabular-nums text-white" data-testid={`lamport-${n.id}`}>{n.lamport ?? '—'}</td>
                {columns.map((c) => {
                  const v = n.vector?.[c];
                  const max = columnMax[c] ?? 0;
                  const strength = v === undefined || max === 0 ? 0 : 0.12 + 0.5 * (v / max);
                  return (
                    <td key={c} className="px-0.5">
                      <span
                        className={`block rounded-md px-1.5 py-1 text-center font-mono text-xs tabular-nums ${c === n.id ? 'font-bold text-white ring-1 ring-inset ring-white/20' : 'text-slate-200'}`}
                        style={{ background: `color-mix(in srgb, ${nodeColor(c)} ${Math.round(strength * 100)}%, transparent)` }}
                        title={v === undefined ? `${n.id} has heard of no event of ${c}` : `${n.id} knows ${v} event(s) of ${c}${v === max ? ' (the most anyone knows)' : ''}`}
                      >
                        {v ?? 0}
                      </span>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function PhysicalClockCard({ data }: { data: Sync }) {
  const p = data.physical;
  return (
    <Card title={<>Physical clock of <NodeChip id={data.nodeId} className="ml-1" /></>} subtitle="machine clock + injected skew + Berkeley correction" className="lg:col-span-2" testId="physical-clock">
      <dl className="grid grid-cols-2 gap-3">
        <Stat label="App clock" value={formatClock(p.appClockMs)} hint={`${formatSignedMs(p.appClockMs - p.machineMs)} vs machine`} />
        <Stat label="Injected skew" value={formatSignedMs(p.skewMs)} />
        <Stat label="Correction" value={formatSignedMs(p.offsetMs)} hint={p.slewing ? `slewing towards ${formatSignedMs(p.targetOffsetMs)}` : 'settled'} />
        <Stat label="Lamport" value={data.lamport} />
      </dl>
    </Card>
  );
}

function LamportChartCard({ nodes, history, now }: { nodes: ClockNode[]; history: MonitorHistory; now: number }) {
  const lamportSeries = nodeSeries(nodes.map((n) => n.id), history.lamport);
  return (
    <Card title="Lamport clocks over time" subtitle="last 90 s · heartbeats spread the highest value, so the lines mostly overlap">
      <RecentChart
        series={lamportSeries}
        now={now}
        label="Lamport clock of each node over the last 90 seconds"
        height={160}
        zeroLine={false}
        yFormat={(v) => String(Math.round(v))}
      />
    </Card>
  );
}

/** The latest rounds, newest first: spread of the clocks before and after each. */
function RoundsTable({ rounds }: { rounds: SyncRound[] }) {
  return (
    <table className="w-full text-sm" data-testid="berkeley-rounds">
      <TableHead
        columns={[
          ['Round', 'pr-3'], ['At', 'hidden pr-3 sm:table-cell'], ['Daemon', 'pr-3'],
          ['Spread before', 'pl-2 text-right'], ['after', 'pl-2 text-right'],
          ['Max error', 'hidden pl-2 text-right sm:table-cell'],
        ]}
      />
      <tbody>
        {[...rounds].reverse().slice(0, 6).map((r) => (
          <tr key={`${r.master}-${r.epoch}-${r.round}`} className="border-b border-slate-800/60 tabular-nums">
            <td className="py-1.5 pr-3">#{r.round}</td>
            <td className="hidden py-1.5 pr-3 text-slate-400 sm:table-cell">{formatClock(Date.parse(r.at))}</td>
            <td className="py-1.5 pr-3"><NodeChip id={r.master} /></td>
            <td className={`py-1.5 pl-2 text-right ${r.spreadBeforeMs > 100 ? 'text-amber-300' : ''}`}>{formatMs(r.spreadBeforeMs)}</td>
            <td className="py-1.5 pl-2 text-right text-emerald-300">
              {formatMs(r.spreadAfterMs)}
              {r.slewing.length > 0 && <span className="block text-[11px] text-slate-500">{r.slewing.join(', ')} slewing</span>}
            </td>
            <td className="hidden py-1.5 pl-2 text-right text-slate-400 sm:table-cell">±{formatMs(r.maxErrorMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function offsetSeries(rounds: SyncRound[], field: 'offsetsBeforeMs' | 'offsetsAfterMs'): Series[] {
  const ids = [...new Set(rounds.flatMap((r) => Object.keys(r[field])))].sort(compareNodeIds);
  return ids.map((id) => ({
    id,
    label: id,
    color: nodeColor(id),
    points: rounds.filter((r) => r[field][id] !== undefined).map((r) => ({ x: Date.parse(r.at), y: r[field][id]! })),
  }));
}

function BerkeleyCharts({ rounds, leader, isAdmin, onRound }: { rounds: SyncRound[]; leader: string | null; isAdmin: boolean; onRound: () => void }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const before = offsetSeries(rounds, 'offsetsBeforeMs');
  const after = offsetSeries(rounds, 'offsetsAfterMs');
  const last = rounds.at(-1);
  const xFormat = (x: number) => formatClock(x);

  async function runNow() {
    if (!leader) return;
    setBusy(true);
    setMessage(null);
    try {
      const { data } = await monitorCall('POST /api/cluster/sync-now', { node: leader });
      setMessage(`Round ${data.round.round}: spread ${formatMs(data.round.spreadBeforeMs)} → ${formatMs(data.round.spreadAfterMs)}`);
      onRound();
    } catch (err) {
      setMessage(monitorErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card
      title="Berkeley rounds"
      subtitle={last ? `time daemon ${last.master} (epoch ${last.epoch}) · ${rounds.length} recent rounds · each node’s clock minus the daemon’s` : 'the leader runs a round every 5 s'}
      testId="berkeley"
      actions={
        <div className="flex items-center gap-2">
          {message && <span className="text-xs text-slate-400" role="status">{message}</span>}
          <button
            type="button"
            disabled={!isAdmin || !leader || busy}
            onClick={runNow}
            title={isAdmin ? 'Ask the leader for a round now' : 'Administrators only'}
            className="rounded-lg border border-slate-700 px-3 py-1.5 text-xs font-semibold text-slate-200 hover:border-slate-500 disabled:cursor-not-allowed disabled:opacity-50"
          >
            {busy ? 'Running…' : 'Run a round now'}
          </button>
        </div>
      }
    >
      {rounds.length === 0 ? (
        <EmptyState>No Berkeley round yet: the leader runs one every 5 s.</EmptyState>
      ) : (
        <>
          <div className="grid gap-5 lg:grid-cols-2">
            <div>
              <h4 className="mb-1 text-xs font-semibold uppercase tracking-wider text-slate-400">Offsets before each round</h4>
              <LineChart series={before} label="Clock offsets before each Berkeley round" height={170} xFormat={xFormat} yFormat={(v) => formatMs(v, 0)} />
            </div>
            <div>
              <h4 className="mb-1 text-xs font-semibold uppercase tracking-wider text-slate-400">Offsets after each round</h4>
              <LineChart series={after} label="Clock offsets after each Berkeley round" height={170} xFormat={xFormat} yFormat={(v) => formatMs(v, 1)} />
            </div>
          </div>
          <Legend items={before.map((s) => ({ label: s.label, color: s.color }))} />
          <div className="mt-4">
            <RoundsTable rounds={rounds} />
          </div>
        </>
      )}
    </Card>
  );
}
