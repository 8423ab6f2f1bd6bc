import { Suspense } from 'react';
import { MovieView } from '@/components/movie-view';

// Every movie page is the same client shell (the data comes from the API): rendered once per id
// on first request, then served from the cache.
export function generateStaticParams(): { id: string }[] {
  return [];
}

export default async function MoviePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <Suspense>
      <MovieView id={id} />
    </Suspense>
  );
}
