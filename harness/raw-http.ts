import net from 'node:net';

/**
 * HTTP/1.1 over a raw TCP socket, for what fetch cannot send (duplicate headers, Expect,
 * Content-Length with Transfer-Encoding, bodies written slowly or cut short) and for seeing exactly
 * what came back (every response on the connection, interim 100s included, and whether the server
 * closed it).
 */
export type RawResponse = { status: number; headers: Record<string, string>; body: string };

export type RawResult = {
  responses: RawResponse[];
  /** Everything received, as text. */
  text: string;
  /** The server closed (or reset) the connection before the timeout. */
  closed: boolean;
  /** A write failed (EPIPE/ECONNRESET): the server stopped reading. */
  writeError: string | undefined;
};

export type RawOptions = {
  /** Stop waiting after this long (the result says whether the server had closed). */
  timeoutMs?: number;
  /** Pause between the pieces written. */
  gapMs?: number;
  /** Resolve as soon as this many final (non-1xx) responses are complete. */
  responses?: number;
  /** Connect from this local address (any 127.x.y.z on Linux loopback): a distinct client address. */
  localAddress?: string;
  /** The requests are HEAD: their answers have no body, whatever Content-Length says. */
  head?: boolean;
};

const DEFAULT_RAW_TIMEOUT_MS = 5_000;

/** A request head from its parts (`\r\n` line ends, blank line included). */
export function rawHead(method: string, path: string, headers: [string, string][]): string {
  return `${method} ${path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
}

/** Write `pieces` to `url`'s host and port one after another, and collect what comes back. */
export function rawExchange(url: string, pieces: (string | Buffer)[], options: RawOptions = {}): Promise<RawResult> {
  const { hostname, port } = new URL(url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RAW_TIMEOUT_MS;
  return new Promise((resolve) => {
    const socket = net.connect({ port: Number(port), host: hostname, localAddress: options.localAddress });
    const chunks: Buffer[] = [];
    let writeError: string | undefined;
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(text, options.head), text, closed, writeError });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const want = options.responses;
      if (want !== undefined && parseResponses(Buffer.concat(chunks).toString('latin1'), options.head).filter((r) => r.status >= 200).length >= want) finish(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      writeError ??= err.code ?? err.message;
      finish(true);
    });
    socket.on('close', () => finish(true));
    socket.once('connect', () => {
      void (async () => {
        for (const piece of pieces) {
          if (settled || socket.destroyed) return;
          await new Promise<void>((done) => socket.write(piece, () => done()));
          if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
        }
      })();
    });
  });
}

/** The complete responses in `text` (Content-Length or chunked bodies; 1xx and answers to HEAD have none). */
export function parseResponses(text: string, head = false): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
    if (!status) break;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    at = end + 4;
    let body = '';
    if (!head && status >= 200 && status !== 204 && status !== 304) {
      if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (text.length - at < length) break;
        body = text.slice(at, at + length);
        at += length;
      } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const decoded = decodeChunked(text, at);
        if (!decoded) break;
        body = decoded.body;
        at = decoded.next;
      }
    }
    out.push({ status, headers, body });
  }
  return out;
}

function decodeChunked(text: string, from: number): { body: string; next: number } | undefined {
  let at = from;
  let body = '';
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (Number.isNaN(size)) return undefined;
    at = lineEnd + 2;
    if (size === 0) return text.length >= at + 2 ? { body, next: at + 2 } : undefined;
    if (text.length < at + size + 2) return undefined;
    body += text.slice(at, at + size);
    at += size + 2;
  }
}

/** The error code of a JSON error body (`{ error: { code } }`), or undefined. */
export function errorCodeOf(response: RawResponse | undefined): string | undefined {
  try {
    return (JSON.parse(response?.body ?? '') as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
