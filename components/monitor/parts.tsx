import { nodePriority } from '@/core/node-id';
import type { NodeStatus, Role } from './api';

/** Small building blocks of the monitor: cards, badges, stats, node colours, number formats. */

const PALETTE = ['#38bdf8', '#a78bfa', '#34d399', '#f472b6', '#fbbf24', '#fb923c', '#2dd4bf', '#e879f9', '#f87171', '#a3e635'];

/** A stable colour per node (by its number), the same in every chart. */
export function nodeColor(id: string): string {
  const n = nodePriority(id);
  if (n !== null) return PALETTE[(n - 1 + PALETTE.length * 100) % PALETTE.length]!;
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

export function Card({ title, subtitle, actions, children, className = '', testId }: {
  title?: React.ReactNode;
  subtitle?: React.ReactNode;
  actions?: React.ReactNode;
  children: React.ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`min-w-0 rounded-2xl border border-slate-800 bg-slate-900/60 p-4 shadow-lg shadow-black/20 sm:p-5 ${className}`} data-testid={testId}>
      {(title || actions) && (
        <div className="mb-4 flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0">
            {title && <h3 className="text-base font-semibold text-white">{title}</h3>}
            {subtitle && <p className="mt-0.5 text-xs text-slate-400">{subtitle}</p>}
          </div>
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

const STATUS_STYLE: Record<NodeStatus, { dot: string; pill: string }> = {
  alive: { dot: 'bg-emerald-400', pill: 'border-emerald-500/40 bg-emerald-500/10 text-emerald-200' },
  suspect: { dot: 'bg-amber-400', pill: 'border-amber-400/40 bg-amber-400/10 text-amber-200' },
  dead: { dot: 'bg-rose-500', pill: 'border-rose-500/40 bg-rose-500/10 text-rose-200' },
};

export function StatusBadge({ status }: { status: NodeStatus }) {
  const style = STATUS_STYLE[status];
  return (
    <span className={`inline-flex items-center gap-1.5 rounded-full border px-2 py-0.5 text-xs font-semibold ${style.pill}`} data-status={status}>
      <span className={`size-2 rounded-full ${style.dot} ${status === 'alive' ? 'animate-pulse' : ''}`} aria-hidden="true" />
      {status}
    </span>
  );
}

export function RoleBadge({ role }: { role: Role | undefined }) {
  if (!role) return <span className="text-xs text-slate-500">role unknown</span>;
  if (role === 'leader') {
    return (
      <span className="inline-flex items-center gap-1 rounded-full bg-amber-400 px-2 py-0.5 text-xs font-bold text-slate-950">
        <CrownIcon /> leader
      </span>
    );
  }
  const style = role === 'candidate' ? 'bg-violet-500/20 text-violet-200' : 'bg-slate-800 text-slate-300';
  return <span className={`rounded-full px-2 py-0.5 text-xs font-semibold ${style}`}>{role}</span>;
}

export function CrownIcon({ className = 'size-3.5' }: { className?: string }) {
  return (
    <svg viewBox="0 0 20 20" className={className} aria-hidden="true" fill="currentColor">
      <path d="M2 6l4.5 3.5L10 3l3.5 6.5L18 6l-2 10H4L2 6z" />
    </svg>
  );
}

export function NodeChip({ id, className = '' }: { id: string; className?: string }) {
  return (
    <span className={`inline-flex items-center gap-1.5 whitespace-nowrap font-mono font-semibold ${className}`}>
      <span className="size-2.5 shrink-0 rounded-sm" style={{ background: nodeColor(id) }} aria-hidden="true" />
      {id}
    </span>
  );
}

/**
 * A table's header row: each column a label, or a label and the classes it adds (alignment,
 * padding, hidden on small screens).
 */
export function TableHead({ columns }: { columns: readonly (string | readonly [string, string])[] }) {
  return (
    <thead>
      <tr className="border-b border-slate-800 text-left text-[11px] uppercase tracking-wider text-slate-500">
        {columns.map((c) => {
          const [label, extra] = typeof c === 'string' ? [c, ''] : c;
          return <th key={label} className={`py-1.5 font-medium ${extra}`.trim()}>{label}</th>;
        })}
      </tr>
    </thead>
  );
}

export function Stat({ label, value, hint, testId }: { label: string; value: React.ReactNode; hint?: React.ReactNode; testId?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-[11px] font-medium uppercase tracking-wider text-slate-500">{label}</dt>
      <dd className="mt-0.5 truncate text-sm font-semibold tabular-nums text-slate-100" data-testid={testId}>{value}</dd>
      {hint && <dd className="text-xs text-slate-500">{hint}</dd>}
    </div>
  );
}

/** "as seen by node-2" under a panel fed by one node's answer. */
export function SeenBy({ servedBy, at, now, pinned }: { servedBy: string | null; at: number; now: number; pinned?: boolean }) {
  if (!servedBy) return null;
  const age = at ? Math.max(0, now - at) : null;
  return (
    <span className="inline-flex items-center gap-1 text-xs text-slate-400" data-testid="seen-by">
      as seen by <NodeChip id={servedBy} className="text-slate-200" />
      {pinned ? <span className="text-slate-500">(pinned)</span> : null}
      {age !== null && <span className={age > 3_000 ? 'text-amber-300' : 'text-slate-500'}>· {formatAge(age)}</span>}
    </span>
  );
}

export function Segmented<T extends string>({ label, options, value, onChange, disabled, format = (v) => v }: {
  label: string;
  options: readonly T[];
  value: T | undefined;
  onChange: (value: T) => void;
  disabled?: boolean;
  format?: (value: T) => string;
}) {
  return (
    <div role="radiogroup" aria-label={label} className="inline-flex max-w-full flex-wrap gap-1 rounded-xl border border-slate-800 bg-slate-950 p-1">
      {options.map((option) => (
        <button
          key={option}
          type="button"
          role="radio"
          aria-checked={value === option}
          disabled={disabled}
          onClick={() => onChange(option)}
          className={`rounded-lg px-3 py-1.5 text-xs font-semibold transition disabled:cursor-not-allowed ${
            value === option ? 'bg-amber-400 text-slate-950' : 'text-slate-300 hover:bg-slate-800 hover:text-white disabled:opacity-50 disabled:hover:bg-transparent'
          }`}
        >
          {format(option)}
        </button>
      ))}
    </div>
  );
}

export function EmptyState({ children }: { children: React.ReactNode }) {
  return <p className="rounded-xl border border-dashed border-slate-800 px-4 py-8 text-center text-sm text-slate-500">{children}</p>;
}

// ---- formats ----------------------------------------------------------------------------------

export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  return `${Math.floor(ms / 3_600_000)} h ago`;
}

export function formatMs(ms: number | null | undefined, digits = 1): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  if (abs >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (abs >= 1_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(abs < 10 ? digits : 0)} ms`;
}

export function formatSignedMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return `${ms > 0 ? '+' : ms < 0 ? '−' : '±'}${formatMs(Math.abs(ms))}`;
}

export function formatUptime(fromIso: string | undefined, now: number): string {
  if (!fromIso) return '—';
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function formatInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}
