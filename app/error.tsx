'use client';

import { Button } from '@/components/ui';

/** A page that failed to render: say so, and offer to try again. */
export default function PageError({ reset }: { error: Error; reset: () => void }) {
  return (
    <div className="py-20 text-center" role="alert">
      <h1 className="text-2xl font-bold">Something went wrong on this page</h1>
      <p className="mt-2 text-slate-400">Please try again. If it keeps happening, reload the page.</p>
      <Button onClick={reset} className="mt-6">Try again</Button>
    </div>
  );
}
