'use client';

import { useState } from 'react';
import { compareNodeIds } from '@/core/node-id';
import { monitorCall, monitorErrorText, type LbStats } from './api';
import type { BodyOf } from '@/contract/operations';
import { LB_ALGORITHMS } from '@/core/vocabulary';
import { Bars, nodeSeries, RecentChart } from './charts';
import { ErrorLine } from './health-tab';
import type { MonitorHistory } from './history';
import { Card, TableHead, EmptyState, formatInt, formatMs, NodeChip, nodeColor, Segmented, Stat } from './parts';
import type { PollState } from './use-poll';

const LIVE_WINDOW_MS = 10_000;

export function LoadBalancerTab({ lb, isAdmin, history, now }: { lb: PollState<LbStats>; isAdmin: boolean; history: MonitorHistory; now: number }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [weights, setWeights] = useState<Record<string, string>>({});
  const [traffic, setTraffic] = useState<Traffic | null>(null);
  const data = lb.data;
  if (!data) return lb.error ? <ErrorLine error={lb.error} /> : <EmptyState>Asking the gateway…</EmptyState>;

  async function change(body: LbChange, done: string) {
    setBusy(true);
    setMessage(null);
    try {
      await monitorCall('POST /api/lb', { body });
      setMessage(done);
      lb.refresh();
    } catch (err) {
      setMessage(monitorErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  /** Some traffic to watch the algorithm at work: 300 cheap requests, 6 at a time. */
  async function sendTraffic() {
    const total = 300;
    const servedBy: Record<string, number> = {};
    let next = 0;
    let sent = 0;
    setTraffic({ sent, total, servedBy: {} });
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (next < total) {
        next += 1;
        try {
          const res = await fetch('/api/ping', { cache: 'no-store' });
          await res.arrayBuffer();
          const id = res.headers.get('x-served-by') ?? '?';
          servedBy[id] = (servedBy[id] ?? 0) + 1;
        } catch {
          servedBy.failed = (servedBy.failed ?? 0) + 1;
        }
        sent += 1;
        if (sent % 20 === 0 || sent === total) setTraffic({ sent, total, servedBy: { ...servedBy } });
      }
    }));
    lb.refresh();
  }

  const nodes = [...data.nodes].sort((a, b) => compareNodeIds(a.id, b.id));

  return (
    <div className="flex flex-col gap-5">
      <div className="grid gap-4 lg:grid-cols-5">
        <AlgorithmCard
          data={data} nodes={nodes} isAdmin={isAdmin} busy={busy} message={message}
          weights={weights} onWeights={setWeights} onChange={change}
        />
        <TotalsCard totals={data.totals} traffic={traffic} onSend={() => void sendTraffic()} />
      </div>

      <div className="grid gap-4 lg:grid-cols-2">
        <ShareCard nodes={nodes} history={history} now={now} />
        <RateCard nodes={nodes} history={history} now={now} />
      </div>

      <NodesTableCard nodes={nodes} />
    </div>
  );
}

type LbNode = LbStats['nodes'][number];
type LbChange = BodyOf<'POST /api/lb'>;
type Traffic = { sent: number; total: number; servedBy: Record<string, number> };

/** The algorithm, and the static weights an administrator may set (or hand back to load). */
function AlgorithmCard({ data, nodes, isAdmin, busy, message, weights, onWeights: setWeights, onChange: change }: {
  data: LbStats; nodes: LbNode[]; isAdmin: boolean; busy: boolean; message: string | null;
  weights: Record<string, string>;
  onWeights: (w: Record<string, string>) => void;
  onChange: (body: LbChange, done: string) => Promise<void>;
}) {
  const staticWeights = data.weights === 'static';
  return (
    <Card title="Algorithm" subtitle="switching keeps in-flight requests where they are; only the next choice changes" className="lg:col-span-3" testId="lb-algorithm">
      <Segmented label="Load-balancing algorithm" options={LB_ALGORITHMS} value={data.algorithm} disabled={!isAdmin || busy} onChange={(a) => void change({ algorithm: a }, `Now ${a}.`)} />
      <div className="mt-4">
        <p className="text-xs font-medium uppercase tracking-wider text-slate-500">Weights · {staticWeights ? 'static' : 'load-based (capacity scaled by event-loop delay)'}</p>
        <div className="mt-2 flex flex-wrap items-end gap-2">
          {nodes.map((n) => (
            <label key={n.id} className="flex flex-col gap-1 text-xs text-slate-400">
              <NodeChip id={n.id} />
              <input
                type="number"
                min={0}
                max={1000}
                inputMode="numeric"
                value={weights[n.id] ?? String(n.weight)}
                onChange={(e) => setWeights({ ...weights, [n.id]: e.target.value })}
                disabled={!isAdmin}
                className="w-20 rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm tabular-nums text-slate-100 focus:border-amber-400 focus:outline-none disabled:opacity-60"
              />
            </label>
          ))}
          <button
            type="button"
            disabled={!isAdmin || busy}
            onClick={() => {
              const parsed = Object.fromEntries(nodes.map((n) => [n.id, Math.max(0, Math.min(1000, Math.round(Number(weights[n.id] ?? n.weight)) || 0))]));
              setWeights({});
              void change({ weights: parsed, algorithm: 'weighted' }, 'Static weights set; algorithm weighted.');
            }}
            className="rounded-lg bg-amber-400 px-3 py-1.5 text-xs font-semibold text-slate-950 hover:bg-amber-300 disabled:cursor-not-allowed disabled:opacity-50"
          >
            Use these weights
          </button>
          {staticWeights && (
            <button
              type="button"
              disabled={!isAdmin || busy}
              onClick={() => {
                setWeights({});
                void change({ weights: null }, 'Weights follow each node’s load again.');
              }}
              className="rounded-lg border border-slate-700 px-3 py-1.5 text-xs font-semibold text-slate-200 hover:border-slate-500 disabled:opacity-50"
            >
              Back to load-based
            </button>
          )}
        </div>
      </div>
      {message && <p className="mt-3 text-sm text-slate-300" role="status">{message}</p>}
      {!isAdmin && <p className="mt-3 text-sm text-slate-500">Log in as an administrator to change the balancer.</p>}
    </Card>
  );
}

function TotalsCard({ totals, traffic, onSend: sendTraffic }: {
  totals: LbStats['totals']; traffic: Traffic | null; onSend: () => void;
}) {
  return (
    <Card title="Gateway totals" subtitle="since the gateway started" className="lg:col-span-2">
      <dl className="grid grid-cols-2 gap-3">
        <Stat label="Requests" value={formatInt(totals.requests)} />
        <Stat label="Errors" value={formatInt(totals.errors)} />
        <Stat label="Retried elsewhere" value={formatInt(totals.retries)} />
        <Stat label="No node available" value={formatInt(totals.noBackend)} />
      </dl>
      <button
        type="button"
        onClick={sendTraffic}
        disabled={traffic !== null && traffic.sent < traffic.total}
        className="mt-4 w-full rounded-lg border border-slate-700 px-3 py-2 text-sm font-semibold text-slate-100 hover:border-slate-500 disabled:opacity-60"
      >
        {traffic && traffic.sent < traffic.total ? `Sending… ${traffic.sent} / ${traffic.total}` : 'Send 300 requests'}
      </button>
      {traffic && (
        <p className="mt-2 text-xs text-slate-400" data-testid="traffic-result">
          served by {Object.entries(traffic.servedBy).sort(([a], [b]) => compareNodeIds(a, b)).map(([id, n]) => `${id}: ${n}`).join(' · ') || '…'}
        </p>
      )}
    </Card>
  );
}

function ShareCard({ nodes, history, now }: { nodes: LbNode[]; history: MonitorHistory; now: number }) {
  const recent = history.gatewayRequests.recent(LIVE_WINDOW_MS, now);
  const recentTotal = [...recent.values()].reduce((a, b) => a + b, 0);
  return (
    <Card title="Share of traffic" subtitle={`last ${LIVE_WINDOW_MS / 1000} s (bars) and since start (below each)`} testId="lb-share">
      <Bars
        label="Share of traffic per node over the last 10 seconds"
        max={1}
        items={nodes.map((n) => ({
          id: n.id,
          label: <NodeChip id={n.id} />,
          value: recentTotal ? (recent.get(n.id) ?? 0) / recentTotal : 0,
          color: nodeColor(n.id),
          note: `${(n.share * 100).toFixed(1)} % overall`,
        }))}
        format={(v) => `${(v * 100).toFixed(1)} %`}
      />
    </Card>
  );
}

function RateCard({ nodes, history, now }: { nodes: LbNode[]; history: MonitorHistory; now: number }) {
  const rateSeries = nodeSeries(nodes.map((n) => n.id), history.gatewayRequests.series);
  return (
    <Card title="Requests per second" subtitle="forwarded to each node, last 90 s">
      <RecentChart series={rateSeries} now={now} label="Requests per second forwarded to each node" height={170} />
    </Card>
  );
}

function NodesTableCard({ nodes }: { nodes: LbNode[] }) {
  return (
    <Card title="Nodes at the gateway">
      <div className="-mx-1 overflow-x-auto px-1">
        <table className="w-full min-w-[40rem] text-sm" data-testid="lb-nodes">
          <TableHead
            columns={[
              'Node', 'State', ['Weight', 'text-right'], ['In flight', 'text-right'],
              ['Requests', 'text-right'], ['Errors', 'text-right'], ['p50', 'text-right'],
              ['p99', 'text-right'],
            ]}
          />
          <tbody>
            {nodes.map((n) => (
              <tr key={n.id} className="border-b border-slate-800/60 tabular-nums" data-node={n.id}>
                <td className="py-2"><NodeChip id={n.id} /></td>
                <td className="py-2">
                  {n.eligible ? (
                    <span className="text-emerald-300">in rotation</span>
                  ) : (
                    <span className="text-rose-300">
                      {n.ejected ? `ejected ${(n.ejectedForMs / 1000).toFixed(1)} s` : n.deadInCluster ? 'dead (cluster view)' : n.healthy ? 'out' : 'unhealthy'}
                    </span>
                  )}
                </td>
                <td className="py-2 text-right">{n.weight}</td>
                <td className="py-2 text-right">{n.inFlight}</td>
                <td className="py-2 text-right">{formatInt(n.requests)}</td>
                <td className={`py-2 text-right ${n.errors ? 'text-rose-300' : ''}`}>{formatInt(n.errors)}</td>
                <td className="py-2 text-right">{formatMs(n.latencyMs.p50)}</td>
                <td className="py-2 text-right">{formatMs(n.latencyMs.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
