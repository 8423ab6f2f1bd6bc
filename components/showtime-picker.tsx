'use client';

import { useMemo, useState } from 'react';
import type { ShowtimeSummary } from '@/client/api';
import { dayKey, formatDay, formatTime } from '@/client/format';
import { useDisplayZone } from './use-display-zone';

/** Showtimes grouped by day: one button per day, then that day's showtimes with the seats left. */
export function ShowtimePicker({ showtimes, selectedId, onSelect }: { showtimes: ShowtimeSummary[]; selectedId: number | null; onSelect: (id: number) => void }) {
  const zone = useDisplayZone();
  const days = useMemo(() => {
    const groups = new Map<string, ShowtimeSummary[]>();
    for (const s of showtimes) {
      const day = dayKey(s.startsAt, zone);
      groups.set(day, [...(groups.get(day) ?? []), s]);
    }
    return [...groups.entries()].map(([key, list]) => ({
      key,
      label: formatDay(list[0]!.startsAt, undefined, zone),
      showtimes: list,
    }));
  }, [showtimes, zone]);
  const selectedDay = days.find((d) => d.showtimes.some((s) => s.id === selectedId))?.key;
  const [chosenDay, setDay] = useState<string | undefined>(undefined);
  const day = days.find((d) => d.key === (chosenDay ?? selectedDay)) ?? days[0];

  if (!days.length) return <p className="rounded-xl border border-dashed border-slate-700 p-6 text-center text-slate-400">No upcoming showtimes for this movie.</p>;

  return (
    <div>
      <div role="group" aria-label="Day" className="-mx-4 flex gap-2 overflow-x-auto px-4 pb-2 sm:mx-0 sm:px-0">
        {days.map((d) => {
          const active = d.key === day?.key;
          return (
            <button
              key={d.key}
              type="button"
              aria-pressed={active}
              onClick={() => setDay(d.key)}
              className={`shrink-0 rounded-xl border px-4 py-2 text-left transition ${active ? 'border-amber-400 bg-amber-400/10 text-white' : 'border-slate-800 bg-slate-900/60 text-slate-300 hover:border-slate-600'}`}
            >
              <span className="block text-sm font-semibold">{d.label}</span>
              <span className="block text-xs text-slate-400">{d.showtimes.length} showing{d.showtimes.length === 1 ? '' : 's'}</span>
            </button>
          );
        })}
      </div>
      <ul className="mt-3 grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4" aria-label={`Showtimes ${day?.label ?? ''}`}>
        {day?.showtimes.map((s) => {
          const active = s.id === selectedId;
          const soldOut = s.seatsLeft === 0;
          const few = s.seatsLeft > 0 && s.seatsLeft <= s.seatsTotal * 0.1;
          return (
            <li key={s.id}>
              <button
                type="button"
                disabled={soldOut}
                aria-pressed={active}
                onClick={() => onSelect(s.id)}
                data-showtime={s.id}
                className={`w-full rounded-xl border p-3 text-left transition disabled:cursor-not-allowed disabled:opacity-50 ${active ? 'border-amber-400 bg-amber-400 text-slate-950' : 'border-slate-800 bg-slate-900/60 hover:border-slate-500'}`}
              >
                <span className="block text-lg font-bold tabular-nums">
                  {formatTime(s.startsAt, zone)}
                </span>
                <span className={`block text-xs ${active ? 'text-slate-800' : 'text-slate-400'}`}>{s.screenName}</span>
                <span className={`mt-1 block text-xs font-semibold ${active ? 'text-slate-900' : soldOut ? 'text-rose-400' : few ? 'text-amber-300' : 'text-emerald-400'}`}>
                  {soldOut ? 'Sold out' : `${s.seatsLeft} seats left`}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
