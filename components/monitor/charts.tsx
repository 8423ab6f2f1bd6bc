'use client';

import { useEffect, useRef, useState } from 'react';
import { WINDOW_MS } from './history';
import { nodeColor } from './parts';

/** Hand-rolled SVG charts, drawn at the element's real width so text stays legible on a phone. */

export function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver((entries) => setWidth(Math.floor(entries[0]!.contentRect.width)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

export type Series = { id: string; label: string; color: string; points: { x: number; y: number }[]; dashed?: boolean };

const M = { left: 52, right: 12, top: 10, bottom: 24 };

export function LineChart({ series, height = 180, xDomain, yFormat = (v) => String(v), xFormat = (v) => String(v), xTicks, label, empty = 'No data yet', testId, zeroLine = true }: {
  series: Series[];
  height?: number;
  xDomain?: [number, number];
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
  xTicks?: number[];
  label: string;
  empty?: string;
  testId?: string;
  zeroLine?: boolean;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const all = series.flatMap((s) => s.points);
  const plotW = Math.max(10, width - M.left - M.right);
  const plotH = height - M.top - M.bottom;

  let content: React.ReactNode = null;
  if (width > 0 && all.length > 0) {
    const [x0, x1] = xDomain ?? [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
    let y0 = Math.min(...all.map((p) => p.y));
    let y1 = Math.max(...all.map((p) => p.y));
    if (zeroLine) {
      y0 = Math.min(0, y0);
      y1 = Math.max(0, y1);
    }
    if (y1 - y0 < 1e-9) {
      y1 += 1;
      if (!zeroLine) y0 -= 1;
    }
    const pad = (y1 - y0) * 0.08;
    y1 += pad;
    if (y0 < 0) y0 -= pad;
    const sx = (x: number) => M.left + (x1 === x0 ? plotW / 2 : ((x - x0) / (x1 - x0)) * plotW);
    const sy = (y: number) => M.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
    const yTicks = niceTicks(y0, y1, height < 150 ? 3 : 4);
    const xt = xTicks ?? niceTicks(x0, x1, Math.max(2, Math.floor(plotW / 90)));
    content = (
      <svg width={width} height={height} role="img" aria-label={label} className="absolute left-0 top-0 overflow-visible">
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line x1={M.left} x2={M.left + plotW} y1={sy(t)} y2={sy(t)} stroke={t === 0 ? '#475569' : '#1e293b'} strokeWidth={1} />
            <text x={M.left - 6} y={sy(t)} dy="0.32em" textAnchor="end" className="fill-slate-500 text-[10px] tabular-nums">{yFormat(t)}</text>
          </g>
        ))}
        {xt.filter((t) => t >= x0 && t <= x1).map((t) => (
          <text key={`x${t}`} x={sx(t)} y={height - 6} textAnchor="middle" className="fill-slate-500 text-[10px] tabular-nums">{xFormat(t)}</text>
        ))}
        {series.map((s) => {
          if (!s.points.length) return null;
          const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
          return (
            <g key={s.id}>
              <path d={d} fill="none" stroke={s.color} strokeWidth={2} strokeDasharray={s.dashed ? '5 4' : undefined} strokeLinejoin="round" strokeLinecap="round" opacity={s.dashed ? 0.75 : 1} />
              {s.points.length <= 40 && s.points.map((p, i) => (
                <circle key={i} cx={sx(p.x)} cy={sy(p.y)} r={s.dashed ? 2 : 2.5} fill={s.dashed ? '#0f172a' : s.color} stroke={s.color} strokeWidth={1.5} />
              ))}
            </g>
          );
        })}
      </svg>
    );
  }
  return (
    // The SVG is absolutely placed: it never widens its container, so the chart follows the layout when it shrinks.
    <div ref={ref} className="relative w-full min-w-0" style={{ height }} data-testid={testId}>
      {content ?? (width > 0 ? <div className="flex items-center justify-center text-sm text-slate-500" style={{ height }}>{empty}</div> : null)}
    </div>
  );
}

export function Legend({ items }: { items: { label: string; color: string; dashed?: boolean }[] }) {
  return (
    <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-400">
      {items.map((item) => (
        <li key={item.label} className="inline-flex items-center gap-1.5">
          <svg width="18" height="8" aria-hidden="true">
            <line x1="1" x2="17" y1="4" y2="4" stroke={item.color} strokeWidth="2.5" strokeDasharray={item.dashed ? '4 3' : undefined} strokeLinecap="round" />
          </svg>
          {item.label}
        </li>
      ))}
    </ul>
  );
}

/** Horizontal bars: one row per item, value shown beside. */
export function Bars({ items, max, format = (v) => String(v), label, testId }: {
  items: { id: string; label: React.ReactNode; value: number; color: string; note?: React.ReactNode }[];
  max?: number;
  format?: (v: number) => string;
  label: string;
  testId?: string;
}) {
  const top = max ?? Math.max(1e-9, ...items.map((i) => i.value));
  return (
    <ul className="flex flex-col gap-2.5" aria-label={label} data-testid={testId}>
      {items.map((item) => (
        <li key={item.id} className="grid grid-cols-[5.5rem_1fr_auto] items-center gap-3 text-sm" data-node={item.id}>
          <span className="truncate">{item.label}</span>
          <span className="h-3 overflow-hidden rounded-full bg-slate-800">
            <span
              className="block h-full rounded-full transition-[width] duration-500 ease-out"
              style={{ width: `${Math.max(0, Math.min(100, (item.value / top) * 100))}%`, background: item.color }}
            />
          </span>
          <span className="min-w-[4.5rem] text-right font-semibold tabular-nums text-slate-100">
            {format(item.value)}
            {item.note && <span className="block text-[11px] font-normal text-slate-500">{item.note}</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** One line per node, from a history of points per node id. */
export function nodeSeries(ids: readonly string[], points: ReadonlyMap<string, Series['points']>): Series[] {
  return ids.map((id) => ({ id, label: id, color: nodeColor(id), points: points.get(id) ?? [] }));
}

const secondsAgo = (x: number, now: number) => Math.round((x - now) / 1000);

/** The last 90 s (the monitor's history window) up to `now`, with its legend. */
export function RecentChart({ series, now, label, height, yFormat, zeroLine }: {
  series: Series[]; now: number; label: string;
  height?: number; yFormat?: (v: number) => string; zeroLine?: boolean;
}) {
  return (
    <>
      <LineChart
        series={series}
        label={label}
        {...(height !== undefined && { height })}
        {...(zeroLine !== undefined && { zeroLine })}
        xDomain={[now - WINDOW_MS, now]}
        xTicks={[now - 90_000, now - 60_000, now - 30_000, now]}
        xFormat={(x) => (secondsAgo(x, now) === 0 ? 'now' : `${secondsAgo(x, now)} s`)}
        yFormat={yFormat ?? ((v) => v.toFixed(v < 10 && v % 1 ? 1 : 0))}
        empty="Collecting samples…"
      />
      <Legend items={series.map((s) => ({ label: s.label, color: s.color }))} />
    </>
  );
}
