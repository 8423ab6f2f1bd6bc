import { MovieBrowser } from '@/components/movie-browser';

export default function HomePage() {
  return <MovieBrowser />;
}
