import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

/** What the proxy does to one call instead of passing it on. */
export type Fault =
  /** Answer this status (a Kubernetes Status body), with `Retry-After` when given. */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string; readonly message?: string }
  /** Reset the connection (TCP RST) without answering: the client sees ECONNRESET. */
  | { readonly kind: 'reset' }
  /** Never answer: the client's time limit has to end the call. */
  | { readonly kind: 'hang' };

/** `429 Too Many Requests` with `Retry-After: <seconds>`. */
export const tooManyRequests = (retryAfterSeconds: number): Fault => ({ kind: 'status', status: 429, retryAfter: String(retryAfterSeconds), message: 'too many requests, please try again later' });
/** An error status with a Kubernetes Status body. */
export const status = (code: number, message = http.STATUS_CODES[code] ?? 'error'): Fault => ({ kind: 'status', status: code, message });
/** A connection reset. */
export const reset = (): Fault => ({ kind: 'reset' });
/** No answer at all. */
export const hang = (): Fault => ({ kind: 'hang' });

/** Which calls a rule applies to. Unset fields match anything. */
export interface CallMatch {
  readonly method?: string;
  /** Matched against the path without the query string. */
  readonly path?: RegExp;
}

/** Faults for the calls matching `match`: `faults[i]` for the i-th such call, then `always` (if any), else passed on. */
export interface FaultRule {
  readonly match?: CallMatch;
  readonly faults?: readonly Fault[];
  readonly always?: Fault;
}

/** One call the proxy saw. */
export interface ProxiedCall {
  readonly method: string;
  readonly path: string;
  /** `status 503`, `reset`, `hang`, or undefined when passed on. */
  readonly fault?: string;
}

/** Where calls that are not faulted go. */
export type Upstream =
  /**
   * A base URL (http or https), with the request options every upstream call gets: for a real
   * API server, what `KubeConfig.applyToHTTPSOptions` fills in (ca, cert, key, an
   * Authorization header), so the client under test can talk plain HTTP to the proxy.
   */
  | { readonly url: string; readonly options?: https.RequestOptions }
  /** Answer in-process (a fake API). */
  | http.RequestListener;

/** A started proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every call, in order of arrival. */
  readonly calls: readonly ProxiedCall[];
  /** Emits `call` with each {@link ProxiedCall} as it arrives, before it is faulted or passed on. */
  readonly events: EventEmitter<{ call: [ProxiedCall] }>;
  /** Add a rule; the first rule that matches a call decides it. */
  inject(rule: FaultRule): void;
  /** Drop every rule: calls are passed on. */
  clear(): void;
  /** Calls matching `match`. */
  count(match?: CallMatch): number;
  close(): Promise<void>;
}

const matches = (m: CallMatch | undefined, method: string, path: string): boolean => (!m?.method || m.method === method) && (!m?.path || m.path.test(path));

/**
 * A loopback HTTP server in front of an API (an in-process fake, or a real API server at a
 * URL) that answers chosen calls with a fault — an error status, a reset connection, no
 * answer — and passes the others on, recording every call.
 *
 * In front of a real cluster, the proxy holds the credentials and the client talks plain
 * HTTP to it (a kubeconfig with `server: <proxy.url>` and `insecure-skip-tls-verify: true`):
 *
 * ```ts
 * const options: https.RequestOptions = {};
 * await kc.applyToHTTPSOptions(options); // ca, cert, key, Authorization
 * const proxy = await startFaultProxy({ url: kc.getCurrentCluster()!.server, options });
 * proxy.inject({ match: { method: 'PATCH', path: /\/deployments\/www$/ }, faults: [status(503), reset()] });
 * ```
 */
export async function startFaultProxy(upstream: Upstream): Promise<FaultProxy> {
  const rules: { rule: FaultRule; seen: number }[] = [];
  const calls: ProxiedCall[] = [];
  const events = new EventEmitter<{ call: [ProxiedCall] }>();

  const faultFor = (method: string, path: string): Fault | undefined => {
    for (const entry of rules) {
      if (!matches(entry.rule.match, method, path)) continue;
      entry.seen += 1;
      return entry.rule.faults?.[entry.seen - 1] ?? entry.rule.always;
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const fault = faultFor(method, path);
    const call: ProxiedCall = { method, path, fault: fault && (fault.kind === 'status' ? `status ${fault.status}` : fault.kind) };
    calls.push(call);
    events.emit('call', call);
    if (!fault) {
      passOn(upstream, req, res);
      return;
    }
    // Read the request body first so that the client has sent everything before the fault.
    req.resume();
    req.on('end', () => {
      if (fault.kind === 'reset') req.socket.resetAndDestroy();
      else if (fault.kind === 'status') {
        const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: fault.message, reason: http.STATUS_CODES[fault.status], code: fault.status });
        res.writeHead(fault.status, { 'Content-Type': 'application/json', ...(fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {}) });
        res.end(body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    events,
    inject: (rule) => void rules.push({ rule, seen: 0 }),
    clear: () => void rules.splice(0),
    count: (match) => calls.filter((c) => matches(match, c.method, c.path)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function passOn(upstream: Upstream, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (typeof upstream === 'function') {
    upstream(req, res);
    return;
  }
  const target = new URL(req.url ?? '/', upstream.url);
  const transport = target.protocol === 'https:' ? https : http;
  const options = upstream.options ?? {};
  const headers = { ...req.headers, ...(options.headers as http.OutgoingHttpHeaders | undefined), host: target.host };
  const forward = transport.request(target, { ...options, method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  forward.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`fault proxy: upstream ${upstream.url}: ${error.message}`);
  });
  req.pipe(forward);
}
