'use client';

import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, type Booking } from '@/client/api';
import { errorMessage } from '@/client/error-messages';
import { formatDateTime, formatMoney } from '@/client/format';
import { useAuth } from './auth-provider';
import { ConfirmDialog } from './confirm-dialog';
import { DistributedInfoCard } from './distributed-info';
import { Button, ButtonLink, ErrorNotice, Notice, PageHeading, Spinner } from './ui';
import { useNow } from './use-now';

/** My bookings: upcoming, past and cancelled; an upcoming one can be cancelled after a confirmation. */
export function BookingsView() {
  const auth = useAuth();
  const [bookings, setBookings] = useState<Booking[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState<Booking | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<{ tone: 'success' | 'error'; text: string } | null>(null);
  const now = useNow(60_000);

  const { sessionExpired } = auth;
  const load = useCallback(() => {
    setError(null);
    api('GET /api/bookings').then(
      (body) => setBookings(body.bookings),
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') sessionExpired();
        else setError(err);
      },
    );
  }, [sessionExpired]);

  useEffect(() => {
    if (auth.status === 'user') load();
  }, [auth.status, load]);

  async function cancel() {
    if (!cancelling) return;
    setBusy(true);
    try {
      const { booking } = await api('POST /api/bookings/:id/cancel', { params: { id: cancelling.id } });
      setBookings((list) => list?.map((b) => (b.id === booking.id ? booking : b)) ?? null);
      setNotice({ tone: 'success', text: `Cancelled your booking for ${booking.movieTitle}. Seats ${booking.seats.map((s) => s.id).join(', ')} are free again.` });
    } catch (err) {
      setNotice({ tone: 'error', text: errorMessage(err) });
    } finally {
      setBusy(false);
      setCancelling(null);
    }
  }

  if (auth.status === 'loading') return <div className="py-24 text-center text-slate-400"><Spinner label="Loading…" /></div>;
  if (auth.status === 'anonymous') {
    return (
      <div className="mx-auto max-w-md py-16 text-center">
        <h1 className="text-3xl font-bold">My bookings</h1>
        <p className="mt-3 text-slate-400">Log in to see and manage your bookings.</p>
        <div className="mt-6 flex justify-center gap-3">
          <ButtonLink href="/login?next=%2Fbookings">Log in</ButtonLink>
          <ButtonLink href="/login?mode=signup&next=%2Fbookings" variant="secondary">Create account</ButtonLink>
        </div>
      </div>
    );
  }

  const upcoming = (bookings ?? []).filter((b) => b.status === 'confirmed' && Date.parse(b.startsAt) > now).reverse();
  const past = (bookings ?? []).filter((b) => b.status === 'confirmed' && Date.parse(b.startsAt) <= now);
  const cancelled = (bookings ?? []).filter((b) => b.status === 'cancelled');

  return (
    <div>
      <PageHeading title="My bookings" subtitle={`Signed in as ${auth.user.email}`} />
      {notice && <Notice tone={notice.tone} onDismiss={() => setNotice(null)} className="mb-6">{notice.text}</Notice>}
      {error ? <ErrorNotice error={error} onRetry={load} className="mb-6" /> : null}
      {!bookings && !error && <div className="py-16 text-center text-slate-400"><Spinner label="Loading your bookings…" /></div>}
      {bookings && bookings.length === 0 && (
        <div className="rounded-2xl border border-dashed border-slate-700 p-10 text-center">
          <p className="text-slate-300">No bookings yet.</p>
          <ButtonLink href="/" className="mt-4">Find a movie</ButtonLink>
        </div>
      )}
      {bookings && bookings.length > 0 && (
        <div className="flex flex-col gap-10">
          <BookingSection title="Upcoming" bookings={upcoming} empty="Nothing coming up." onCancel={setCancelling} />
          <BookingSection title="Past" bookings={past} empty="No past bookings." />
          {cancelled.length > 0 && <BookingSection title="Cancelled" bookings={cancelled} />}
        </div>
      )}
      <ConfirmDialog
        open={cancelling !== null}
        title="Cancel this booking?"
        confirmLabel="Cancel booking"
        busy={busy}
        onConfirm={cancel}
        onCancel={() => setCancelling(null)}
      >
        {cancelling && (
          <p>
            {cancelling.movieTitle}, {formatDateTime(cancelling.startsAt)} — seats {cancelling.seats.map((s) => s.id).join(', ')} ({formatMoney(cancelling.totalCents)}).
            The seats are released at once; this cannot be undone.
          </p>
        )}
      </ConfirmDialog>
    </div>
  );
}

function BookingSection({ title, bookings, empty, onCancel }: { title: string; bookings: Booking[]; empty?: string; onCancel?: (b: Booking) => void }) {
  const id = `section-${title.toLowerCase()}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id} className="mb-4 flex items-center gap-2 text-xl font-semibold">
        {title} <span className="rounded-full bg-slate-800 px-2 py-0.5 text-xs text-slate-300">{bookings.length}</span>
      </h2>
      {bookings.length === 0 ? (
        <p className="text-sm text-slate-500">{empty}</p>
      ) : (
        <ul className="flex flex-col gap-4">
          {bookings.map((b) => <BookingCard key={b.id} booking={b} onCancel={onCancel} />)}
        </ul>
      )}
    </section>
  );
}

function BookingCard({ booking, onCancel }: { booking: Booking; onCancel?: (b: Booking) => void }) {
  const [open, setOpen] = useState(false);
  const starts = new Date(booking.startsAt);
  const cancelled = booking.status === 'cancelled';
  return (
    <li data-booking={booking.id} className={`flex overflow-hidden rounded-2xl border bg-slate-900/70 ${cancelled ? 'border-slate-800 opacity-70' : 'border-slate-700'}`}>
      <div className={`flex w-20 shrink-0 flex-col items-center justify-center border-r border-dashed border-slate-700 sm:w-24 ${cancelled ? 'bg-slate-800/40' : 'bg-amber-400/10'}`} aria-hidden="true">
        <span className="text-xs font-semibold uppercase text-amber-300">{starts.toLocaleDateString(undefined, { month: 'short' })}</span>
        <span className="text-3xl font-bold">{starts.getDate()}</span>
        <span className="text-xs text-slate-400">{starts.toLocaleDateString(undefined, { weekday: 'short' })}</span>
      </div>
      <div className="min-w-0 flex-1 p-4">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0">
            <h3 className="font-semibold text-white">{booking.movieTitle}</h3>
            <p className="text-sm text-slate-400">{formatDateTime(booking.startsAt)} · {booking.screenName}</p>
          </div>
          <div className="text-right">
            <p className="font-bold tabular-nums">{formatMoney(booking.totalCents)}</p>
            {cancelled && <span className="rounded bg-rose-500/15 px-1.5 py-0.5 text-xs font-semibold text-rose-300">Cancelled</span>}
          </div>
        </div>
        <ul className="mt-3 flex flex-wrap gap-1.5" aria-label="Seats">
          {booking.seats.map((s) => <li key={s.id} className="rounded-md bg-slate-800 px-2 py-0.5 text-xs font-semibold">{s.id}</li>)}
        </ul>
        <div className="mt-3 flex flex-wrap items-center gap-2">
          <button type="button" onClick={() => setOpen(!open)} aria-expanded={open} className="text-xs font-medium text-slate-400 underline-offset-2 hover:text-white hover:underline">
            {open ? 'Hide' : 'Show'} distributed info
          </button>
          {onCancel && !cancelled && (
            <Button variant="danger-ghost" onClick={() => onCancel(booking)} className="ml-auto px-3 py-1">
              Cancel booking
            </Button>
          )}
        </div>
        {open && (
          <div className="mt-3 rounded-xl border border-slate-800 bg-slate-950/60 p-3">
            <DistributedInfoCard info={booking.distributedInfo} compact />
          </div>
        )}
      </div>
    </li>
  );
}
