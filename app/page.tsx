import { MovieBrowser } from '@/components/movie-browser';
import { serverRead } from './server-api';

// Rendered per request with the catalogue in it: `curl /` lists every movie, links work before
// any JavaScript runs, and the search and genre filter hydrate on top.
export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const answer = await serverRead('GET /api/movies');
  return <MovieBrowser initialMovies={answer && 'movies' in answer ? answer.movies : undefined} />;
}
