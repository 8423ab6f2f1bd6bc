import Link from 'next/link';
import type { MovieListItem } from '@/client/api';
import { formatDay, formatDuration, formatTime } from '@/client/format';
import { useDisplayZone } from './use-display-zone';
import { Poster } from './poster';

export function Rating({ value }: { value: number }) {
  return (
    <span className="inline-flex items-center gap-1 font-semibold text-amber-300" aria-label={`Rated ${value.toFixed(1)} out of 10`}>
      <span aria-hidden="true">★</span>
      {value.toFixed(1)}
    </span>
  );
}

export function MovieCard({ movie }: { movie: MovieListItem }) {
  const zone = useDisplayZone();
  return (
    <li>
      <Link
        href={`/movies/${movie.id}`}
        className="group flex h-full flex-col overflow-hidden rounded-2xl border border-slate-800 bg-slate-900/70 transition hover:-translate-y-0.5 hover:border-slate-600 hover:shadow-xl hover:shadow-black/40 focus-visible:outline-2 focus-visible:outline-amber-300"
      >
        <div className="relative aspect-[2/3] overflow-hidden">
          <Poster title={movie.title} hue={movie.posterHue} genre={movie.genre} className="size-full transition duration-300 group-hover:scale-[1.03]" />
          <span className="absolute left-2 top-2 rounded-md bg-slate-950/75 px-1.5 py-0.5 text-[11px] font-bold tracking-wide text-slate-200 backdrop-blur">
            {movie.certificate}
          </span>
          <span className="absolute right-2 top-2 rounded-md bg-slate-950/75 px-1.5 py-0.5 text-xs backdrop-blur">
            <Rating value={movie.rating} />
          </span>
        </div>
        <div className="flex flex-1 flex-col gap-1 p-3 sm:p-4">
          <h2 className="font-semibold leading-snug text-white">{movie.title}</h2>
          <p className="flex flex-wrap items-center gap-x-2 text-xs text-slate-400 sm:text-sm">
            <span>{movie.genre}</span>
            <span aria-hidden="true">·</span>
            <span>{formatDuration(movie.durationMin)}</span>
          </p>
          <p className="mt-auto pt-2 text-xs text-slate-500">
            {movie.nextShowtime ? (
              <>Next: <span className="text-slate-300">
                {formatDay(movie.nextShowtime, undefined, zone)}{' '}
                {formatTime(movie.nextShowtime, zone)}</span></>
            ) : (
              'No upcoming showtimes'
            )}
          </p>
        </div>
      </Link>
    </li>
  );
}

export function MovieCardSkeleton() {
  return (
    <li className="overflow-hidden rounded-2xl border border-slate-800 bg-slate-900/70" aria-hidden="true">
      <div className="aspect-[2/3] animate-pulse bg-slate-800" />
      <div className="space-y-2 p-4">
        <div className="h-4 w-3/4 animate-pulse rounded bg-slate-800" />
        <div className="h-3 w-1/2 animate-pulse rounded bg-slate-800" />
      </div>
    </li>
  );
}
