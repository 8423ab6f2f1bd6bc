'use client';

import { useEffect, useState } from 'react';

type Movie = { id: number; title: string; genre: string; rating: number; durationMin: number; posterHue: number; description: string };

export default function HomePage() {
  const [movies, setMovies] = useState<Movie[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetch('/api/movies')
      .then(async (res) => {
        const body = await res.json();
        if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
        setMovies(body.movies);
      })
      .catch((err: Error) => setError(err.message));
  }, []);

  return (
    <section>
      <h1 className="mb-6 text-3xl font-bold">Now showing</h1>
      {error && <p role="alert" className="text-red-400">Could not load movies: {error}</p>}
      {!movies && !error && <p className="text-slate-400">Loading…</p>}
      <ul className="grid grid-cols-1 gap-6 sm:grid-cols-2 lg:grid-cols-4">
        {movies?.map((m) => (
          <li key={m.id} className="overflow-hidden rounded-xl border border-slate-800 bg-slate-900">
            <div className="h-40" style={{ background: `linear-gradient(135deg, hsl(${m.posterHue} 70% 45%), hsl(${(m.posterHue + 40) % 360} 60% 20%))` }} />
            <div className="p-4">
              <h2 className="font-semibold">{m.title}</h2>
              <p className="text-sm text-slate-400">
                {m.genre} · {m.durationMin} min · ★ {m.rating.toFixed(1)}
              </p>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
