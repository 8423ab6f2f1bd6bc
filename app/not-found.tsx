import { ButtonLink } from '@/components/ui';

export default function NotFound() {
  return (
    <div className="py-20 text-center">
      <p className="text-sm font-semibold uppercase tracking-widest text-amber-400">404</p>
      <h1 className="mt-2 text-3xl font-bold">This page is not showing</h1>
      <p className="mt-2 text-slate-400">The link may be old, or the address mistyped.</p>
      <ButtonLink href="/" className="mt-6">Browse movies</ButtonLink>
    </div>
  );
}
