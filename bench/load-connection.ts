import net from 'node:net';

export type LoadResponse = { status: number; body: string };

/**
 * One keep-alive HTTP/1.1 connection of a load generator, one request at a time: a client of a
 * closed-loop benchmark. Why not undici: on the 2-core machines we measure on, undici's request()
 * costs about 0.12 ms of CPU per request and this about 0.06 (bench notes in docs/benchmarks.md), and
 * every millisecond the load generator uses is taken from the system under test — pgbench's own
 * client, the other side of the comparison, costs about 0.04. It understands just what our API
 * answers: a status line, headers and a Content-Length body (anything else is an error).
 */
export class LoadConnection {
  private socket: net.Socket | undefined;
  private received: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: LoadResponse) => void; reject: (err: Error) => void } | undefined;
  private closed = false;
  private readonly port: number;
  private readonly hostname: string;
  private readonly host: string;

  constructor(url: string) {
    const { hostname, port, host } = new URL(url);
    this.hostname = hostname;
    this.port = Number(port);
    this.host = host;
  }

  /** `headers` are extra header lines, e.g. `{ authorization: 'Bearer …' }`; a body is sent as JSON. */
  async request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<LoadResponse> {
    if (this.closed) throw new Error('this LoadConnection is closed');
    if (this.pending) throw new Error('one request at a time on a LoadConnection');
    // The server closes a connection that stayed idle past its keep-alive timeout: open a new one.
    const socket = this.socket ?? (await this.connect());
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    if (body !== undefined) head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(`${head}\r\n${body ?? ''}`);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.hostname);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('error', (err) => this.lost(socket, err));
        socket.on('close', () => this.lost(socket, new Error('the server closed the connection during a request')));
        this.socket = socket;
        this.received = Buffer.alloc(0);
        resolve(socket);
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
    const headEnd = this.received.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.received.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.lost(this.socket!, new Error(`a response without Content-Length: ${head.slice(0, 200)}`));
    const end = headEnd + 4 + Number(length[1]);
    if (this.received.length < end) return;
    const response = { status: Number(head.slice(9, 12)), body: this.received.toString('utf8', headEnd + 4, end) };
    this.received = this.received.subarray(end);
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return this.lost(this.socket!, new Error('a response nobody asked for'));
    pending.resolve(response);
  }

  /** The connection is gone: a request under way fails (a POST is not retried), the next one reconnects. */
  private lost(socket: net.Socket, err: Error): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    socket.destroy();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
  }
}
