import type { DistributedInfo } from '@/client/api';

/** The spec's distributed metadata of a booking: which node processed it, and its clocks. */
export function DistributedInfoCard({ info, compact = false }: { info: DistributedInfo; compact?: boolean }) {
  const vector = Object.entries(info.vectorClock).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  return (
    <dl className={`grid gap-3 text-sm ${compact ? 'grid-cols-2 sm:grid-cols-4' : 'grid-cols-2'}`} data-testid="distributed-info">
      <div>
        <dt className="text-xs uppercase tracking-wide text-slate-500">Processed by</dt>
        <dd className="mt-0.5 font-mono font-semibold text-amber-300">{info.processedBy}</dd>
      </div>
      <div>
        <dt className="text-xs uppercase tracking-wide text-slate-500">Lamport clock</dt>
        <dd className="mt-0.5 font-mono font-semibold">{info.logicalClock}</dd>
      </div>
      <div className={compact ? 'col-span-2 sm:col-span-1' : 'col-span-2'}>
        <dt className="text-xs uppercase tracking-wide text-slate-500">Vector clock</dt>
        <dd className="mt-1 flex flex-wrap gap-1.5 font-mono text-xs">
          {vector.length ? vector.map(([node, n]) => (
            <span key={node} className="rounded-md bg-slate-800 px-2 py-0.5">
              {node}: <span className="font-semibold text-white">{n}</span>
            </span>
          )) : <span className="text-slate-500">{'{}'}</span>}
        </dd>
      </div>
      <div className={compact ? 'col-span-2 sm:col-span-1' : 'col-span-2'}>
        <dt className="text-xs uppercase tracking-wide text-slate-500">Timestamp</dt>
        <dd className="mt-0.5">
          <time dateTime={info.timestamp} className="font-mono text-xs">{info.timestamp}</time>
        </dd>
      </div>
    </dl>
  );
}
