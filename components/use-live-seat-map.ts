'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type SeatMapData } from '@/client/api';
import { applySeatsEvent, mergeSeatMap, newlyTaken, parseSeatsEvent } from '@/client/live-seat-map';

/** Refetches asked for within this window (a burst of resyncs) are one. */
const REFRESH_COALESCE_MS = 120;
/** While the live stream is down the map is polled this often. */
const FALLBACK_POLL_MS = 10_000;
/** A stream the server refused (full, or an error) is retried after this long. */
const STREAM_RETRY_MS = 10_000;
/** How long a seat someone else just took stays highlighted. */
const FLASH_MS = 2_000;

export type LiveState = 'connecting' | 'live' | 'offline';

/**
 * A showtime's seat map that stays current: read once, then changed by the node's server-sent
 * event stream, whose events carry the seats that changed, their state and its version — shown
 * at once, on any node, however far the replica that serves the seat map lags. Reads and events
 * are merged seat by seat by version (client/live-seat-map.ts), so a late or stale read never
 * undoes a newer event. The map is read again only when the stream (re)connects or says `resync`
 * (it may have missed changes), after this visitor's own actions, and while the stream is down.
 *
 * `viewer` is the logged-in user's id (null: nobody; undefined: not known yet): the stream is
 * opened with the session, so that it marks this visitor's own holds, and opened again when the
 * visitor changes. `initial` is the map the server rendered the page with: shown at once, merged
 * with the first read like any other.
 */
type Viewer = string | null | undefined;

export function useLiveSeatMap(showtimeId: number, viewer: Viewer, initial?: SeatMapData) {
  const [map, setMap] = useState<SeatMapData | null>(initial ?? null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState<LiveState>('connecting');
  const [flash, setFlash] = useState<ReadonlySet<string>>(new Set());
  /** Seat-map reads merged so far (the page shows it as data-seat-maps, for tests). */
  const [reads, setReads] = useState(0);
  const current = useRef<SeatMapData | null>(initial ?? null);
  const sequence = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const flashTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const liveRef = useRef<LiveState>('connecting');

  const show = useCallback((next: SeatMapData) => {
    const before = current.current;
    if (next === before) return;
    current.current = next;
    setMap(next);
    const taken = before ? newlyTaken(before, next) : new Set<string>();
    if (taken.size) {
      setFlash(taken);
      clearTimeout(flashTimer.current);
      flashTimer.current = setTimeout(() => setFlash(new Set()), FLASH_MS);
    }
  }, []);

  const refresh = useCallback(async () => {
    const mine = ++sequence.current;
    try {
      const read = await api('GET /api/showtimes/:id', { params: { id: showtimeId } });
      // Answers of one showtime may arrive out of order: only the latest request's is merged.
      if (mine !== sequence.current) return;
      show(mergeSeatMap(current.current, read));
      setReads((n) => n + 1);
      setError(null);
    } catch (err) {
      if (mine === sequence.current) setError(err);
    }
  }, [showtimeId, show]);

  /** One refetch for every request within a short window. */
  const refreshSoon = useCallback(() => {
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
    if (viewer === undefined) return; // the session is not known yet: open the stream once it is
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const setState = (state: LiveState) => {
      liveRef.current = state;
      setLive(state);
    };
    const open = () => {
      source = new EventSource(`/api/showtimes/${showtimeId}/events`);
      // Subscribed (again): whatever changed before, or while the stream was down, is read once.
      source.addEventListener('hello', () => {
        setState('live');
        refreshSoon();
      });
      source.addEventListener('seats', (e) => {
        const event = parseSeatsEvent((e as MessageEvent<string>).data, showtimeId);
        if (!event) return;
        if ('resync' in event) refreshSoon();
        else if (current.current) show(applySeatsEvent(current.current, event));
        else refreshSoon(); // nothing to apply it to yet: the first read is on its way, read again after it
      });
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
      clearTimeout(flashTimer.current);
    };
  }, [showtimeId, viewer, refresh, refreshSoon, show]);

  return { map, error, live, flash, reads, refresh };
}
