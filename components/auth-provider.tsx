'use client';

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, ApiError, type User } from '@/client/api';

/**
 * Who is logged in, for every page. The session itself is the httpOnly cookie; the pages keep a
 * non-secret hint (the user's name and role) in localStorage, so a visitor who never logged in
 * costs no request — and no 401 — on every page. When there is a hint, /api/auth/me confirms it.
 */
const HINT_KEY = 'moviebook.user';

export type AuthState =
  | { status: 'loading'; user: null }
  | { status: 'anonymous'; user: null }
  | { status: 'user'; user: User };

type AuthContextValue = AuthState & {
  login(email: string, password: string): Promise<User>;
  signup(input: { email: string; name: string; password: string }): Promise<User>;
  logout(): Promise<void>;
  /** A request said UNAUTHENTICATED: the session is gone (expired, logged out elsewhere). */
  sessionExpired(): void;
};

const AuthContext = createContext<AuthContextValue | null>(null);

function readHint(): User | null {
  try {
    const raw = localStorage.getItem(HINT_KEY);
    return raw ? (JSON.parse(raw) as User) : null;
  } catch {
    return null;
  }
}

function writeHint(user: User | null): void {
  try {
    if (user) localStorage.setItem(HINT_KEY, JSON.stringify(user));
    else localStorage.removeItem(HINT_KEY);
  } catch {
    /* storage disabled: the hint is only an optimisation */
  }
}

export function AuthProvider({ children }: { children: React.ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading', user: null });

  const setUser = useCallback((user: User | null) => {
    writeHint(user);
    setState(user ? { status: 'user', user } : { status: 'anonymous', user: null });
  }, []);

  useEffect(() => {
    const hint = readHint();
    if (!hint) {
      setState({ status: 'anonymous', user: null });
      return;
    }
    setState({ status: 'user', user: hint });
    const controller = new AbortController();
    api('GET /api/auth/me', { signal: controller.signal }).then(
      ({ user }) => setUser(user),
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') setUser(null);
      },
    );
    return () => controller.abort();
  }, [setUser]);

  const value = useMemo<AuthContextValue>(() => ({
    ...state,
    async login(email, password) {
      const { user } = await api('POST /api/auth/login', { body: { email, password } });
      setUser(user);
      return user;
    },
    async signup(input) {
      const { user } = await api('POST /api/auth/signup', { body: input });
      setUser(user);
      return user;
    },
    async logout() {
      await api('POST /api/auth/logout').catch(() => {});
      setUser(null);
    },
    sessionExpired: () => setUser(null),
  }), [state, setUser]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside <AuthProvider>');
  return value;
}
