import Link from 'next/link';
import type { ComponentProps } from 'react';
import { errorMessage } from '@/client/error-messages';

/** Small shared building blocks: buttons, notices, a spinner, a page heading. */

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost' | 'danger-ghost';

const VARIANTS: Record<Variant, string> = {
  primary: 'bg-amber-400 text-slate-950 hover:bg-amber-300 shadow-lg shadow-amber-500/10 disabled:bg-slate-700 disabled:text-slate-300 disabled:shadow-none',
  secondary: 'border border-slate-700 bg-slate-900 text-slate-100 hover:border-slate-500 hover:bg-slate-800',
  danger: 'bg-rose-600 text-white hover:bg-rose-500',
  ghost: 'text-slate-300 hover:bg-slate-800 hover:text-white',
  'danger-ghost': 'border border-rose-500/30 text-rose-300 hover:bg-rose-500/10 hover:text-rose-200',
};

const BASE =
  'inline-flex items-center justify-center gap-2 rounded-lg px-4 py-2 text-sm font-semibold transition ' +
  'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-300 ' +
  'disabled:cursor-not-allowed disabled:opacity-50';

export function buttonClass(variant: Variant = 'primary', extra = ''): string {
  return `${BASE} ${VARIANTS[variant]} ${extra}`;
}

export function Button({ variant = 'primary', busy = false, className = '', children, ...props }: ComponentProps<'button'> & { variant?: Variant; busy?: boolean }) {
  return (
    <button type="button" className={buttonClass(variant, className)} aria-busy={busy || undefined} {...props}>
      {busy && <Spinner />}
      {children}
    </button>
  );
}

export function ButtonLink({ variant = 'primary', className = '', ...props }: ComponentProps<typeof Link> & { variant?: Variant }) {
  return <Link className={buttonClass(variant, className)} {...props} />;
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="inline-flex items-center gap-2">
      <span className="size-4 animate-spin rounded-full border-2 border-current border-t-transparent" aria-hidden="true" />
      {label && <span>{label}</span>}
    </span>
  );
}

type Tone = 'error' | 'warning' | 'success' | 'info';

const TONES: Record<Tone, string> = {
  error: 'border-rose-500/40 bg-rose-500/10 text-rose-100',
  warning: 'border-amber-400/40 bg-amber-400/10 text-amber-100',
  success: 'border-emerald-500/40 bg-emerald-500/10 text-emerald-100',
  info: 'border-sky-500/40 bg-sky-500/10 text-sky-100',
};

const ICONS: Record<Tone, string> = { error: '⚠', warning: '⚠', success: '✓', info: 'ℹ' };

export function Notice({ tone, children, onDismiss, className = '' }: { tone: Tone; children: React.ReactNode; onDismiss?: () => void; className?: string }) {
  return (
    <div
      role={tone === 'error' || tone === 'warning' ? 'alert' : 'status'}
      className={`flex items-start gap-3 rounded-xl border px-4 py-3 text-sm ${TONES[tone]} ${className}`}
    >
      <span aria-hidden="true" className="mt-px">{ICONS[tone]}</span>
      <div className="min-w-0 flex-1">{children}</div>
      {onDismiss && (
        <button type="button" onClick={onDismiss} className="-my-1 rounded px-1 text-lg leading-none opacity-70 hover:opacity-100" aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

/** An API error as a readable sentence, with an optional retry. */
export function ErrorNotice({ error, onRetry, className }: { error: unknown; onRetry?: () => void; className?: string }) {
  return (
    <Notice tone="error" className={className}>
      <p>{errorMessage(error)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry} className="mt-1 font-semibold underline underline-offset-2">
          Try again
        </button>
      )}
    </Notice>
  );
}

export function PageHeading({ title, subtitle, children }: { title: string; subtitle?: React.ReactNode; children?: React.ReactNode }) {
  return (
    <div className="mb-8 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-3xl font-bold tracking-tight sm:text-4xl">{title}</h1>
        {subtitle && <p className="mt-2 text-slate-400">{subtitle}</p>}
      </div>
      {children}
    </div>
  );
}
