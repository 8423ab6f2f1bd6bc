'use client';

import type { Seat, SeatCategory } from '@/client/api';
import { formatCountdown, formatMoney } from '@/client/format';
import { MAX_SEATS, type Phase } from './booking-phase';
import { Button } from './ui';
import { useNow } from './use-now';

type Props = {
  phase: Exclude<Phase, { kind: 'booked' }>;
  seats: Seat[];
  categories: SeatCategory[];
  loggedIn: boolean;
  onRemove: (seat: Seat) => void;
  onHold: () => void;
  onConfirm: () => void;
  onRelease: () => void;
};

/** The selection, its total, and the next step: hold, then confirm before the hold runs out. */
export function BookingPanel({ phase, seats, categories, loggedIn, onRemove, onHold, onConfirm, onRelease }: Props) {
  const names = new Map(categories.map((c) => [c.code, c.name]));
  const total = seats.reduce((sum, s) => sum + s.priceCents, 0);
  const editable = phase.kind === 'selecting';

  return (
    <section aria-labelledby="your-seats" className="rounded-2xl border border-slate-800 bg-slate-900/80 p-4 sm:p-5">
      <div className="flex items-baseline justify-between">
        <h2 id="your-seats" className="text-lg font-semibold">Your seats</h2>
        <span className="text-xs text-slate-400">{seats.length} of max {MAX_SEATS}</span>
      </div>

      {seats.length === 0 ? (
        <p className="mt-3 text-sm text-slate-400">Tap seats on the map to choose them — up to {MAX_SEATS} per booking.</p>
      ) : (
        <ul className="mt-3 flex flex-col gap-1.5" aria-label="Selected seats">
          {seats.map((s) => (
            <li key={s.id} className="flex items-center justify-between gap-2 rounded-lg bg-slate-800/60 px-3 py-1.5 text-sm">
              <span>
                <span className="font-semibold text-white">{s.id}</span>
                <span className="text-slate-400"> · {names.get(s.category) ?? s.category}{s.wheelchair ? ' · ♿' : ''}</span>
              </span>
              <span className="flex items-center gap-2">
                <span className="tabular-nums">{formatMoney(s.priceCents)}</span>
                {editable && (
                  <button type="button" onClick={() => onRemove(s)} aria-label={`Remove seat ${s.id}`} className="rounded px-1 text-slate-400 hover:bg-slate-700 hover:text-white">
                    ×
                  </button>
                )}
              </span>
            </li>
          ))}
        </ul>
      )}

      <div className="mt-4 flex items-baseline justify-between border-t border-slate-800 pt-3">
        <span className="text-sm text-slate-400">Total</span>
        <span className="text-2xl font-bold tabular-nums" data-testid="total">{formatMoney(total)}</span>
      </div>

      <div className="mt-4 flex flex-col gap-2">
        {(phase.kind === 'selecting' || phase.kind === 'holding') && (
          <Button onClick={onHold} disabled={!seats.length || phase.kind === 'holding'} busy={phase.kind === 'holding'} className="w-full py-3">
            {phase.kind === 'holding' ? 'Holding seats…' : !loggedIn ? 'Log in to hold seats' : seats.length ? `Hold ${seats.length} seat${seats.length === 1 ? '' : 's'}` : 'Hold seats'}
          </Button>
        )}
        {phase.kind === 'held' && (
          <>
            <HoldCountdown deadline={phase.deadline} durationMs={phase.durationMs} />
            <Button onClick={onConfirm} disabled={phase.confirming} busy={phase.confirming} className="w-full py-3">
              {phase.confirming ? 'Booking…' : `Confirm booking · ${formatMoney(phase.hold.totalCents)}`}
            </Button>
            <Button variant="ghost" onClick={onRelease} disabled={phase.confirming} className="w-full">
              Change seats
            </Button>
          </>
        )}
      </div>
    </section>
  );
}

function HoldCountdown({ deadline, durationMs }: { deadline: number; durationMs: number }) {
  const now = useNow(1_000);
  const left = deadline - now;
  const expired = left <= 0;
  const fraction = Math.max(0, Math.min(1, left / durationMs));
  return (
    <div className={`rounded-xl border p-3 ${expired ? 'border-rose-500/40 bg-rose-500/10' : left < 60_000 ? 'border-amber-400/40 bg-amber-400/10' : 'border-emerald-500/30 bg-emerald-500/10'}`}>
      {expired ? (
        <p className="text-sm text-rose-100" role="alert">
          Your hold has expired. You can still confirm — it works if nobody took the seats meanwhile.
        </p>
      ) : (
        <p className="flex items-baseline justify-between text-sm" data-testid="hold-countdown">
          <span>Seats held for you</span>
          <span className="font-mono text-xl font-bold tabular-nums" aria-label={`${Math.ceil(left / 60_000)} minutes left`}>{formatCountdown(left)}</span>
        </p>
      )}
      <div className="mt-2 h-1 overflow-hidden rounded-full bg-slate-800" aria-hidden="true">
        <div className="h-full rounded-full bg-current text-emerald-400 transition-[width] duration-1000 ease-linear" style={{ width: `${fraction * 100}%` }} />
      </div>
    </div>
  );
}
