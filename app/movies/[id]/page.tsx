import type { Metadata } from 'next';
import { cache } from 'react';
import { MovieView } from '@/components/movie-view';
import { serverRead } from '../../server-api';

// Rendered per request with the movie, its showtimes and — on `?showtime=` — the seat map in it;
// the live seat map, selection and checkout hydrate on top.
export const dynamic = 'force-dynamic';

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

const positiveInt = (value: unknown) =>
  typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : undefined;
/** One read per request, shared by the title and the page. */
const readMovie = cache((id: number) => serverRead('GET /api/movies/:id', { params: { id } }));

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const id = positiveInt((await params).id);
  const movie = id === undefined ? undefined : (await readMovie(id))?.movie;
  return { title: movie?.title ?? 'Movie' };
}

export default async function MoviePage({ params, searchParams }: Props) {
  const { id } = await params;
  const movieId = positiveInt(id);
  const showtimeId = positiveInt((await searchParams).showtime);
  // Both at once; the seat map (read with the visitor's session, so it marks their holds) is used
  // only for a showtime of this movie still on sale.
  const [read, map] = await Promise.all([
    movieId === undefined ? undefined : readMovie(movieId),
    showtimeId === undefined
      ? undefined
      : serverRead('GET /api/showtimes/:id', { params: { id: showtimeId }, withSession: true }),
  ]);
  const movie = read?.movie;
  const onSale =
    movie?.showtimes.some((s) => s.id === showtimeId) && map?.showtime.movieId === movieId;
  // No Suspense boundary: streamed in, the boundary's swap briefly showed two seat maps at once.
  return <MovieView id={id} initialMovie={movie} initialSeatMap={onSale ? map : undefined} />;
}
