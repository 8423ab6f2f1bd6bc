'use client';

import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useAuth } from './auth-provider';

function NavLink({ href, children }: { href: string; children: React.ReactNode }) {
  const pathname = usePathname();
  const active = href === '/' ? pathname === '/' || pathname.startsWith('/movies') : pathname.startsWith(href);
  return (
    <Link
      href={href}
      aria-current={active ? 'page' : undefined}
      className={`rounded-lg px-3 py-1.5 text-sm font-medium transition ${active ? 'bg-slate-800 text-white' : 'text-slate-300 hover:bg-slate-800/60 hover:text-white'}`}
    >
      {children}
    </Link>
  );
}

export function Logo() {
  return (
    <Link href="/" className="flex items-center gap-2 font-bold tracking-tight" aria-label="MovieBook home">
      <svg viewBox="0 0 32 32" className="size-8" aria-hidden="true">
        <rect x="2" y="6" width="28" height="20" rx="4" fill="#fbbf24" />
        <path d="M2 12h28M2 20h28" stroke="#0f172a" strokeWidth="1.5" strokeDasharray="3 3" />
        <path d="M13 11.5v9l7.5-4.5z" fill="#0f172a" />
      </svg>
      <span className="text-lg">
        Movie<span className="text-amber-400">Book</span>
      </span>
    </Link>
  );
}

export function SiteHeader() {
  const auth = useAuth();
  const router = useRouter();
  const pathname = usePathname();

  async function logout() {
    await auth.logout();
    router.push('/');
  }

  return (
    <header className="sticky top-0 z-30 border-b border-slate-800/80 bg-slate-950/85 backdrop-blur">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
        <Logo />
        <nav aria-label="Main" className="order-3 -mx-1 flex w-full gap-1 sm:order-none sm:w-auto">
          <NavLink href="/">Movies</NavLink>
          <NavLink href="/bookings">My bookings</NavLink>
          <NavLink href="/monitor">Monitor</NavLink>
          {auth.user?.role === 'admin' && <NavLink href="/admin">Admin</NavLink>}
        </nav>
        <div className="ml-auto flex items-center gap-3 text-sm" data-testid="auth-state">
          {auth.status === 'user' && (
            <>
              <span className="hidden text-slate-400 sm:inline">
                Hi, <span className="font-medium text-slate-100">{auth.user.name}</span>
              </span>
              <button type="button" onClick={logout} className="rounded-lg border border-slate-700 px-3 py-1.5 font-medium text-slate-200 hover:border-slate-500 hover:text-white">
                Log out
              </button>
            </>
          )}
          {auth.status === 'anonymous' && (
            <Link
              href={pathname === '/login' ? '/login' : `/login?next=${encodeURIComponent(pathname)}`}
              className="rounded-lg bg-amber-400 px-3 py-1.5 font-semibold text-slate-950 hover:bg-amber-300"
            >
              Log in
            </Link>
          )}
        </div>
      </div>
    </header>
  );
}
