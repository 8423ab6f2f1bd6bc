import type { Metadata } from 'next';
import { cache } from 'react';
import { MovieView } from '@/components/movie-view';
import { positiveIntParam } from '@/client/url-params';
import { serverRead } from '../../server-api';

// Rendered per request with the movie, its showtimes and — on `?showtime=` — the seat map in it;
// the live seat map, selection and checkout hydrate on top.
export const dynamic = 'force-dynamic';

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

/** One read per request, shared by the title and the page. */
const readMovie = cache((id: number) => serverRead('GET /api/movies/:id', { params: { id } }));

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const id = positiveIntParam((await params).id);
  const movie = id === null ? undefined : (await readMovie(id))?.movie;
  return { title: movie?.title ?? 'Movie' };
}

export default async function MoviePage({ params, searchParams }: Props) {
  const { id } = await params;
  const movieId = positiveIntParam(id);
  const showtimeId = positiveIntParam((await searchParams).showtime);
  // Both at once; the seat map is read with the visitor's session, so it marks their holds. (The
  // view shows it only for a showtime of this movie still on sale.)
  const [read, seatMap] = await Promise.all([
    movieId === null ? undefined : readMovie(movieId),
    showtimeId === null
      ? undefined
      : serverRead('GET /api/showtimes/:id', { params: { id: showtimeId }, withSession: true }),
  ]);
  // No Suspense boundary: streamed in, the boundary's swap briefly showed two seat maps at once.
  return <MovieView id={id} initialMovie={read?.movie} initialSeatMap={seatMap} />;
}
