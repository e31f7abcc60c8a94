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

/**
 * Splits `data` into the responses it holds; throws on anything that is not well-formed HTTP/1.x.
 * `headRequest`: the first request was HEAD, so its final response has headers only.
 */
export function parseResponses(data: string, options: { readonly headRequest?: boolean } = {}): RawResponse[] {
  let bodiless = options.headRequest ?? false;
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
    const status = Number(m[2]);
    let body: string;
    if (status < 200 || (bodiless && (rest === '' || rest.startsWith('HTTP/1.')))) {
      // Interim responses (100 Continue) and the answer to HEAD have no body.
      body = '';
    } else if (headers.get('transfer-encoding') === 'chunked') {
      [body, rest] = dechunk(rest);
    } else {
      const length = Number(headers.get('content-length') ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    if (status >= 200) bodiless = false;
    responses.push({ version: m[1] as string, status, headers, body });
  }
  return responses;
}

/** Decodes a chunked body at the start of `data`; returns it and what follows it. */
function dechunk(data: string): [string, string] {
  let body = '';
  let rest = data;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, lineEnd), 16);
    if (lineEnd < 0 || Number.isNaN(size)) throw new Error(`malformed chunk: ${JSON.stringify(rest.slice(0, 40))}`);
    rest = rest.slice(lineEnd + 2);
    if (size === 0) return [body, rest.slice(rest.indexOf('\r\n') + 2)];
    body += rest.slice(0, size);
    rest = rest.slice(size + 2);
  }
}

/** Signs that a response leaks internals: stack frames or paths of this machine. */
export function leaksInternals(body: string): boolean {
  return /\bat [\w.<>]+ \(|\bat (file:|\/)|node:internal|\/work\/|node_modules/.test(body);
}
