'use client';

import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { monitorCall, monitorErrorText, type Election, type Faults, type Health, type HealthNode, type LbStats } from './api';
import { Card, formatClock, formatSignedMs, NodeChip, RoleBadge, StatusBadge } from './parts';
import type { PollState } from './use-poll';

type FaultsEntry = { faults: Faults } | { crashedPid: number };
type LogLine = { at: number; node: string; text: string; tone: 'info' | 'error' };

/** What the Chaos tab knows, kept by the monitor so it survives switching tabs. */
export type ChaosState = {
  faults: Record<string, FaultsEntry>;
  setFaults: React.Dispatch<React.SetStateAction<Record<string, FaultsEntry>>>;
  log: LogLine[];
  setLog: React.Dispatch<React.SetStateAction<LogLine[]>>;
};

export function useChaosState(): ChaosState {
  const [faults, setFaults] = useState<Record<string, FaultsEntry>>({});
  const [log, setLog] = useState<LogLine[]>([]);
  return { faults, setFaults, log, setLog };
}

const RESTART_OPTIONS = [
  { label: 'stay down', ms: null },
  { label: 'restart after 3 s', ms: 3_000 },
  { label: 'restart after 5 s', ms: 5_000 },
  { label: 'restart after 10 s', ms: 10_000 },
  { label: 'restart after 30 s', ms: 30_000 },
] as const;

const BTN = 'rounded-lg px-3 py-1.5 text-xs font-semibold transition disabled:cursor-not-allowed disabled:opacity-50';
const BTN_OUTLINE = `${BTN} border border-slate-700 text-slate-100 hover:border-slate-500 hover:bg-slate-800`;

/**
 * Chaos (admin): crash a node (optionally restarted by the launcher), cut it off from its peers,
 * pause it, skew its clock, slow it down — each action pinned to that node through the gateway
 * (`X-Node`). The cards above and the other tabs show the cluster reacting.
 */
export function ChaosTab({ state, health, election, nodeIds, lb, isAdmin, authStatus, now }: {
  state: ChaosState;
  health: PollState<Health>;
  election: Election | undefined;
  nodeIds: string[];
  lb: LbStats | undefined;
  isAdmin: boolean;
  authStatus: 'loading' | 'anonymous' | 'user';
  now: number;
}) {
  const byId = new Map((health.data?.nodes ?? []).map((n) => [n.id, n]));
  const known = new Set(lb?.nodes.map((n) => n.id) ?? []);
  useNodeFaults(state, isAdmin, nodeIds, byId, known);
  const { busy, crash, setNodeFaults, probe } = useChaosActions(state, health);

  if (!isAdmin) return <ChaosLogin authStatus={authStatus} />;
  return (
    <div className="flex flex-col gap-5">
      <p className="text-sm text-slate-400">
        Actions go to the chosen node through the gateway (<code className="text-slate-300">X-Node</code>). Watch the cards, the summary above and the other tabs react:
        the failure detector marks a node suspect then dead, the survivors elect a leader, the gateway routes around it.
      </p>
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
        {nodeIds.map((id) => (
          <ChaosCard
            key={id}
            id={id}
            node={byId.get(id)}
            entry={state.faults[id]}
            busy={busy[id]}
            leader={election?.leader ?? null}
            others={nodeIds.filter((o) => o !== id)}
            reachable={known.has(id)}
            onCrash={(ms) => void crash(id, ms)}
            onFaults={(change, text) => void setNodeFaults(id, change, text)}
            onProbe={() => void probe(id)}
          />
        ))}
      </div>
      <ChaosLogCard log={state.log} election={election} now={now} />
    </div>
  );
}

/**
 * Read the faults of every node that is up (once; then each action's answer keeps them current).
 * A node that was crashed from here is read again only once it is back with a new pid.
 */
function useNodeFaults(
  state: ChaosState, isAdmin: boolean, nodeIds: string[],
  byId: Map<string, HealthNode>, known: Set<string>,
) {
  const { faults, setFaults } = state;
  const fetching = useRef(new Set<string>());
  const statusKey = [...byId.values()].map((n) => `${n.id}:${n.status}:${n.pid ?? ''}`).join(',');
  useEffect(() => {
    if (!isAdmin) return;
    for (const id of nodeIds) {
      const n = byId.get(id);
      const entry = faults[id];
      if (!n || n.status !== 'alive' || !known.has(id) || fetching.current.has(id)) continue;
      if (entry && !('crashedPid' in entry && n.pid !== undefined && n.pid !== entry.crashedPid)) continue;
      fetching.current.add(id);
      monitorCall('GET /api/faults', { node: id })
        .then(({ data }) => setFaults((prev) => ({ ...prev, [id]: { faults: data.faults } })))
        .catch(() => {})
        .finally(() => fetching.current.delete(id));
    }
  }, [isAdmin, statusKey, nodeIds.join(','), [...known].join(',')]); // the keys summarise what matters of `health` and `lb`
}

/** What the cards can do to a node, each noted in the log; `busy`: the action running per node. */
function useChaosActions(state: ChaosState, health: PollState<Health>) {
  const { setFaults, setLog } = state;
  const [busy, setBusy] = useState<Record<string, string>>({});

  function note(node: string, text: string, tone: LogLine['tone'] = 'info') {
    setLog((prev) => [{ at: Date.now(), node, text, tone }, ...prev].slice(0, 30));
  }

  async function act(id: string, what: string, run: () => Promise<void>) {
    setBusy((b) => ({ ...b, [id]: what }));
    try {
      await run();
    } catch (err) {
      note(id, `${what} failed: ${monitorErrorText(err)}`, 'error');
    } finally {
      setBusy((b) => {
        const next = { ...b };
        delete next[id];
        return next;
      });
    }
  }

  async function setNodeFaults(id: string, change: Partial<Faults>, text: string) {
    await act(id, text, async () => {
      const { data } = await monitorCall('POST /api/faults', { body: change, node: id });
      setFaults((prev) => ({ ...prev, [id]: { faults: data.faults } }));
      note(id, text);
      health.refresh();
    });
  }

  async function crash(id: string, restartAfterMs: number | null) {
    await act(id, 'kill', async () => {
      const { data } = await monitorCall('POST /api/cluster/crash', {
        body: restartAfterMs === null ? {} : { restartAfterMs }, node: id,
      });
      setFaults((prev) => ({ ...prev, [id]: { crashedPid: data.pid } }));
      note(id, `killed (pid ${data.pid})${data.restartAfterMs === null ? '' : `; the launcher restarts it in ${data.restartAfterMs / 1000} s`}`);
      health.refresh();
    });
  }

  async function probe(id: string) {
    await act(id, 'probe', async () => {
      const { data } = await monitorCall('POST /api/cluster/fenced-write-probe', { node: id });
      note(id, data.epoch === null ? 'fenced write probe: this node never led' : `fenced write with epoch ${data.epoch}: ${data.accepted ? 'accepted (still the leader)' : 'refused (a newer epoch exists)'}`, data.accepted || data.epoch === null ? 'info' : 'error');
    });
  }

  return { busy, crash, setNodeFaults, probe };
}

function ChaosLogin({ authStatus }: { authStatus: 'loading' | 'anonymous' | 'user' }) {
  return (
    <div className="rounded-2xl border border-slate-800 bg-slate-900/60 px-6 py-12 text-center" data-testid="chaos-login">
      <p className="text-lg font-semibold text-white">Chaos is for administrators</p>
      <p className="mx-auto mt-2 max-w-md text-sm text-slate-400">
        {authStatus === 'user' ? 'Your account is not an administrator account.' : 'Log in as an administrator to crash, partition, pause or skew nodes — and watch the cluster cope.'}
      </p>
      {authStatus !== 'user' && (
        <Link href="/login?next=%2Fmonitor%23chaos" className="mt-6 inline-block rounded-lg bg-amber-400 px-4 py-2 text-sm font-semibold text-slate-950 hover:bg-amber-300">Log in</Link>
      )}
    </div>
  );
}

function ChaosLogCard({ log, election, now }: {
  log: LogLine[]; election: Election | undefined; now: number;
}) {
  return (
    <Card title="What happened" subtitle="actions from this page, newest first" testId="chaos-log">
      {log.length === 0 ? (
        <p className="text-sm text-slate-500">Nothing yet. Try killing the leader.</p>
      ) : (
        <ol className="flex flex-col gap-1.5 text-sm">
          {log.map((line, i) => (
            <li key={`${line.at}-${i}`} className="flex flex-wrap gap-x-3">
              <span className="font-mono text-xs tabular-nums text-slate-500">{formatClock(line.at)}</span>
              <NodeChip id={line.node} />
              <span className={line.tone === 'error' ? 'text-rose-300' : 'text-slate-300'}>{line.text}</span>
            </li>
          ))}
        </ol>
      )}
      <p className="mt-3 text-xs text-slate-500" data-testid="chaos-leader">
        Leader now: {election?.leader ?? 'none'} (epoch {election?.epoch ?? '—'}) · {formatClock(now)}
      </p>
    </Card>
  );
}

function ChaosCard({ id, node, entry, busy, leader, others, reachable, onCrash, onFaults, onProbe }: {
  id: string;
  node: HealthNode | undefined;
  entry: FaultsEntry | undefined;
  busy: string | undefined;
  leader: string | null;
  others: string[];
  reachable: boolean;
  onCrash: (restartAfterMs: number | null) => void;
  onFaults: (change: Partial<Faults>, text: string) => void;
  onProbe: () => void;
}) {
  const status = node?.status ?? 'suspect';
  const f = entry && 'faults' in entry ? entry.faults : undefined;
  const crashed = entry !== undefined && 'crashedPid' in entry;
  const partitioned = f ? f.partitionedFrom.length > 0 : false;
  // A partitioned or paused node looks dead to its peers but still answers: it must stay healable.
  const disabled = busy !== undefined || !reachable || crashed || (status === 'dead' && !partitioned && !f?.paused);
  const role = node?.role ?? (leader === id ? 'leader' : undefined);

  const chips = f ? faultChips(f, others) : [];

  return (
    <article
      className={`flex flex-col gap-4 rounded-2xl border bg-slate-900/60 p-4 ${status === 'dead' ? 'border-rose-500/60' : status === 'suspect' ? 'border-amber-400/50' : 'border-slate-800'}`}
      data-testid={`chaos-node-${id}`}
      data-status={status}
    >
      <header className="flex flex-wrap items-center gap-2">
        <NodeChip id={id} className="text-base text-white" />
        <StatusBadge status={status} />
        {status !== 'dead' && <RoleBadge role={role} />}
        <span className="ml-auto text-xs text-slate-500">{node?.pid ? `pid ${node.pid}` : ''}</span>
      </header>

      <div className="flex min-h-6 flex-wrap gap-1.5">
        {crashed ? (
          <span className="rounded-full bg-rose-500/15 px-2 py-0.5 text-xs font-semibold text-rose-200">killed from here{status !== 'dead' ? ' · not yet detected' : ''}</span>
        ) : chips.length ? (
          chips.map((c) => <span key={c} className="rounded-full bg-amber-400/15 px-2 py-0.5 text-xs font-semibold text-amber-200">{c}</span>)
        ) : (
          <span className="text-xs text-slate-500">{f ? 'no faults injected' : reachable ? 'reading faults…' : 'not known to the gateway'}</span>
        )}
      </div>

      <KillControls id={id} busy={busy} disabled={disabled} onCrash={onCrash} />
      <FaultButtons
        f={f} id={id} partitioned={partitioned} disabled={disabled}
        onFaults={onFaults} onProbe={onProbe}
      />
      <SkewForm f={f} id={id} disabled={disabled} onFaults={onFaults} />
    </article>
  );
}

/** The faults a node has, as short labels. */
function faultChips(f: Faults, others: string[]): string[] {
  const chips: string[] = [];
  const from = f.partitionedFrom;
  if (from.length >= others.length && from.length) chips.push('partitioned from all');
  else if (from.length) chips.push(`partitioned from ${from.join(', ')}`);
  if (f.paused) chips.push('paused');
  if (f.clockSkewMs) chips.push(`clock ${formatSignedMs(f.clockSkewMs)}`);
  if (f.requestDelayMs) chips.push(`slow +${f.requestDelayMs} ms`);
  const delays = Object.entries(f.delayToMs).filter(([, ms]) => ms > 0);
  if (delays.length) chips.push(`delay to ${delays.map(([p, ms]) => `${p} ${ms} ms`).join(', ')}`);
  return chips;
}

type OnFaults = (change: Partial<Faults>, text: string) => void;

function KillControls({ id, busy, disabled, onCrash }: {
  id: string; busy: string | undefined; disabled: boolean;
  onCrash: (restartAfterMs: number | null) => void;
}) {
  const [restart, setRestart] = useState(2);
  return (
    <div className="flex flex-wrap items-center gap-2 border-t border-slate-800 pt-3">
      <button type="button" className={`${BTN} bg-rose-600 text-white hover:bg-rose-500`} disabled={disabled} onClick={() => onCrash(RESTART_OPTIONS[restart]!.ms)} aria-label={`Kill ${id}`}>
        {busy === 'kill' ? 'Killing…' : 'Kill'}
      </button>
      <select
        aria-label={`After killing ${id}`}
        value={restart}
        onChange={(e) => setRestart(Number(e.target.value))}
        className="rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-xs text-slate-200"
      >
        {RESTART_OPTIONS.map((o, i) => <option key={o.label} value={i}>{o.label}</option>)}
      </select>
    </div>
  );
}

function FaultButtons({ f, id, partitioned, disabled, onFaults, onProbe }: {
  f: Faults | undefined; id: string; partitioned: boolean; disabled: boolean;
  onFaults: OnFaults; onProbe: () => void;
}) {
  return (
    <div className="flex flex-wrap items-center gap-2">
      <button
        type="button"
        className={partitioned ? `${BTN} bg-emerald-600 text-white hover:bg-emerald-500` : BTN_OUTLINE}
        disabled={disabled || !f}
        onClick={() => onFaults({ partitionedFrom: partitioned ? [] : ['*'] }, partitioned ? 'partition healed' : 'partitioned from every peer')}
        aria-label={partitioned ? `Heal ${id}` : `Partition ${id}`}
      >
        {partitioned ? 'Heal partition' : 'Partition'}
      </button>
      <button
        type="button"
        className={BTN_OUTLINE}
        disabled={disabled || !f}
        onClick={() => onFaults({ paused: !f?.paused }, f?.paused ? 'resumed' : 'paused (sends and handles no peer messages)')}
      >
        {f?.paused ? 'Resume' : 'Pause'}
      </button>
      <button
        type="button"
        className={BTN_OUTLINE}
        disabled={disabled || !f}
        onClick={() => onFaults({ requestDelayMs: f?.requestDelayMs ? 0 : 300 }, f?.requestDelayMs ? 'requests fast again' : 'every API request 300 ms slower')}
      >
        {f?.requestDelayMs ? 'Fast again' : 'Slow down'}
      </button>
      <button type="button" className={BTN_OUTLINE} disabled={disabled} onClick={onProbe} title="Try a leader-only write with the epoch this node last led">
        Fenced write
      </button>
    </div>
  );
}

function SkewForm({ f, id, disabled, onFaults }: {
  f: Faults | undefined; id: string; disabled: boolean; onFaults: OnFaults;
}) {
  const [skew, setSkew] = useState('3000');
  return (
    <form
      className="flex flex-wrap items-center gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        const ms = Math.round(Number(skew));
        if (Number.isFinite(ms)) onFaults({ clockSkewMs: ms }, `clock skewed by ${formatSignedMs(ms)}`);
      }}
    >
      <label className="flex items-center gap-2 text-xs text-slate-400">
        Clock skew
        <input
          type="number"
          step={100}
          value={skew}
          onChange={(e) => setSkew(e.target.value)}
          className="w-24 rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-xs tabular-nums text-slate-100 focus:border-amber-400 focus:outline-none"
          aria-label={`Clock skew of ${id} in ms`}
        />
        ms
      </label>
      <button type="submit" className={BTN_OUTLINE} disabled={disabled || !f}>Skew</button>
      {f?.clockSkewMs ? (
        <button type="button" className={`${BTN} text-slate-300 hover:text-white`} disabled={disabled} onClick={() => onFaults({ clockSkewMs: 0 }, 'clock skew removed')}>
          Reset
        </button>
      ) : null}
    </form>
  );
}
