'use client';

import { useState } from 'react';
import { ApiError } from '@/client/api';
import { compareNodeIds } from '@/core/node-id';
import { REPLICATION_MODES, type ReplicationMode } from '@/core/vocabulary';
import { monitorCall, monitorErrorText, type ReplicaNode, type Replicas } from './api';
import { Bars } from './charts';
import { ErrorLine } from './health-tab';
import { Card, TableHead, EmptyState, formatAge, formatClock, formatInt, formatMs, NodeChip, nodeColor, Segmented, SeenBy, Stat } from './parts';
import { usePoll } from './use-poll';

const KIND_COLORS = ['#38bdf8', '#fbbf24', '#a78bfa', '#34d399', '#f472b6', '#fb923c', '#94a3b8'];

/**
 * Replication: `GET /api/replicas` → `{ mode, n, r, w, nodes: [{ nodeId, entries, digest,
 * versionVector, lagEntries, lagMs, conflicts, lastSyncAt, … }], distribution }`. A node that does
 * not serve it (404) gets a clear message — and is asked again every few seconds.
 */
export function ReplicationTab({ isAdmin, now, node }: { isAdmin: boolean; now: number; node: string | undefined }) {
  const replicas = usePoll('GET /api/replicas', 2_000, { node, errorIntervalMs: 10_000 });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [quorum, setQuorum] = useState<Quorum | null>(null);
  const unavailable = replicas.error instanceof ApiError && replicas.error.status === 404;

  if (unavailable) {
    return (
      <div className="rounded-2xl border border-slate-800 bg-slate-900/60 px-6 py-12 text-center" data-testid="replication-unavailable">
        <p className="text-lg font-semibold text-white">Replication is not available on this node</p>
        <p className="mx-auto mt-2 max-w-lg text-sm text-slate-400">
          <code className="rounded bg-slate-800 px-1.5 py-0.5 text-slate-200">GET /api/replicas</code> answered 404 (not found). The monitor asks again every few seconds and shows
          replica counts, lag, digests, conflicts and the distribution as soon as the nodes serve it.
        </p>
      </div>
    );
  }
  const data = replicas.data;
  if (!data) return replicas.error ? <ErrorLine error={replicas.error} /> : <EmptyState>Asking about replicas…</EmptyState>;

  async function change(patch: Record<string, unknown>, done: string) {
    setBusy(true);
    setMessage(null);
    try {
      await monitorCall('POST /api/replicas', { body: patch });
      setMessage(done);
      replicas.refresh();
    } catch (err) {
      setMessage(monitorErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  const nodes = [...(data.nodes ?? [])].sort((a, b) => compareNodeIds(a.nodeId, b.nodeId));

  return (
    <div className="flex flex-col gap-5">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-400">Each node’s replica: entries held, how far behind the most advanced one, and whether the digests agree.</p>
        <SeenBy servedBy={replicas.servedBy} at={replicas.at} now={now} pinned={Boolean(node)} />
      </div>
      {replicas.error ? <ErrorLine error={replicas.error} stale /> : null}
      <div className="grid gap-4 lg:grid-cols-3">
        <ModeCard
          data={data} isAdmin={isAdmin} busy={busy} message={message}
          edited={quorum} onEdit={setQuorum} onChange={change}
        />
        <ReplicaCountsCard nodes={nodes} />
      </div>

      <ReplicasTableCard nodes={nodes} now={now} />

      <div className="grid gap-4 lg:grid-cols-2">
        <DistributionCard distribution={data.distribution} />
        <ConflictsCard nodes={nodes} />
      </div>
      <WriteStats nodes={nodes} />
    </div>
  );
}

type Quorum = { n: string; r: string; w: string };

/** The mode and quorum sizes, and (for administrators) the controls that change them. */
function ModeCard({ data, isAdmin, busy, message, edited, onEdit: setQuorum, onChange: change }: {
  data: Replicas; isAdmin: boolean; busy: boolean; message: string | null;
  /** The quorum sizes being edited (null: none). */
  edited: Quorum | null;
  onEdit: (q: Quorum | null) => void;
  onChange: (patch: Record<string, unknown>, done: string) => Promise<void>;
}) {
  const q = edited ?? { n: String(data.n ?? ''), r: String(data.r ?? ''), w: String(data.w ?? '') };
  return (
    <Card
      title="Mode"
      subtitle="replication strategy and quorum sizes"
      testId="replication-mode"
      actions={data.converged === undefined ? undefined : (
        <span className={`rounded-full px-2 py-0.5 text-xs font-semibold ${data.converged ? 'bg-emerald-500/15 text-emerald-200' : 'bg-amber-400/15 text-amber-200'}`} data-testid="replication-converged">
          {data.converged ? 'converged' : 'converging'}
        </span>
      )}
    >
      <Segmented label="Replication mode" options={REPLICATION_MODES} value={data.mode as ReplicationMode | undefined} onChange={(m) => void change({ mode: m }, `Switched to ${m}.`)} disabled={!isAdmin || busy} />
      <form
        className="mt-4 flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const patch = { n: Number(q.n), r: Number(q.r), w: Number(q.w) };
          setQuorum(null);
          void change(patch, `N=${patch.n}, R=${patch.r}, W=${patch.w}.`);
        }}
      >
        {(['n', 'r', 'w'] as const).map((k) => (
          <label key={k} className="flex flex-col gap-1 text-[11px] font-medium uppercase tracking-wider text-slate-500">
            {k === 'n' ? 'N replicas' : k === 'r' ? 'R quorum' : 'W quorum'}
            <input
              type="number"
              min={1}
              max={100}
              value={q[k]}
              disabled={!isAdmin}
              onChange={(e) => setQuorum({ ...q, [k]: e.target.value })}
              className="w-20 rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm normal-case tabular-nums text-slate-100 focus:border-amber-400 focus:outline-none disabled:opacity-60"
            />
          </label>
        ))}
        {isAdmin && edited && (
          <button type="submit" disabled={busy} className="rounded-lg bg-amber-400 px-3 py-1.5 text-xs font-semibold text-slate-950 hover:bg-amber-300 disabled:opacity-50">Apply</button>
        )}
      </form>
      <p className="mt-3 text-xs text-slate-500">
        {data.synchronous !== undefined && <>{data.synchronous ? 'synchronous' : 'asynchronous'} replication · </>}
        {data.mode === 'gossip' && data.fanout !== undefined && <>gossip fan-out {data.fanout} · </>}
        {q.r && q.w && q.n ? (Number(q.r) + Number(q.w) > Number(q.n) ? 'R + W > N: reads see the latest acknowledged write' : 'R + W ≤ N: reads may be stale') : null}
      </p>
      {message && <p className="mt-2 text-xs text-slate-300" role="status">{message}</p>}
      {!isAdmin && <p className="mt-2 text-xs text-slate-500">Administrators can change the mode and quorums.</p>}
    </Card>
  );
}

function ReplicaCountsCard({ nodes }: { nodes: ReplicaNode[] }) {
  return (
    <Card title="Replica counts" subtitle="entries each node holds; below, how far behind it is" className="lg:col-span-2" testId="replica-counts">
      {nodes.length ? (
        <Bars
          label="Entries per node"
          items={nodes.map((n) => ({ id: n.nodeId, label: <NodeChip id={n.nodeId} />, value: n.entries ?? 0, color: nodeColor(n.nodeId), note: lagNote(n) }))}
          format={(v) => formatInt(v)}
        />
      ) : <EmptyState>No replica reported.</EmptyState>}
    </Card>
  );
}

function ReplicasTableCard({ nodes, now }: { nodes: ReplicaNode[]; now: number }) {
  return (
    <Card title="Replicas" subtitle="lag is against the most advanced replica; equal digests mean identical contents">
      <div className="-mx-1 overflow-x-auto px-1">
        <table className="w-full min-w-[44rem] text-sm" data-testid="replicas-table">
          <TableHead
            columns={[
              'Node', ['Entries', 'text-right'], ['Lag', 'text-right'], ['Digest', 'pl-3'],
              'Version vector', ['Conflicts', 'text-right'], ['Hints', 'text-right'],
              ['Last sync', 'text-right'],
            ]}
          />
          <tbody>
            {nodes.map((n) => {
              const sameDigest = nodes.every((o) => o.digest === n.digest);
              const lastSync = n.lastSyncAt;
              return (
                <tr key={n.nodeId} className="border-b border-slate-800/60 tabular-nums" data-node={n.nodeId}>
                  <td className="py-2"><NodeChip id={n.nodeId} /></td>
                  <td className="py-2 text-right">{formatInt(n.entries)}</td>
                  <td className={`py-2 text-right ${(n.lagEntries ?? 0) > 0 ? 'text-amber-300' : 'text-emerald-300'}`}>{lagNote(n)}</td>
                  <td className="py-2 pl-3">
                    <code className={`rounded px-1.5 py-0.5 text-xs ${sameDigest ? 'bg-emerald-500/10 text-emerald-200' : 'bg-amber-400/10 text-amber-200'}`} title={n.digest}>
                      {n.digest ? n.digest.slice(0, 10) : '—'}
                    </code>
                  </td>
                  <td className="py-2 font-mono text-xs text-slate-300">
                    {n.versionVector && Object.keys(n.versionVector).length
                      ? Object.entries(n.versionVector).sort(([a], [b]) => compareNodeIds(a, b)).map(([k, v]) => `${k.replace(/^node-/, 'n')}:${v}`).join(' ')
                      : '—'}
                  </td>
                  <td className={`py-2 text-right ${(n.conflicts ?? 0) > 0 ? 'text-rose-300' : ''}`}>{formatInt(n.conflicts)}</td>
                  <td className="py-2 text-right">{formatInt(n.hints)}</td>
                  <td className="py-2 text-right text-slate-400">{lastSync ? formatAge(Math.max(0, now - Date.parse(lastSync))) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function DistributionCard({ distribution }: { distribution: Replicas['distribution'] }) {
  const flat = flatDistribution(distribution);
  const nested = nestedDistribution(distribution);
  const kinds = nested ? [...new Set(Object.values(nested).flatMap(Object.keys))].sort() : [];
  return (
    <Card title="Distribution" subtitle="what each replica holds, by kind of data" testId="replica-distribution">
      {nested && kinds.length ? (
        <>
          <ul className="flex flex-col gap-2.5">
            {Object.keys(nested).sort(compareNodeIds).map((id) => {
              const parts = nested[id]!;
              const total = Object.values(parts).reduce((a, b) => a + b, 0);
              const max = Math.max(1, ...Object.values(nested).map((p) => Object.values(p).reduce((a, b) => a + b, 0)));
              return (
                <li key={id} className="grid grid-cols-[5.5rem_1fr_auto] items-center gap-3 text-sm">
                  <NodeChip id={id} />
                  <span className="flex h-3 overflow-hidden rounded-full bg-slate-800">
                    <span className="flex h-full" style={{ width: `${(total / max) * 100}%` }}>
                      {kinds.map((k, i) => (
                        <span key={k} title={`${k}: ${parts[k] ?? 0}`} style={{ width: `${total ? ((parts[k] ?? 0) / total) * 100 : 0}%`, background: KIND_COLORS[i % KIND_COLORS.length] }} />
                      ))}
                    </span>
                  </span>
                  <span className="min-w-[3rem] text-right font-semibold tabular-nums">{formatInt(total)}</span>
                </li>
              );
            })}
          </ul>
          <ul className="mt-3 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-400">
            {kinds.map((k, i) => (
              <li key={k} className="inline-flex items-center gap-1.5">
                <span className="size-2.5 rounded-sm" style={{ background: KIND_COLORS[i % KIND_COLORS.length] }} aria-hidden="true" />
                {k}
              </li>
            ))}
          </ul>
        </>
      ) : flat ? (
        <Bars label="Distribution" items={flat.map((d) => ({ id: d.key, label: d.key.startsWith('node') ? <NodeChip id={d.key} /> : d.key, value: d.value, color: nodeColor(d.key) }))} format={(v) => formatInt(v)} />
      ) : (
        <EmptyState>No data replicated yet.</EmptyState>
      )}
    </Card>
  );
}

function ConflictsCard({ nodes }: { nodes: ReplicaNode[] }) {
  const conflicts = nodes.flatMap((n) =>
    (n.recentConflicts ?? []).map((c) => ({ ...c, nodeId: n.nodeId })));
  return (
    <Card title="Recent conflicts" subtitle="concurrent writes of one key, resolved last-writer-wins" testId="replica-conflicts">
      {conflicts.length === 0 ? (
        <EmptyState>No conflict: no two nodes wrote the same key concurrently.</EmptyState>
      ) : (
        <ul className="flex flex-col gap-2 text-sm">
          {conflicts.slice(-8).reverse().map((c, i) => (
            <li key={`${c.nodeId}-${c.key}-${i}`} className="rounded-lg border border-slate-800 px-3 py-2">
              <p className="font-mono text-xs text-slate-200">{c.key}</p>
              <p className="mt-0.5 text-xs text-slate-400">
                kept <span className="text-emerald-300">{c.winner.origin}#{c.winner.seq}</span> ({formatClock(c.winner.ts)}) over{' '}
                <span className="text-rose-300">{c.loser.origin}#{c.loser.seq}</span> ({formatClock(c.loser.ts)}) · seen on {c.nodeId}
              </p>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function WriteStats({ nodes }: { nodes: ReplicaNode[] }) {
  return (
    <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
      {nodes.map((n) => (
        <div key={n.nodeId} className="rounded-xl border border-slate-800 bg-slate-900/40 px-3 py-2">
          <Stat label={`${n.nodeId} writes`} value={`${formatInt(n.writesAcked)} acked`} hint={n.writesFailed ? `${n.writesFailed} failed` : n.lagMs ? `lag ${formatMs(n.lagMs)}` : undefined} />
        </div>
      ))}
    </dl>
  );
}

function lagNote(n: ReplicaNode): string {
  if (n.lagEntries === undefined && n.lagMs === undefined) return '—';
  if ((n.lagEntries ?? 0) === 0 && !n.lagMs) return 'in sync';
  return `${n.lagEntries ?? '?'} behind${n.lagMs ? ` · ${formatMs(n.lagMs)}` : ''}`;
}

/** `{ node: { kind: count } }` */
function nestedDistribution(value: unknown): Record<string, Record<string, number>> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value as Record<string, unknown>);
  const ok = entries.length > 0 && entries.every(([, v]) => v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((n) => typeof n === 'number'));
  return ok ? (value as Record<string, Record<string, number>>) : null;
}

/** `{ key: number }` or `[{ nodeId|key, count|entries|value }]` */
function flatDistribution(value: unknown): { key: string; value: number }[] | null {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length && entries.every(([, v]) => typeof v === 'number')) return entries.map(([key, v]) => ({ key, value: v as number })).sort((a, b) => compareNodeIds(a.key, b.key));
  }
  if (Array.isArray(value) && value.length) {
    const items = value.map((item: unknown) => {
      const o = item as Record<string, unknown>;
      const key = o.nodeId ?? o.key ?? o.id;
      const v = o.count ?? o.entries ?? o.value;
      return typeof key === 'string' && typeof v === 'number' ? { key, value: v } : null;
    });
    if (items.every(Boolean)) return items as { key: string; value: number }[];
  }
  return null;
}
