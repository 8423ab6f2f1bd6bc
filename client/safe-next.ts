/**
 * Where to go after logging in (`/login?next=…`): only ever a path of this site. Anything else —
 * `//evil.com`, `/\evil.com`, `https://evil.com`, `javascript:…`, control characters (URL parsers
 * drop tabs and newlines, so `/\t/evil.com` would become `//evil.com`), or the same once
 * %-decoded — becomes `/`.
 */
const FALLBACK = '/';
const MAX_NEXT_LENGTH = 2_048;
/** `%25252F…`: more layers of encoding than this are not a real link. */
const MAX_DECODE_ROUNDS = 4;
// Never a real origin: only used to see whether the browser would leave the site.
const PROBE_ORIGIN = 'https://site.invalid';

export function safeNextPath(value: string | null | undefined): string {
  if (typeof value !== 'string' || value.length > MAX_NEXT_LENGTH) return FALLBACK;
  let layer = value;
  for (let round = 0; ; round++) {
    if (!isPlainLocalPath(layer)) return FALLBACK;
    const decoded = decodeOnce(layer);
    if (decoded === undefined || round >= MAX_DECODE_ROUNDS) return FALLBACK;
    if (decoded === layer) break;
    layer = decoded;
  }
  const url = new URL(value, PROBE_ORIGIN);
  if (url.origin !== PROBE_ORIGIN) return FALLBACK;
  return url.pathname + url.search + url.hash;
}

/** One leading `/`, not `//` or `/\`, no backslash or control character anywhere. */
function isPlainLocalPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !/[\\\u0000-\u001f\u007f]/.test(path);
}

function decodeOnce(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
