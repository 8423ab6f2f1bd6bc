'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { AnswerOf, OperationKey } from '@/contract/operations';
import { monitorCall, type Served } from './api';

export type PollState<T> = {
  data: T | undefined;
  servedBy: string | null;
  /** When the last answer arrived (ms since epoch), 0 before the first. */
  at: number;
  error: unknown;
  /** Fetch again now (after an action), without waiting for the next tick. */
  refresh(): void;
};

/**
 * Short polling of one endpoint through the gateway: one request at a time, the next one
 * `intervalMs` after the previous answer; paused while the page is hidden; `op` null stops it.
 * `onData` sees every answer before it renders (to keep histories for charts).
 */
type Polled = { [K in OperationKey]: K extends `GET ${string}` ? (object extends Parameters<typeof monitorCall<K>>[1] ? K : never) : never }[OperationKey];

export function usePoll<K extends Polled, T = AnswerOf<K>>(op: K | null, intervalMs: number, options: { node?: string; onData?: (answer: Served<T>) => void; errorIntervalMs?: number } = {}): PollState<T> {
  const [state, setState] = useState<{ key: string | null; answer: Served<T> | undefined; error: unknown }>({ key: null, answer: undefined, error: null });
  const onData = useRef(options.onData);
  const kick = useRef<() => void>(() => {});
  const node = options.node;
  const errorIntervalMs = options.errorIntervalMs ?? intervalMs;

  useEffect(() => {
    onData.current = options.onData;
  });

  useEffect(() => {
    if (op === null) return;
    const key = `${node ?? ''} ${op}`;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: AbortController | undefined;

    const schedule = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(tick, ms);
    };
    async function tick() {
      if (stopped || inFlight) return;
      if (document.hidden) return; // resumed by visibilitychange
      const controller = new AbortController();
      inFlight = controller;
      let next = intervalMs;
      try {
        const answer = (await monitorCall<Polled>(op!, { ...(node ? { node } : {}), signal: controller.signal })) as Served<T>;
        if (stopped) return;
        onData.current?.(answer);
        setState({ key, answer, error: null });
      } catch (err) {
        if (stopped || (err as Error).name === 'AbortError') return;
        next = errorIntervalMs;
        setState((prev) => ({ key, answer: prev.key === key ? prev.answer : undefined, error: err }));
      } finally {
        if (inFlight === controller) inFlight = undefined;
      }
      if (!stopped) schedule(next);
    }
    const onVisible = () => {
      if (!document.hidden) schedule(0);
    };
    kick.current = () => {
      if (!inFlight) schedule(0);
    };
    document.addEventListener('visibilitychange', onVisible);
    schedule(0);
    return () => {
      stopped = true;
      clearTimeout(timer);
      inFlight?.abort();
      document.removeEventListener('visibilitychange', onVisible);
      kick.current = () => {};
    };
  }, [op, node, intervalMs, errorIntervalMs]);

  const refresh = useCallback(() => kick.current(), []);
  const current = state.key === `${node ?? ''} ${op}` ? state : { answer: undefined, error: null };
  return { data: current.answer?.data, servedBy: current.answer?.servedBy ?? null, at: current.answer?.at ?? 0, error: current.error, refresh };
}

/** The current time, re-read every `intervalMs`. */
export function useTicker(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
