import { connect } from 'node:net';

/** What came back on one raw TCP connection. */
export interface RawExchange {
  /** Everything the server sent, as latin1 so any byte survives. */
  readonly data: string;
  /** Whether the server closed the connection before the deadline. */
  readonly closedByServer: boolean;
  /** Milliseconds from connect to close (or to the deadline). */
  readonly ms: number;
  readonly error?: string;
}

export interface RawOptions {
  /** Give up (and destroy the socket) after this long. */
  readonly deadlineMs: number;
  /** Half-close after writing, so the server sees the end of the request stream. */
  readonly end?: boolean;
}

/**
 * Opens a connection to 127.0.0.1:`port`, writes `payload` as is and reads until the server
 * closes or the deadline passes: for heads no HTTP client would send.
 */
export function rawExchange(port: number, payload: string | Buffer, options: RawOptions): Promise<RawExchange> {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks).toString('latin1');
      resolve({ data, closedByServer, ms: performance.now() - started, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false), options.deadlineMs);
    socket.on('connect', () => {
      socket.write(payload);
      if (options.end) socket.end();
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on('close', () => finish(true));
  });
}

/** A parsed HTTP/1.x response: status, lower-cased headers and body (not de-chunked). */
export interface RawResponse {
  readonly version: string;
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Splits `data` into the responses it holds; throws on anything that is not well-formed HTTP/1.x. */
export function parseResponses(data: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = data;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`incomplete response head: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine = '', ...headerLines] = rest.slice(0, headEnd).split('\r\n');
    const m = /^(HTTP\/1\.[01]) ([1-5]\d\d) [^\r\n]*$/.exec(statusLine);
    if (!m) throw new Error(`malformed status line: ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    rest = rest.slice(headEnd + 4);
    let length = Number(headers.get('content-length') ?? 0);
    if (headers.get('transfer-encoding') === 'chunked') {
      const end = rest.indexOf('\r\n0\r\n\r\n');
      length = end < 0 ? rest.length : end + 7;
    }
    responses.push({ version: m[1] as string, status: Number(m[2]), headers, body: rest.slice(0, length) });
    rest = rest.slice(length);
  }
  return responses;
}

/** Signs that a response leaks internals: stack frames or paths of this machine. */
export function leaksInternals(body: string): boolean {
  return /\bat [\w.<>]+ \(|\bat (file:|\/)|node:internal|\/work\/|node_modules/.test(body);
}
