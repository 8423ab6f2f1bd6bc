'use client';

import Link from 'next/link';
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, type DistributedInfo, type MovieListItem, type Screen } from '@/client/api';
import { errorMessage } from '@/client/error-messages';
import { formatDateTime } from '@/client/format';
import { useAuth } from './auth-provider';
import { Poster } from './poster';
import { Button, ButtonLink, ErrorNotice, Notice, PageHeading, Spinner } from './ui';

const INPUT = 'mt-1 w-full rounded-xl border border-slate-700 bg-slate-950 px-3 py-2 text-sm focus:border-amber-400 focus:outline-none focus:ring-2 focus:ring-amber-400/30';
const LABEL = 'text-sm font-medium text-slate-300';
const CERTIFICATES = ['U', 'PG', '12A', 'PG-13', '15', 'R', '18'];

type Result = { tone: 'success' | 'error'; content: React.ReactNode } | null;

function stampText(info: DistributedInfo): string {
  return `processed by ${info.processedBy}, Lamport clock ${info.logicalClock}`;
}

/** Admin: add a movie, add a showtime. */
export function AdminView() {
  const auth = useAuth();
  const [movies, setMovies] = useState<MovieListItem[] | null>(null);
  const [screens, setScreens] = useState<Screen[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(() => {
    setError(null);
    Promise.all([
      api('GET /api/movies'),
      api('GET /api/screens'),
    ]).then(([m, s]) => {
      setMovies('movies' in m ? m.movies : []);
      setScreens(s.screens);
    }, setError);
  }, []);

  const isAdmin = auth.status === 'user' && auth.user.role === 'admin';
  useEffect(() => {
    if (isAdmin) load();
  }, [isAdmin, load]);

  if (auth.status === 'loading') return <div className="py-24 text-center text-slate-400"><Spinner label="Loading…" /></div>;
  if (!isAdmin) {
    return (
      <div className="mx-auto max-w-md py-16 text-center">
        <h1 className="text-3xl font-bold">Admin</h1>
        <p className="mt-3 text-slate-400">
          {auth.status === 'anonymous' ? 'Log in with an administrator account to manage movies and showtimes.' : 'Your account is not an administrator account.'}
        </p>
        {auth.status === 'anonymous' && <ButtonLink href="/login?next=%2Fadmin" className="mt-6">Log in</ButtonLink>}
      </div>
    );
  }

  return (
    <div>
      <PageHeading title="Admin" subtitle="Add movies to the catalogue and put them on screen." />
      {error ? <ErrorNotice error={error} onRetry={load} className="mb-6" /> : null}
      <div className="grid gap-6 lg:grid-cols-2">
        <AddMovie onAdded={load} />
        <AddShowtime movies={movies} screens={screens} />
      </div>
    </div>
  );
}

function Card({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="rounded-2xl border border-slate-800 bg-slate-900/70 p-5 sm:p-6" aria-label={title}>
      <h2 className="mb-4 text-lg font-semibold">{title}</h2>
      {children}
    </section>
  );
}

function AddMovie({ onAdded }: { onAdded: () => void }) {
  const [title, setTitle] = useState('');
  const [genre, setGenre] = useState('');
  const [hue, setHue] = useState(210);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const year = String(data.get('releaseYear') ?? '').trim();
    setBusy(true);
    setResult(null);
    try {
      const { movie, distributedInfo } = await api('POST /api/movies', {
        body: {
          title: title.trim(),
          genre: genre.trim(),
          description: String(data.get('description') ?? ''),
          certificate: String(data.get('certificate')),
          rating: Number(data.get('rating')),
          durationMin: Number(data.get('durationMin')),
          ...(year ? { releaseYear: Number(year) } : {}),
          posterHue: hue,
        },
      });
      setResult({ tone: 'success', content: <>Added “{movie.title}” (movie #{movie.id}), {stampText(distributedInfo)}. Now give it a showtime.</> });
      form.reset();
      setTitle('');
      setGenre('');
      onAdded();
    } catch (err) {
      setResult({ tone: 'error', content: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Add a movie">
      <form onSubmit={submit} className="grid gap-4 sm:grid-cols-[1fr_8rem]">
        <div className="flex flex-col gap-4">
          <label className={LABEL}>Title<input name="title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} className={INPUT} /></label>
          <div className="grid grid-cols-2 gap-3">
            <label className={LABEL}>Genre<input name="genre" required maxLength={40} value={genre} onChange={(e) => setGenre(e.target.value)} className={INPUT} placeholder="Drama" /></label>
            <label className={LABEL}>Certificate
              <select name="certificate" defaultValue="PG-13" className={INPUT}>{CERTIFICATES.map((c) => <option key={c}>{c}</option>)}</select>
            </label>
          </div>
        </div>
        <div className="mx-auto w-28 overflow-hidden rounded-xl border border-slate-700 sm:w-full" aria-hidden="true">
          <Poster title={title || 'Untitled'} hue={hue} genre={genre || 'Drama'} className="aspect-[2/3] w-full" />
        </div>
        <div className="grid grid-cols-3 gap-3 sm:col-span-2">
          <label className={LABEL}>Duration (min)<input name="durationMin" type="number" required min={1} max={600} defaultValue={110} className={INPUT} /></label>
          <label className={LABEL}>Rating<input name="rating" type="number" required min={0} max={10} step={0.1} defaultValue={7.5} className={INPUT} /></label>
          <label className={LABEL}>Year<input name="releaseYear" type="number" min={1880} max={2200} className={INPUT} /></label>
        </div>
        <label className={`${LABEL} sm:col-span-2`}>Poster colour
          <input name="posterHue" type="range" min={0} max={359} value={hue} onChange={(e) => setHue(Number(e.target.value))} className="mt-2 w-full accent-amber-400" />
        </label>
        <label className={`${LABEL} sm:col-span-2`}>Description<textarea name="description" maxLength={2000} rows={3} className={INPUT} /></label>
        {result && <Notice tone={result.tone} className="sm:col-span-2">{result.content}</Notice>}
        <Button type="submit" busy={busy} disabled={busy} className="sm:col-span-2">Add movie</Button>
      </form>
    </Card>
  );
}

function defaultStart(): string {
  const d = new Date(Date.now() + 86_400_000);
  d.setHours(20, 0, 0, 0);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T20:00`;
}

function AddShowtime({ movies, screens }: { movies: MovieListItem[] | null; screens: Screen[] | null }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const startsAt = new Date(String(data.get('startsAt')));
    if (Number.isNaN(startsAt.getTime())) {
      setResult({ tone: 'error', content: 'Please enter a valid date and time.' });
      return;
    }
    setBusy(true);
    setResult(null);
    try {
      const { showtime, distributedInfo } = await api('POST /api/showtimes', {
        body: { movieId: Number(data.get('movieId')), screenId: Number(data.get('screenId')), startsAt: startsAt.toISOString() },
      });
      setResult({
        tone: 'success',
        content: (
          <>
            {showtime.movieTitle} on {showtime.screenName}, {formatDateTime(showtime.startsAt)} — {stampText(distributedInfo)}.{' '}
            <Link href={`/movies/${showtime.movieId}?showtime=${showtime.id}`} className="font-semibold underline">Open its seat map</Link>
          </>
        ),
      });
    } catch (err) {
      setResult({ tone: 'error', content: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  }

  if (!movies || !screens) return <Card title="Add a showtime"><Spinner label="Loading movies and screens…" /></Card>;
  return (
    <Card title="Add a showtime">
      <form onSubmit={submit} className="flex flex-col gap-4">
        <label className={LABEL}>Movie
          <select name="movieId" required className={INPUT}>{movies.map((m) => <option key={m.id} value={m.id}>{m.title}</option>)}</select>
        </label>
        <label className={LABEL}>Screen
          <select name="screenId" required className={INPUT}>{screens.map((s) => <option key={s.id} value={s.id}>{s.name} · {s.seatCount} seats</option>)}</select>
        </label>
        <label className={LABEL}>Starts at (your local time)
          <input name="startsAt" type="datetime-local" required defaultValue={defaultStart()} className={`${INPUT} [color-scheme:dark]`} />
        </label>
        <p className="text-xs text-slate-500">The showtime’s seats and prices come from the screen’s layout.</p>
        {result && <Notice tone={result.tone}>{result.content}</Notice>}
        <Button type="submit" busy={busy} disabled={busy}>Add showtime</Button>
      </form>
    </Card>
  );
}
