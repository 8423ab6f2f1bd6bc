'use client';

import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, type MovieListItem } from '@/client/api';
import { MovieCard, MovieCardSkeleton } from './movie-card';
import { ErrorNotice } from './ui';

/** The catalogue: the server's, or fetched when the server could not read it. */
function useMovies(initialMovies: MovieListItem[] | undefined) {
  const [movies, setMovies] = useState<MovieListItem[] | null>(initialMovies ?? null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    setError(null);
    api('GET /api/movies').then((body) => setMovies('movies' in body ? body.movies : []), setError);
  }, []);
  useEffect(() => {
    if (!initialMovies) load();
  }, [initialMovies, load]);
  return { movies, error, load };
}

/**
 * The home page's catalogue: every movie as a card, with search and a genre filter. The server
 * renders it with `initialMovies`; without them (the server could not read them) it fetches.
 */
export function MovieBrowser({ initialMovies }: { initialMovies?: MovieListItem[] }) {
  const { movies, error, load } = useMovies(initialMovies);
  const [search, setSearch] = useState('');
  const [genre, setGenre] = useState<string | null>(null);

  const genres = useMemo(() => [...new Set((movies ?? []).map((m) => m.genre))].sort(), [movies]);
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return (movies ?? []).filter(
      (m) => (!genre || m.genre === genre) && (!q || `${m.title} ${m.description} ${m.genre}`.toLowerCase().includes(q)),
    );
  }, [movies, search, genre]);

  return (
    <section aria-labelledby="now-showing">
      <div className="mb-8 flex flex-col gap-6 lg:flex-row lg:items-end lg:justify-between">
        <div>
          <p className="text-sm font-semibold uppercase tracking-widest text-amber-400">Now showing</p>
          <h1 id="now-showing" className="mt-1 text-3xl font-bold tracking-tight sm:text-4xl">Pick a movie, pick your seats</h1>
          <p className="mt-2 max-w-xl text-slate-400">Live seat maps, holds that keep your seats for ten minutes, and no seat ever sold twice.</p>
        </div>
        <label className="relative block w-full lg:w-80">
          <span className="sr-only">Search movies</span>
          <svg viewBox="0 0 20 20" className="pointer-events-none absolute left-3 top-1/2 size-4 -translate-y-1/2 text-slate-500" aria-hidden="true">
            <path fill="currentColor" d="M8.5 3a5.5 5.5 0 0 1 4.38 8.82l3.65 3.65-1.06 1.06-3.65-3.65A5.5 5.5 0 1 1 8.5 3m0 1.5a4 4 0 1 0 0 8 4 4 0 0 0 0-8" />
          </svg>
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="Search title or story…"
            className="w-full rounded-xl border border-slate-700 bg-slate-900 py-2.5 pl-9 pr-3 text-sm placeholder:text-slate-500 focus:border-amber-400 focus:outline-none focus:ring-2 focus:ring-amber-400/30"
          />
        </label>
      </div>

      <div role="group" aria-label="Filter by genre" className="-mx-4 mb-6 flex gap-2 overflow-x-auto px-4 pb-1 sm:mx-0 sm:flex-wrap sm:px-0">
        {[null, ...genres].map((g) => (
          <button
            key={g ?? 'all'}
            type="button"
            aria-pressed={genre === g}
            onClick={() => setGenre(g)}
            className={`shrink-0 rounded-full border px-3.5 py-1.5 text-sm font-medium transition ${
              genre === g ? 'border-amber-400 bg-amber-400 text-slate-950' : 'border-slate-700 text-slate-300 hover:border-slate-500 hover:text-white'
            }`}
          >
            {g ?? 'All genres'}
          </button>
        ))}
      </div>

      {error ? <ErrorNotice error={error} onRetry={load} className="mb-6" /> : null}
      <ul className="grid grid-cols-2 gap-4 sm:grid-cols-3 sm:gap-6 lg:grid-cols-5" aria-busy={!movies && !error}>
        {!movies && !error && Array.from({ length: 10 }, (_, i) => <MovieCardSkeleton key={i} />)}
        {shown.map((m) => <MovieCard key={m.id} movie={m} />)}
      </ul>
      {movies && !shown.length && (
        <p className="rounded-xl border border-dashed border-slate-700 p-8 text-center text-slate-400" role="status">
          No movies match{search.trim() ? <> “{search.trim()}”</> : null}{genre ? <> in {genre}</> : null}.
        </p>
      )}
    </section>
  );
}
