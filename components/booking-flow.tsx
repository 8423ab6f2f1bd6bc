'use client';

import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, useMemo, useRef, useState } from 'react';
import {
  api, ApiError, newIdempotencyKey, seatsInError,
  type DistributedInfo, type Hold, type Seat, type SeatMapData,
} from '@/client/api';
import { errorMessage } from '@/client/error-messages';
import { compareSeatIds } from '@/client/format';
import { useAuth } from './auth-provider';
import { BookingPanel } from './booking-panel';
import { MAX_SEATS, type Phase } from './booking-phase';
import { Confirmation } from './confirmation';
import { isSelectable, SeatLegend, SeatMap } from './seat-map';
import { Notice, Spinner, ErrorNotice } from './ui';
import { useLiveSeatMap, type LiveState } from './use-live-seat-map';

type Message = { tone: 'error' | 'warning' | 'info' | 'success'; text: string; login?: boolean };

function list(ids: string[]): string {
  return ids.length <= 1 ? ids.join('') : `${ids.slice(0, -1).join(', ')} and ${ids.at(-1)}`;
}

/** When a hold ends, measured on our own clock: the server's TTL, not its wall clock (they may disagree). */
function holdDeadline(hold: Hold, stamp: DistributedInfo | undefined): number {
  const ttlMs = Date.parse(hold.expiresAt) - Date.parse(stamp?.timestamp ?? '');
  return Date.now() + (Number.isFinite(ttlMs) && ttlMs > 0 ? ttlMs : Date.parse(hold.expiresAt) - Date.now());
}

/** Seat selection → hold (with countdown) → confirm → confirmation, for one showtime. */
type BookingFlowProps = {
  showtimeId: number;
  initialSeats: string[];
  /** The seat map the server rendered the page with. */
  initialMap?: SeatMapData;
  onBooked?: () => void;
};

export function BookingFlow({ showtimeId, initialSeats, initialMap, onBooked }: BookingFlowProps) {
  const auth = useAuth();
  const router = useRouter();
  const pathname = usePathname();
  const viewer = auth.status === 'loading' ? undefined : auth.user?.id ?? null;
  const liveSeatMap = useLiveSeatMap(showtimeId, viewer, initialMap);
  const { map, error, live, flash, reads, refresh } = liveSeatMap;
  const [selected, setSelected] = useState<string[]>(() => initialSeats.slice(0, MAX_SEATS));
  const [phase, setPhase] = useState<Phase>({ kind: 'selecting' });
  const [message, setMessage] = useState<Message | null>(null);
  const confirmInFlight = useRef(false);

  const seatsById = useMemo(() => new Map((map?.seats ?? []).map((s) => [s.id, s])), [map]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);

  // Someone else took a seat we had selected (seen live): drop it, keep the rest, say so.
  useEffect(() => {
    if (phase.kind !== 'selecting' || !map) return;
    const lost = selected.filter((id) => {
      const seat = seatsById.get(id);
      return !seat || !isSelectable(seat);
    });
    if (!lost.length) return;
    const kept = selected.filter((id) => !lost.includes(id));
    setSelected(kept);
    setMessage({
      tone: 'warning',
      text: `${lost.length === 1 ? 'Seat' : 'Seats'} ${list(lost)} ${lost.length === 1 ? 'was' : 'were'} just taken by someone else.` +
        (kept.length ? ` The rest of your selection (${list(kept)}) is still yours to hold.` : ' Please choose other seats.'),
    });
  }, [map, phase.kind, selected, seatsById]);

  function toggle(seat: Seat) {
    if (phase.kind !== 'selecting') return;
    if (selectedSet.has(seat.id)) {
      setSelected(selected.filter((id) => id !== seat.id));
    } else if (selected.length >= MAX_SEATS) {
      setMessage({ tone: 'info', text: `You can book up to ${MAX_SEATS} seats at once.` });
    } else {
      setSelected([...selected, seat.id].sort(compareSeatIds));
      if (message?.tone === 'info') setMessage(null);
    }
  }

  /** A failed hold or booking: seats someone else took leave the selection; the rest stay. */
  function failed(err: unknown) {
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
      auth.sessionExpired();
      setMessage({ tone: 'error', text: 'Your session has ended. Please log in again to hold seats.', login: true });
      return;
    }
    if (err instanceof ApiError && err.code === 'SEATS_UNAVAILABLE') {
      const lost = seatsInError(err);
      const kept = selected.filter((id) => !lost.includes(id));
      if (lost.length) setSelected(kept);
      const what = lost.length ? `${lost.length === 1 ? 'seat' : 'seats'} ${list(lost)} ${lost.length === 1 ? 'was' : 'were'}` : 'some of your seats were';
      setMessage({
        tone: 'warning',
        text: `Sorry — ${what} just taken by someone else.` +
          (kept.length && lost.length ? ` We kept the rest of your selection: ${list(kept)}.` : ' Please choose other seats.'),
      });
      void refresh();
      return;
    }
    setMessage({ tone: 'error', text: errorMessage(err) });
  }

  function goToLogin() {
    const here = `${pathname}?showtime=${showtimeId}${selected.length ? `&seats=${selected.join(',')}` : ''}`;
    router.push(`/login?next=${encodeURIComponent(here)}`);
  }

  async function hold() {
    if (auth.status !== 'user') return goToLogin();
    if (phase.kind !== 'selecting' || !selected.length) return;
    setPhase({ kind: 'holding' });
    setMessage(null);
    try {
      const res = await api('POST /api/holds', { body: { showtimeId, seats: selected } });
      setSelected(res.hold.seats.slice().sort(compareSeatIds));
      const deadline = holdDeadline(res.hold, res.distributedInfo);
      setPhase({ kind: 'held', hold: res.hold, deadline, durationMs: Math.max(1, deadline - Date.now()), idempotencyKey: newIdempotencyKey(), confirming: false });
    } catch (err) {
      setPhase({ kind: 'selecting' });
      failed(err);
    }
  }

  async function confirm() {
    if (phase.kind !== 'held' || confirmInFlight.current) return;
    confirmInFlight.current = true;
    setPhase({ ...phase, confirming: true });
    setMessage(null);
    try {
      // The same key for every attempt of this checkout: a repeat replays the booking, never makes a second.
      const res = await api('POST /api/bookings', {
        body: { holdId: phase.hold.id }, headers: { 'Idempotency-Key': phase.idempotencyKey },
      });
      setPhase({ kind: 'booked', booking: res.booking });
      setSelected([]);
      void refresh();
      onBooked?.();
    } catch (err) {
      const holdGone = err instanceof ApiError && ['SEATS_UNAVAILABLE', 'HOLD_NOT_ACTIVE', 'HOLD_NOT_FOUND', 'SHOWTIME_STARTED'].includes(err.code);
      // Otherwise (network, busy database) the hold stands and confirming again is safe.
      setPhase(holdGone ? { kind: 'selecting' } : { ...phase, confirming: false });
      failed(err);
    } finally {
      confirmInFlight.current = false;
    }
  }

  async function release() {
    if (phase.kind !== 'held') return;
    const holdId = phase.hold.id;
    setPhase({ kind: 'selecting' });
    setMessage(null);
    try {
      await api('DELETE /api/holds/:id', { params: { id: holdId } });
    } catch (err) {
      // The seats stay selected; a new hold takes over seats this user still holds.
      if (!(err instanceof ApiError && err.code === 'HOLD_NOT_FOUND')) setMessage({ tone: 'error', text: errorMessage(err) });
    }
    void refresh();
  }

  if (phase.kind === 'booked') {
    return <Confirmation booking={phase.booking} onBookMore={() => setPhase({ kind: 'selecting' })} />;
  }
  if (!map) {
    return error ? <ErrorNotice error={error} onRetry={() => void refresh()} /> : <div className="py-16 text-center text-slate-400"><Spinner label="Loading seats…" /></div>;
  }

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_20rem]">
      <div className="min-w-0 rounded-2xl border border-slate-800 bg-slate-900/50 p-3 sm:p-6">
        <div className="mb-4 flex flex-wrap items-center justify-between gap-2 text-sm">
          <p className="text-slate-300">
            <span className="font-semibold text-white">{map.showtime.screenName}</span> · {map.summary.available} of {map.summary.total} seats free
          </p>
          <LiveBadge state={live} reads={reads} />
        </div>
        <SeatMap map={map} selected={selectedSet} onToggle={toggle} flash={flash} locked={phase.kind !== 'selecting'} />
        <SeatLegend categories={map.categories} seats={map.seats} />
      </div>
      <div className="flex flex-col gap-4 lg:sticky lg:top-24 lg:self-start">
        {message && (
          <Notice tone={message.tone} onDismiss={() => setMessage(null)}>
            <p>{message.text}</p>
            {message.login && <Link href={`/login?next=${encodeURIComponent(`${pathname}?showtime=${showtimeId}`)}`} className="font-semibold underline">Log in</Link>}
          </Notice>
        )}
        {error ? <ErrorNotice error={error} onRetry={() => void refresh()} /> : null}
        <BookingPanel
          phase={phase}
          seats={selected.map((id) => seatsById.get(id)).filter((s): s is Seat => s !== undefined)}
          categories={map.categories}
          loggedIn={auth.status === 'user'}
          onRemove={(seat) => toggle(seat)}
          onHold={hold}
          onConfirm={confirm}
          onRelease={release}
        />
      </div>
    </div>
  );
}

function LiveBadge({ state, reads }: { state: LiveState; reads: number }) {
  const styles: Record<LiveState, [string, string]> = {
    live: ['bg-emerald-400', 'Live: seats update as others book'],
    connecting: ['bg-amber-400 animate-pulse', 'Connecting to live updates…'],
    offline: ['bg-rose-500 animate-pulse', 'Live updates interrupted, reconnecting…'],
  };
  const [dot, text] = styles[state];
  return (
    <span className="inline-flex items-center gap-2 text-xs text-slate-400" data-live={state} data-seat-maps={reads} role="status">
      <span className={`size-2 rounded-full ${dot}`} aria-hidden="true" />
      {text}
    </span>
  );
}
