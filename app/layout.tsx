import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import { AuthProvider } from '@/components/auth-provider';
import { SiteHeader } from '@/components/site-header';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'MovieBook', template: '%s · MovieBook' },
  description: 'Book movie tickets — on a real distributed system',
};

export const viewport: Viewport = { themeColor: '#020617', colorScheme: 'dark' };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:fixed focus:left-4 focus:top-4 focus:z-50 focus:rounded-lg focus:bg-amber-400 focus:px-4 focus:py-2 focus:text-slate-950"
        >
          Skip to content
        </a>
        <AuthProvider>
          <SiteHeader />
          <main id="main" className="mx-auto max-w-6xl px-4 pb-24 pt-8 sm:pt-10">
            {children}
          </main>
          <footer className="border-t border-slate-800/80 py-6 text-center text-xs text-slate-500">
            MovieBook · every booking is stamped with Lamport and vector clocks by the node that
            served it ·{' '}
            <Link href="/api-docs" className="text-slate-400 hover:text-slate-200 hover:underline">
              API reference
            </Link>
          </footer>
        </AuthProvider>
      </body>
    </html>
  );
}
