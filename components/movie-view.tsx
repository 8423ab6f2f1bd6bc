'use client';

import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type MovieDetail, type SeatMapData } from '@/client/api';
import { formatDuration } from '@/client/format';
import { positiveIntParam } from '@/client/url-params';
import { BookingFlow } from './booking-flow';
import { Rating } from './movie-card';
import { Poster } from './poster';
import { ShowtimePicker } from './showtime-picker';
import { ButtonLink, ErrorNotice, Notice, Spinner } from './ui';

const SEAT_ID = /^[A-Z]{1,2}[1-9][0-9]{0,2}$/;

type MovieViewProps = {
  id: string;
  /** What the server rendered the page with (absent: fetched here). */
  initialMovie?: MovieDetail;
  initialSeatMap?: SeatMapData;
};

/** A movie: details, showtimes by day, and — once a showtime is picked — its seat map and checkout. */
export function MovieView({ id, initialMovie, initialSeatMap }: MovieViewProps) {
  const movieId = positiveIntParam(id);
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const showtimeId = positiveIntParam(params.get('showtime'));
  const initialSeats = (params.get('seats') ?? '').split(',').map((s) => s.trim().toUpperCase()).filter((s) => SEAT_ID.test(s));
  const [movie, setMovie] = useState<MovieDetail | null>(initialMovie ?? null);
  const [error, setError] = useState<unknown>(null);
  const seatsSection = useRef<HTMLElement>(null);

  const load = useCallback(() => {
    if (movieId === null) return;
    setError(null);
    api('GET /api/movies/:id', { params: { id: movieId } }).then((body) => setMovie(body.movie), setError);
  }, [movieId]);
  useEffect(() => {
    if (!initialMovie) load();
  }, [initialMovie, load]);
  useEffect(() => {
    if (movie) document.title = `${movie.title} · MovieBook`;
  }, [movie]);

  function selectShowtime(sid: number) {
    router.replace(`${pathname}?showtime=${sid}`, { scroll: false });
    requestAnimationFrame(() => seatsSection.current?.scrollIntoView({ behavior: 'smooth', block: 'start' }));
  }

  if (movieId === null) return <NotFound />;
  if (error) return <ErrorNotice error={error} onRetry={load} />;
  if (!movie) return <div className="py-24 text-center text-slate-400"><Spinner label="Loading movie…" /></div>;

  const showtime = movie.showtimes.find((s) => s.id === showtimeId);
  return (
    <div className="flex flex-col gap-10">
      <section className="grid gap-6 sm:grid-cols-[12rem_1fr] lg:grid-cols-[15rem_1fr] lg:gap-10" aria-labelledby="movie-title">
        <div className="mx-auto w-40 overflow-hidden rounded-2xl border border-slate-800 shadow-2xl shadow-black/50 sm:w-full">
          <Poster title={movie.title} hue={movie.posterHue} genre={movie.genre} className="aspect-[2/3] w-full" />
        </div>
        <div className="flex min-w-0 flex-col gap-4">
          <div>
            <p className="text-sm font-semibold uppercase tracking-widest text-amber-400">{movie.genre}</p>
            <h1 id="movie-title" className="mt-1 text-3xl font-bold tracking-tight sm:text-5xl">{movie.title}</h1>
          </div>
          <p className="flex flex-wrap items-center gap-2 text-sm text-slate-300">
            <span className="rounded-md border border-slate-600 px-1.5 py-0.5 text-xs font-bold">{movie.certificate}</span>
            <span>{formatDuration(movie.durationMin)}</span>
            {movie.releaseYear && <span>· {movie.releaseYear}</span>}
            <span>·</span>
            <Rating value={movie.rating} />
          </p>
          {movie.description && <p className="max-w-2xl text-base leading-relaxed text-slate-300">{movie.description}</p>}
          <div className="mt-2">
            <h2 className="mb-3 text-lg font-semibold">Showtimes</h2>
            <ShowtimePicker showtimes={movie.showtimes} selectedId={showtime?.id ?? null} onSelect={selectShowtime} />
          </div>
        </div>
      </section>

      <section ref={seatsSection} aria-label="Choose your seats" className="scroll-mt-24">
        {showtime && (
          <BookingFlow
            key={showtime.id}
            showtimeId={showtime.id}
            initialSeats={initialSeats}
            initialMap={initialSeatMap?.showtime.id === showtime.id ? initialSeatMap : undefined}
            onBooked={load}
          />
        )}
        {showtimeId !== null && !showtime && (
          <Notice tone="warning">That showtime is not on sale for this movie (it may have started already). Pick another one above.</Notice>
        )}
        {showtimeId === null && movie.showtimes.length > 0 && (
          <p className="rounded-2xl border border-dashed border-slate-700 p-8 text-center text-slate-400">Pick a showtime above to see the seat map.</p>
        )}
      </section>
    </div>
  );
}

function NotFound() {
  return (
    <div className="py-16 text-center">
      <h1 className="text-2xl font-bold">Movie not found</h1>
      <p className="mt-2 text-slate-400">This link does not point to a movie.</p>
      <ButtonLink href="/" className="mt-6">Browse movies</ButtonLink>
    </div>
  );
}
