import type { IncomingHttpHeaders } from 'node:http';

/**
 * What a browser-facing site must say and refuse (pure: headers in, verdict out).
 * Cross-site request forgery: a cookie-authenticated unsafe request must come from the site's own
 * pages. Browsers send `Origin` on every POST/PUT/PATCH/DELETE and `Sec-Fetch-Site` on most
 * requests; programs (curl, our own tests, peers) send neither and are not browsers carrying
 * ambient credentials.
 */

export type CookieSecureMode = 'auto' | 'on' | 'off';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * True when an unsafe request carries the marks of another site: an `Origin` that is not the
 * site's own (nor one of `siteOrigins` when configured), `Origin: null` (sandboxed frames, some
 * cross-origin redirects), or `Sec-Fetch-Site: cross-site | same-site`. A request authenticated by
 * `Authorization: Bearer` carries no ambient credential and is never refused here.
 */
export function isCrossSiteRequest(method: string, headers: IncomingHttpHeaders, siteOrigins: readonly string[]): boolean {
  if (!UNSAFE_METHODS.has(method)) return false;
  if (headers.authorization?.startsWith('Bearer ')) return false;
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return true;
  const origin = headers.origin;
  if (origin === undefined) return false;
  return !isSiteOrigin(origin, headers.host, siteOrigins);
}

function isSiteOrigin(origin: string, host: string | undefined, siteOrigins: readonly string[]): boolean {
  const parsed = parseOrigin(origin);
  if (!parsed) return false;
  if (siteOrigins.length) return siteOrigins.includes(parsed.origin);
  // No configured origin: the site is whatever Host the request was sent to (the gateway forwards
  // Host as the client sent it, so this holds through the gateway too).
  return host !== undefined && sameHost(parsed, host);
}

function parseOrigin(origin: string): URL | undefined {
  if (origin === 'null') return undefined;
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

function sameHost(origin: URL, host: string): boolean {
  const defaultPort = DEFAULT_PORT[origin.protocol]!;
  const originHost = `${origin.hostname}:${origin.port || defaultPort}`;
  const lower = host.toLowerCase();
  // `localhost:3000`, `[::1]:3000`, or `site.example` meaning the scheme's default port.
  return originHost === (/:\d+$/.test(lower) ? lower : `${lower}:${defaultPort}`);
}

/** `SITE_ORIGIN=https://a.example,https://b.example` → normalised origins; throws on a bad one. */
export function parseSiteOrigins(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  return value.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const url = parseOrigin(s);
    if (!url || url.pathname !== '/' || url.search || url.hash || url.username) {
      throw new Error(`SITE_ORIGIN: ${s} is not an origin like https://tickets.example`);
    }
    return url.origin;
  });
}

/** Whether the session cookie gets `Secure`: always, never, or when the request came over TLS. */
export function wantsSecureCookie(mode: CookieSecureMode, headers: IncomingHttpHeaders): boolean {
  if (mode !== 'auto') return mode === 'on';
  // Set by the gateway from a trusted TLS front proxy; the first hop is the client's.
  const proto = headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

/**
 * Pages: Next.js hydrates with inline scripts (hence 'unsafe-inline' for scripts; no nonces), and
 * renders inline style attributes. In development its hot reload needs eval and a websocket.
 */
export function pageContentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** API answers are data, never documents: nothing may load from them or frame them. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Sent with every answer of a node, pages and API alike (Content-Security-Policy comes beside). */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
];
