import type { Booking } from '@/client/api';
import { formatDateTime, formatMoney } from '@/client/format';
import { DistributedInfoCard } from './distributed-info';
import { Button, ButtonLink } from './ui';

/** The booking just made: what, when, where, how much — and how the cluster processed it. */
export function Confirmation({ booking, onBookMore }: { booking: Booking; onBookMore: () => void }) {
  return (
    <section aria-labelledby="booked-heading" className="mx-auto max-w-2xl overflow-hidden rounded-3xl border border-emerald-500/30 bg-slate-900/80 shadow-2xl shadow-emerald-900/20">
      <div className="bg-gradient-to-br from-emerald-500/20 via-emerald-500/5 to-transparent px-6 pb-6 pt-8 text-center">
        <div className="mx-auto flex size-14 items-center justify-center rounded-full bg-emerald-400 text-3xl font-bold text-slate-950" aria-hidden="true">✓</div>
        <h2 id="booked-heading" className="mt-4 text-2xl font-bold">You’re booked!</h2>
        <p className="mt-1 text-slate-300">
          {booking.movieTitle} · {formatDateTime(booking.startsAt)} · {booking.screenName}
        </p>
      </div>
      <div className="space-y-6 px-6 pb-8">
        <div>
          <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Seats</h3>
          <ul className="mt-2 divide-y divide-slate-800 rounded-xl border border-slate-800">
            {booking.seats.map((s) => (
              <li key={s.id} className="flex justify-between px-4 py-2 text-sm">
                <span><span className="font-semibold">{s.id}</span> <span className="capitalize text-slate-400">· {s.category}</span></span>
                <span className="tabular-nums">{formatMoney(s.priceCents)}</span>
              </li>
            ))}
            <li className="flex justify-between px-4 py-3 font-semibold">
              <span>Total</span>
              <span className="text-lg tabular-nums" data-testid="booking-total">{formatMoney(booking.totalCents)}</span>
            </li>
          </ul>
          <p className="mt-2 text-xs text-slate-500">
            Booking reference <span className="font-mono text-slate-300">{booking.id.slice(0, 8).toUpperCase()}</span>
          </p>
        </div>
        <div className="rounded-2xl border border-slate-800 bg-slate-950/60 p-4">
          <h3 className="mb-3 text-sm font-semibold">How the cluster processed it</h3>
          <DistributedInfoCard info={booking.distributedInfo} />
        </div>
        <div className="flex flex-col gap-2 sm:flex-row">
          <ButtonLink href="/bookings" className="flex-1 py-3">My bookings</ButtonLink>
          <Button variant="secondary" onClick={onBookMore} className="flex-1 py-3">Book more seats</Button>
        </div>
      </div>
    </section>
  );
}
