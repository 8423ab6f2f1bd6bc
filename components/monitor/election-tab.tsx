'use client';

import { useState } from 'react';
import { compareNodeIds } from '@/core/node-id';
import { monitorCall, monitorErrorText, type Election, type ElectionResult } from './api';
import { ELECTION_ALGORITHMS, type ElectionAlgorithm } from '@/core/vocabulary';
import { ErrorLine } from './health-tab';
import type { MonitorHistory, TimelineEntry } from './history';
import { Card, CrownIcon, EmptyState, formatAge, formatClock, formatMs, NodeChip, nodeColor, SeenBy, Stat } from './parts';
import type { PollState } from './use-poll';

const ALGO_STYLE: Record<ElectionAlgorithm, { name: string; badge: string; dot: string; bar: string; button: string }> = {
  bully: {
    name: 'Bully', badge: 'bg-amber-400/15 text-amber-200 border-amber-400/40', dot: 'bg-amber-400', bar: '#fbbf24',
    button: 'bg-amber-400 text-slate-950 shadow-amber-500/10 hover:bg-amber-300',
  },
  ring: {
    name: 'Ring', badge: 'bg-violet-500/15 text-violet-200 border-violet-400/40', dot: 'bg-violet-400', bar: '#a78bfa',
    button: 'bg-violet-500 text-white shadow-violet-500/10 hover:bg-violet-400',
  },
};

function AlgorithmBadge({ algorithm }: { algorithm: ElectionAlgorithm }) {
  return <span className={`rounded-full border px-2 py-0.5 text-xs font-semibold capitalize ${ALGO_STYLE[algorithm].badge}`}>{algorithm}</span>;
}

export function ElectionTab({ election, nodeIds, isAdmin, now, history, pinned }: {
  election: PollState<Election>;
  nodeIds: string[];
  isAdmin: boolean;
  now: number;
  history: MonitorHistory;
  pinned: boolean;
}) {
  const [busy, setBusy] = useState<ElectionAlgorithm | null>(null);
  /** 'leader' (default), '' (any node, as the gateway picks), or a node id. */
  const [initiator, setInitiator] = useState('leader');
  const [result, setResult] = useState<Outcome | null>(null);
  const data = election.data;

  async function trigger(algorithm: ElectionAlgorithm) {
    setBusy(algorithm);
    setResult(null);
    // The request goes straight to the initiator through the gateway (X-Node), not forwarded between nodes.
    const from = initiator === 'leader' ? (election.data?.leader ?? undefined) : initiator || undefined;
    try {
      const { data: answer } = await monitorCall('POST /api/election', { body: { algorithm }, node: from });
      history.timeline.addResult(answer.election);
      setResult({ ok: true, value: answer.election });
      election.refresh();
    } catch (err) {
      setResult({ ok: false, message: monitorErrorText(err) });
    } finally {
      setBusy(null);
    }
  }

  if (!data) return election.error ? <ErrorLine error={election.error} /> : <EmptyState>Asking who leads…</EmptyState>;
  const timeline = history.timeline.list();

  return (
    <div className="flex flex-col gap-5">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-400">A leader wins an epoch by a compare-and-set in PostgreSQL: one leader per epoch, and epochs only grow.</p>
        <SeenBy servedBy={election.servedBy} at={election.at} now={now} pinned={pinned} />
      </div>
      {election.error ? <ErrorLine error={election.error} stale /> : null}

      <div className="grid gap-4 lg:grid-cols-5">
        <CurrentLeaderCard data={data} />
        <RunElectionCard
          nodeIds={nodeIds} isAdmin={isAdmin} busy={busy} initiator={initiator}
          onInitiator={setInitiator} onTrigger={(algorithm) => void trigger(algorithm)}
          result={result}
        />
      </div>

      <Card title="Recent elections" subtitle="merged from what each node reports: who started it, why, how long until a leader was known, messages each node sent" testId="election-timeline">
        {timeline.length === 0 ? <EmptyState>No election seen yet.</EmptyState> : <Timeline entries={timeline} now={now} />}
      </Card>
    </div>
  );
}

/** What POST /api/election answered, or why it failed. */
type Outcome = { ok: true; value: ElectionResult } | { ok: false; message: string };

function CurrentLeaderCard({ data }: { data: Election }) {
  return (
    <Card className="lg:col-span-2" testId="current-leader">
      <p className="text-[11px] font-medium uppercase tracking-wider text-slate-500">Current leader</p>
      <div className="mt-2 flex items-center gap-3">
        {data.leader ? (
          <span className="flex size-12 items-center justify-center rounded-2xl text-slate-950" style={{ background: nodeColor(data.leader) }}>
            <CrownIcon className="size-6" />
          </span>
        ) : (
          <span className="flex size-12 items-center justify-center rounded-2xl bg-slate-800 text-xl text-slate-500">?</span>
        )}
        <div>
          <p className="font-mono text-2xl font-bold text-white" data-testid="election-leader">{data.leader ?? 'none'}</p>
          <p className="text-sm text-slate-400">phase of {data.nodeId}: {data.phase}</p>
        </div>
      </div>
      <dl className="mt-5 grid grid-cols-3 gap-3">
        <Stat label="Epoch" value={<span className="text-lg" data-testid="election-epoch">{data.epoch}</span>} />
        <Stat label="Algorithm" value={<span className="capitalize" data-testid="election-algorithm">{data.algorithm}</span>} />
        <Stat label="Alive" value={`${data.alive.length + 1} / ${data.members.length}`} hint={data.refusedStaleMessages ? `${data.refusedStaleMessages} stale msgs refused` : undefined} />
      </dl>
    </Card>
  );
}

/** The two election buttons, who initiates, and the last election's answer. */
function RunElectionCard(props: {
  nodeIds: string[]; isAdmin: boolean; busy: ElectionAlgorithm | null; initiator: string;
  onInitiator: (id: string) => void; onTrigger: (algorithm: ElectionAlgorithm) => void;
  result: Outcome | null;
}) {
  const { nodeIds, isAdmin, busy, initiator, result } = props;
  const { onInitiator: setInitiator, onTrigger: trigger } = props;
  return (
    <Card className="lg:col-span-3" title="Run an election" subtitle="switches every node to the algorithm, then runs a real election from the initiator">
      <div className="flex flex-wrap items-center gap-3">
        {ELECTION_ALGORITHMS.map((algorithm) => (
          <button
            key={algorithm}
            type="button"
            onClick={() => trigger(algorithm)}
            disabled={!isAdmin || busy !== null}
            className={`inline-flex items-center gap-2 rounded-lg px-4 py-2 text-sm font-semibold shadow-lg disabled:cursor-not-allowed disabled:opacity-50 ${ALGO_STYLE[algorithm].button}`}
          >
            {busy === algorithm && <span className="size-4 animate-spin rounded-full border-2 border-current border-t-transparent" aria-hidden="true" />}
            Trigger {ALGO_STYLE[algorithm].name} election
          </button>
        ))}
        <label className="flex items-center gap-2 text-sm text-slate-400">
          from
          <select
            value={initiator}
            onChange={(e) => setInitiator(e.target.value)}
            disabled={!isAdmin}
            className="rounded-lg border border-slate-700 bg-slate-900 px-2 py-1.5 text-sm text-slate-100 disabled:opacity-50"
          >
            <option value="leader">the leader</option>
            <option value="">any node</option>
            {nodeIds.map((id) => <option key={id} value={id}>{id}</option>)}
          </select>
        </label>
      </div>
      <p className="mt-3 text-xs text-slate-500">
        Either algorithm runs a full election into a new epoch, even when the same node wins again. A node that restarts or switches algorithm only confirms the sitting leader.
      </p>
      {!isAdmin && <p className="mt-3 text-sm text-slate-400">Log in as an administrator to trigger elections.</p>}
      <div className="mt-4" aria-live="polite" data-testid="election-result">
        {result?.ok === true && (
          <div className={`grid grid-cols-2 gap-3 rounded-xl border p-3 sm:grid-cols-4 ${result.value.ok ? 'border-emerald-500/30 bg-emerald-500/10' : 'border-amber-400/40 bg-amber-400/10'}`}>
            <Stat
              label="Result"
              value={<span className="inline-flex items-center gap-1.5"><AlgorithmBadge algorithm={result.value.algorithm} /> {result.value.ok ? 'elected' : result.value.leader ? 'no new epoch' : 'no leader yet'}</span>}
              hint={!result.value.ok && result.value.leader ? `${result.value.leader} still leads` : undefined}
            />
            <Stat label="Leader · epoch" value={`${result.value.leader ?? '—'} · ${result.value.epoch}`} />
            <Stat label="Took" value={formatMs(result.value.durationMs)} hint={`initiated by ${result.value.initiator}`} />
            <Stat label="Messages" value={result.value.messages} hint="across the cluster" />
          </div>
        )}
        {result?.ok === false && <p role="alert" className="rounded-xl border border-rose-500/40 bg-rose-500/10 px-3 py-2 text-sm text-rose-100">{result.message}</p>}
      </div>
    </Card>
  );
}

function Timeline({ entries, now }: { entries: TimelineEntry[]; now: number }) {
  const maxMessages = Math.max(1, ...entries.map((e) => e.messages));
  return (
    <ol className="relative flex flex-col gap-4 border-l border-slate-800 pl-5">
      {entries.slice(0, 12).map((e) => {
        const nodes = Object.entries(e.perNode).sort(([a], [b]) => compareNodeIds(a, b));
        const sentTotal = Object.values(e.perNode).reduce((sum, n) => sum + n.sent, 0);
        return (
          <li key={e.epoch} className="relative" data-epoch={e.epoch}>
            <span className={`absolute -left-[1.72rem] top-1.5 size-3 rounded-full ring-4 ring-slate-900 ${ALGO_STYLE[e.algorithm].dot}`} aria-hidden="true" />
            <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
              <span className="font-mono text-sm font-bold text-white">epoch {e.epoch}</span>
              <AlgorithmBadge algorithm={e.algorithm} />
              {e.leader && (
                <span className="inline-flex items-center gap-1 text-sm text-amber-200">
                  <CrownIcon /> <NodeChip id={e.leader} />
                </span>
              )}
              <span className="text-xs text-slate-500">{formatClock(e.startedAt)} · {formatAge(now - e.startedAt)}</span>
            </div>
            <p className="mt-1 text-sm text-slate-400">
              {e.initiator ? (
                <>started by <span className="font-mono text-slate-200">{e.initiator}</span> ({describeTrigger(e.trigger)})</>
              ) : e.trigger ? describeTrigger(e.trigger) : 'started by another node'}
              {e.durationMs !== null && <> · leader known after <span className="text-slate-200">{formatMs(e.durationMs)}</span></>}
              {' · '}
              <span className="text-slate-200">{e.messages}</span> messages
            </p>
            <div className="mt-2 max-w-md">
              <div className="flex h-2 overflow-hidden rounded-full bg-slate-800" title="messages sent, per node" style={{ width: `${Math.max(4, (e.messages / maxMessages) * 100)}%` }}>
                {nodes.map(([id, n]) => (
                  <span key={id} style={{ width: `${sentTotal ? (n.sent / sentTotal) * 100 : 0}%`, background: nodeColor(id) }} />
                ))}
              </div>
            </div>
            <p className="mt-1 flex flex-wrap gap-x-3 text-[11px] text-slate-500">
              {nodes.map(([id, n]) => (
                <span key={id}><span className="font-mono" style={{ color: nodeColor(id) }}>{id}</span> sent {n.sent}, received {n.received}</span>
              ))}
            </p>
          </li>
        );
      })}
    </ol>
  );
}

function describeTrigger(trigger: string | null): string {
  if (!trigger) return 'unknown';
  if (trigger === 'triggered') return 'triggered from the monitor';
  if (trigger === 'boot') return 'at start';
  if (trigger.endsWith(' is dead')) return `after ${trigger.replace(' is dead', '')} died`;
  return trigger;
}
