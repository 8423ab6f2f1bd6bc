'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '@/client/error-messages';
import { safeNextPath } from '@/client/safe-next';
import { useAuth } from './auth-provider';
import { Button, ButtonLink, Notice } from './ui';

const INPUT = 'mt-1 w-full rounded-xl border border-slate-700 bg-slate-950 px-3 py-2.5 text-sm placeholder:text-slate-600 focus:border-amber-400 focus:outline-none focus:ring-2 focus:ring-amber-400/30';

/** Log in or create an account; afterwards back to where the visitor came from. */
export function LoginView() {
  const auth = useAuth();
  const router = useRouter();
  const params = useSearchParams();
  // Only paths of this site: a `next` pointing elsewhere is ignored.
  const next = safeNextPath(params.get('next'));
  const [mode, setMode] = useState<'login' | 'signup'>(params.get('mode') === 'signup' ? 'signup' : 'login');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const email = String(form.get('email') ?? '').trim();
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signup') await auth.signup({ email, password, name: String(form.get('name') ?? '').trim() });
      else await auth.login(email, password);
      router.replace(next);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  if (auth.status === 'user' && !busy) {
    return (
      <div className="mx-auto max-w-md rounded-3xl border border-slate-800 bg-slate-900/70 p-8 text-center">
        <h1 className="text-2xl font-bold">You’re logged in</h1>
        <p className="mt-2 text-slate-400">as {auth.user.name} ({auth.user.email})</p>
        <div className="mt-6 flex justify-center gap-3">
          <ButtonLink href={next}>Continue</ButtonLink>
          <Button variant="secondary" onClick={() => void auth.logout()}>Log out</Button>
        </div>
      </div>
    );
  }

  return (
    <div className="mx-auto max-w-md">
      <div className="rounded-3xl border border-slate-800 bg-slate-900/70 p-6 shadow-2xl shadow-black/40 sm:p-8">
        <h1 className="text-2xl font-bold">{mode === 'login' ? 'Welcome back' : 'Create your account'}</h1>
        <p className="mt-1 text-sm text-slate-400">{mode === 'login' ? 'Log in to hold seats and see your bookings.' : 'It takes ten seconds. Then pick your seats.'}</p>
        <div role="group" aria-label="Log in or sign up" className="mt-6 grid grid-cols-2 rounded-xl bg-slate-950 p-1 text-sm">
          {(['login', 'signup'] as const).map((m) => (
            <button
              key={m}
              type="button"
              aria-pressed={mode === m}
              onClick={() => {
                setMode(m);
                setError(null);
              }}
              className={`rounded-lg py-2 font-semibold transition ${mode === m ? 'bg-slate-800 text-white' : 'text-slate-400 hover:text-white'}`}
            >
              {m === 'login' ? 'Log in' : 'Sign up'}
            </button>
          ))}
        </div>
        <form onSubmit={submit} className="mt-6 flex flex-col gap-4" aria-label={mode === 'login' ? 'Log in' : 'Sign up'}>
          {mode === 'signup' && (
            <label className="text-sm font-medium text-slate-300">
              Name
              <input name="name" required maxLength={100} autoComplete="name" className={INPUT} placeholder="Ada Lovelace" />
            </label>
          )}
          <label className="text-sm font-medium text-slate-300">
            Email
            <input name="email" type="email" required maxLength={254} autoComplete="email" className={INPUT} placeholder="you@example.com" />
          </label>
          <label className="text-sm font-medium text-slate-300">
            Password
            <input
              name="password"
              type="password"
              required
              minLength={mode === 'signup' ? 8 : 1}
              maxLength={200}
              autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
              className={INPUT}
              placeholder={mode === 'signup' ? 'At least 8 characters' : ''}
            />
          </label>
          {error ? <Notice tone="error"><p>{errorMessage(error)}</p></Notice> : null}
          <Button type="submit" busy={busy} disabled={busy} className="py-3">
            {mode === 'login' ? 'Log in' : 'Create account'}
          </Button>
        </form>
      </div>
    </div>
  );
}
