'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { apiFetch, type SeatMapData } from '@/lib/client/api';

/** Changes arriving within this window are fetched together. */
const REFRESH_COALESCE_MS = 120;
/**
 * Seat statuses are read from the replicas, which may apply a change a moment after the database
 * announced it (this browser's session token covers only its own writes): one more look once the
 * changes have settled.
 */
const REFRESH_SETTLE_MS = 1_000;
/** While the live stream is down the map is polled this often. */
const FALLBACK_POLL_MS = 10_000;
/** A stream the server refused (full, or an error) is retried after this long. */
const STREAM_RETRY_MS = 10_000;
/** How long a seat someone else just took stays highlighted. */
const FLASH_MS = 2_000;

export type LiveState = 'connecting' | 'live' | 'offline';

function newlyTaken(before: SeatMapData, after: SeatMapData): Set<string> {
  const was = new Map(before.seats.map((s) => [s.id, s.status]));
  return new Set(
    after.seats.filter((s) => s.status !== 'available' && !s.heldByYou && was.get(s.id) === 'available').map((s) => s.id),
  );
}

/**
 * A showtime's seat map that stays current: fetched once, then refetched whenever the node's
 * server-sent event stream says seats of this showtime changed (on any node). If the stream is
 * down, the map is polled until it is back.
 */
export function useLiveSeatMap(showtimeId: number) {
  const [map, setMap] = useState<SeatMapData | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState<LiveState>('connecting');
  const [flash, setFlash] = useState<ReadonlySet<string>>(new Set());
  const current = useRef<SeatMapData | null>(null);
  const sequence = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const settle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const flashTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const liveRef = useRef<LiveState>('connecting');

  const refresh = useCallback(async () => {
    const mine = ++sequence.current;
    try {
      const next = await apiFetch<SeatMapData>(`/api/showtimes/${showtimeId}`);
      if (mine !== sequence.current) return; // a newer answer is on its way
      const before = current.current;
      current.current = next;
      setMap(next);
      setError(null);
      const taken = before ? newlyTaken(before, next) : new Set<string>();
      if (taken.size) {
        setFlash(taken);
        clearTimeout(flashTimer.current);
        flashTimer.current = setTimeout(() => setFlash(new Set()), FLASH_MS);
      }
    } catch (err) {
      if (mine === sequence.current) setError(err);
    }
  }, [showtimeId]);

  /** At most one refetch per window however many changes arrive in it, and one after the last. */
  const refreshSoon = useCallback(() => {
    clearTimeout(settle.current);
    settle.current = setTimeout(() => void refresh(), REFRESH_SETTLE_MS);
    if (pending.current !== undefined) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      void refresh();
    }, REFRESH_COALESCE_MS);
  }, [refresh]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const setState = (state: LiveState) => {
      liveRef.current = state;
      setLive(state);
    };
    const open = () => {
      source = new EventSource(`/api/showtimes/${showtimeId}/events`);
      // Subscribed: anything that changed before the subscription is picked up by one refetch.
      source.addEventListener('hello', () => {
        setState('live');
        refreshSoon();
      });
      source.addEventListener('seats', refreshSoon);
      source.onerror = () => {
        setState('offline');
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          retry = setTimeout(open, STREAM_RETRY_MS);
        } // otherwise the browser reconnects by itself
      };
    };
    open();
    const poll = setInterval(() => {
      if (liveRef.current !== 'live') void refresh();
    }, FALLBACK_POLL_MS);
    return () => {
      source?.close();
      clearTimeout(retry);
      clearInterval(poll);
      clearTimeout(pending.current);
      pending.current = undefined;
      clearTimeout(settle.current);
      clearTimeout(flashTimer.current);
    };
  }, [showtimeId, refresh, refreshSoon]);

  return { map, error, live, flash, refresh };
}
