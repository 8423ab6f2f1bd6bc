'use client';

import { useEffect, useId, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import type { Seat, SeatCategory, SeatMapData } from '@/client/api';
import { formatMoney } from '@/client/format';

/**
 * The screen's real layout: rows front (at the screen) to back, aisles where the layout puts
 * them, seats coloured by category, wheelchair spaces marked. One tab stop for the whole map;
 * arrow keys move between seats (Home/End: ends of the row), Space or Enter toggles a seat.
 */

/** How a seat looks and reads to this visitor. */
export type SeatView = 'available' | 'selected' | 'mine' | 'held' | 'booked';

/** Seats this visitor may select: free ones, and ones they hold themself (a new hold takes them over). */
export function isSelectable(seat: Seat): boolean {
  return seat.status === 'available' || (seat.status === 'held' && seat.heldByYou === true);
}

function seatView(seat: Seat, selected: ReadonlySet<string>): SeatView {
  if (selected.has(seat.id) && isSelectable(seat)) return 'selected';
  if (seat.status === 'booked') return 'booked';
  if (seat.status === 'held') return seat.heldByYou ? 'mine' : 'held';
  return 'available';
}

const VIEW_WORDS: Record<SeatView, string> = {
  available: 'available',
  selected: 'selected',
  mine: 'held by you',
  held: 'held by someone else',
  booked: 'taken',
};

export function seatLabel(seat: Seat, category: SeatCategory | undefined, view: SeatView): string {
  return [
    `Row ${seat.row} seat ${seat.number}`,
    category?.name ?? seat.category,
    formatMoney(seat.priceCents),
    ...(seat.wheelchair ? ['wheelchair space'] : []),
    VIEW_WORDS[view],
  ].join(', ');
}

/** Width of an aisle, in seats. */
const AISLE_UNITS = 0.6;

type RowLayout = { label: string; seats: Seat[]; aisleAfter: Set<number>; units: number; seatX: Map<string, number> };

function layoutRows(map: SeatMapData): { rows: RowLayout[]; units: number } {
  const byRow = new Map<string, Seat[]>();
  for (const seat of map.seats) {
    const list = byRow.get(seat.row) ?? [];
    list.push(seat);
    byRow.set(seat.row, list);
  }
  const rows = map.rows.map((r) => {
    const seats = (byRow.get(r.label) ?? []).sort((a, b) => a.number - b.number);
    const aisleAfter = new Set(r.aisleAfter.filter((n) => n < seats.length));
    const seatX = new Map<string, number>();
    let x = 0;
    for (const seat of seats) {
      seatX.set(seat.id, x + 0.5);
      x += 1 + (aisleAfter.has(seat.number) ? AISLE_UNITS : 0);
    }
    return { label: r.label, seats, aisleAfter, units: x, seatX };
  });
  const units = Math.max(1, ...rows.map((r) => r.units));
  // Rows are centred: shift each seat's position by half the row's shortfall, for up/down moves.
  for (const row of rows) {
    const shift = (units - row.units) / 2;
    for (const [id, x] of row.seatX) row.seatX.set(id, x + shift);
  }
  return { rows, units };
}

type SeatMapProps = {
  map: SeatMapData;
  selected: ReadonlySet<string>;
  onToggle: (seat: Seat) => void;
  /** Seats just taken by someone else: briefly highlighted. */
  flash?: ReadonlySet<string>;
  /** While a hold or booking is under way the selection cannot change. */
  locked?: boolean;
};

export function SeatMap({ map, selected, onToggle, flash, locked = false }: SeatMapProps) {
  const { rows, units } = useMemo(() => layoutRows(map), [map]);
  const categories = useMemo(() => new Map(map.categories.map((c) => [c.code, c])), [map.categories]);
  const seatsById = useMemo(() => new Map(map.seats.map((s) => [s.id, s])), [map.seats]);
  const [focusId, setFocusId] = useState<string | null>(null);
  const container = useRef<HTMLDivElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const helpId = useId();
  // A hall wider than the screen starts scrolled to its middle.
  useEffect(() => {
    const el = scroller.current;
    if (el && el.scrollWidth > el.clientWidth) el.scrollLeft = (el.scrollWidth - el.clientWidth) / 2;
  }, [units]);
  const tabStop = focusId && seatsById.has(focusId) ? focusId : (map.seats.find(isSelectable) ?? map.seats[0])?.id;

  function move(fromId: string, key: string): string | undefined {
    const rowIndex = rows.findIndex((r) => r.seatX.has(fromId));
    const row = rows[rowIndex];
    if (!row) return undefined;
    const i = row.seats.findIndex((s) => s.id === fromId);
    switch (key) {
      case 'ArrowLeft': return row.seats[i - 1]?.id;
      case 'ArrowRight': return row.seats[i + 1]?.id;
      case 'Home': return row.seats[0]?.id;
      case 'End': return row.seats.at(-1)?.id;
      case 'ArrowUp':
      case 'ArrowDown': {
        const target = rows[rowIndex + (key === 'ArrowUp' ? -1 : 1)];
        if (!target) return undefined;
        const x = row.seatX.get(fromId)!;
        let best: string | undefined;
        let bestDistance = Infinity;
        for (const [id, tx] of target.seatX) {
          if (Math.abs(tx - x) < bestDistance) [best, bestDistance] = [id, Math.abs(tx - x)];
        }
        return best;
      }
      default: return undefined;
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    const from = (e.target as HTMLElement).dataset.seat;
    if (!from) return;
    const to = move(from, e.key);
    if (!to) return;
    e.preventDefault();
    setFocusId(to);
    container.current?.querySelector<HTMLButtonElement>(`[data-seat="${to}"]`)?.focus();
  }

  return (
    <div className="@container">
      <p id={helpId} className="sr-only">
        Seat map of {map.showtime.screenName}, screen at the front. Use the arrow keys to move between seats and Space or Enter to select a seat.
      </p>
      <Screen />
      <div ref={scroller} className="overflow-x-auto p-1">
        <div
          ref={container}
          role="group"
          aria-label={`Seats in ${map.showtime.screenName}`}
          aria-describedby={helpId}
          onKeyDown={onKeyDown}
          className="seat-map mx-auto flex w-fit flex-col gap-[calc(var(--seat)*0.18)] pb-2"
          style={{ '--units': units } as CSSProperties}
        >
          {rows.map((row) => (
            <div key={row.label} role="group" aria-label={`Row ${row.label}`} className="flex items-center justify-center">
              <RowLabel label={row.label} />
              <div className="flex shrink-0 justify-center" style={{ width: `calc(var(--seat) * ${units})` }}>
                {row.seats.map((seat) => (
                  <SeatButton
                    key={seat.id}
                    seat={seat}
                    category={categories.get(seat.category)}
                    view={seatView(seat, selected)}
                    tabbable={seat.id === tabStop}
                    flash={flash?.has(seat.id) ?? false}
                    locked={locked}
                    aisleAfter={row.aisleAfter.has(seat.number)}
                    onFocus={() => setFocusId(seat.id)}
                    onToggle={onToggle}
                  />
                ))}
              </div>
              <RowLabel label={row.label} />
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}

function RowLabel({ label }: { label: string }) {
  return (
    <span aria-hidden="true" className="w-6 shrink-0 text-center text-[10px] font-semibold text-slate-500 sm:text-xs">
      {label}
    </span>
  );
}

function Screen() {
  return (
    <div className="mx-auto mb-6 max-w-xl px-6" aria-hidden="true">
      <svg viewBox="0 0 400 40" className="w-full">
        <defs>
          <linearGradient id="screen-glow" x1="0" y1="0" x2="0" y2="1">
            <stop offset="0" stopColor="#fbbf24" stopOpacity="0.35" />
            <stop offset="1" stopColor="#fbbf24" stopOpacity="0" />
          </linearGradient>
        </defs>
        <path d="M10 14 Q200 -6 390 14 L370 40 Q200 22 30 40 Z" fill="url(#screen-glow)" />
        <path d="M10 14 Q200 -6 390 14" fill="none" stroke="#fcd34d" strokeWidth="3" strokeLinecap="round" />
      </svg>
      <p className="-mt-3 text-center text-[10px] font-semibold uppercase tracking-[0.4em] text-slate-500">Screen</p>
    </div>
  );
}

const VIEW_CLASSES: Record<SeatView, string> = {
  available: 'text-white hover:brightness-125 hover:-translate-y-px cursor-pointer',
  selected: 'bg-white text-slate-950 shadow-[0_0_0_2px_rgb(251_191_36)] cursor-pointer',
  mine: 'text-white cursor-pointer ring-2 ring-inset ring-white/80',
  held: 'seat-held bg-slate-700/60 text-slate-400 cursor-not-allowed',
  booked: 'bg-slate-800 text-slate-600 cursor-not-allowed',
};

type SeatButtonProps = {
  seat: Seat;
  category: SeatCategory | undefined;
  view: SeatView;
  tabbable: boolean;
  flash: boolean;
  locked: boolean;
  aisleAfter: boolean;
  onFocus: () => void;
  onToggle: (seat: Seat) => void;
};

function SeatButton({ seat, category, view, tabbable, flash, locked, aisleAfter, onFocus, onToggle }: SeatButtonProps) {
  const selectable = isSelectable(seat);
  const coloured = view === 'available' || view === 'mine';
  return (
    <span className="flex shrink-0 p-[calc(var(--seat)*0.08)]" style={{ width: 'var(--seat)', height: 'var(--seat)', marginRight: aisleAfter ? `calc(var(--seat) * ${AISLE_UNITS})` : undefined }}>
      <button
        type="button"
        data-seat={seat.id}
        data-status={view}
        tabIndex={tabbable ? 0 : -1}
        aria-label={seatLabel(seat, category, view)}
        aria-pressed={view === 'selected'}
        aria-disabled={!selectable || locked || undefined}
        onFocus={onFocus}
        onClick={() => {
          if (selectable && !locked) onToggle(seat);
        }}
        className={`relative flex size-full items-center justify-center rounded-t-[40%] rounded-b-[18%] text-[calc(var(--seat)*0.46)] font-bold leading-none transition focus-visible:z-10 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-300 ${VIEW_CLASSES[view]} ${flash ? 'seat-flash' : ''}`}
        style={coloured ? { backgroundColor: category?.color ?? '#64748b' } : undefined}
        title={`${seat.id} · ${category?.name ?? seat.category} · ${formatMoney(seat.priceCents)}`}
      >
        <span aria-hidden="true">{view === 'booked' ? '×' : view === 'selected' ? '✓' : seat.wheelchair ? '♿' : ''}</span>
      </button>
    </span>
  );
}

export function SeatLegend({ categories, seats }: { categories: SeatCategory[]; seats: Seat[] }) {
  const hasWheelchair = seats.some((s) => s.wheelchair);
  return (
    <div className="mt-6 flex flex-col gap-3 text-xs text-slate-300 sm:text-sm">
      <ul className="flex flex-wrap justify-center gap-x-5 gap-y-2" aria-label="Seat categories and prices">
        {categories.map((c) => (
          <li key={c.code} className="flex items-center gap-2">
            <span className="size-4 rounded-t-md rounded-b-sm" style={{ backgroundColor: c.color }} aria-hidden="true" />
            <span>{c.name}</span>
            <span className="font-semibold text-white">{formatMoney(c.priceCents)}</span>
          </li>
        ))}
      </ul>
      <ul className="flex flex-wrap justify-center gap-x-5 gap-y-2 text-slate-400" aria-label="Seat states">
        <LegendItem className="bg-white text-slate-950 shadow-[0_0_0_2px_rgb(251_191_36)]" mark="✓">Your selection</LegendItem>
        <LegendItem className="seat-held bg-slate-700/60">Held by someone</LegendItem>
        <LegendItem className="bg-slate-800 text-slate-500" mark="×">Taken</LegendItem>
        {hasWheelchair && <LegendItem className="bg-slate-600 text-white" mark="♿">Wheelchair space</LegendItem>}
      </ul>
    </div>
  );
}

function LegendItem({ className, mark, children }: { className: string; mark?: string; children: React.ReactNode }) {
  return (
    <li className="flex items-center gap-2">
      <span className={`flex size-4 items-center justify-center rounded-t-md rounded-b-sm text-[10px] font-bold ${className}`} aria-hidden="true">
        {mark}
      </span>
      {children}
    </li>
  );
}
