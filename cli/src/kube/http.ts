import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { CastleError, UnreachableError } from '../errors.js';

/** A failed Kubernetes API call, with the API's Status reason and causes. */
export class KubeApiError extends CastleError {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: readonly { reason?: string; message?: string; field?: string }[] = [],
  ) {
    super('CASTLE_ERR_KUBE_API', message);
  }
}

/** True for a 404 from the API server. */
export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

/** What {@link KubeHttp.request} sends. */
export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Return the body as text (logs, service proxy) instead of parsing JSON. */
  readonly text?: boolean;
  /** Resolve with non-2xx responses instead of throwing (service proxy checks). */
  readonly anyStatus?: boolean;
}

/** A response: status and parsed (or raw) body. */
export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The API server over plain HTTPS with the kubeconfig's credentials. A thin layer so that
 * every call the CLI makes (apply patches, dry runs, proxies, logs) goes through one place
 * with one error model.
 */
export class KubeHttp {
  readonly server: string;
  /** Count of non-GET requests that were not dry runs: `diff` must leave this at 0. */
  writes = 0;

  constructor(private readonly kc: KubeConfig) {
    this.server = kc.getCurrentCluster()?.server ?? '';
  }

  /** Send one request. @throws KubeApiError for non-2xx, UnreachableError when no connection is made. */
  async request(req: KubeRequest): Promise<KubeResponse> {
    const url = new URL(req.path, this.server);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    if (req.method !== 'GET' && url.searchParams.get('dryRun') !== 'All') this.writes += 1;
    const options: https.RequestOptions = { method: req.method, headers: { Accept: req.text ? '*/*' : 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    if (payload !== undefined) {
      options.headers = { ...options.headers, 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    }
    const transport = url.protocol === 'http:' ? http : https;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const call = transport.request(url, { ...options, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      call.on('timeout', () => call.destroy(new Error('no answer within 30 s')));
      call.on('error', (error) =>
        reject(
          new UnreachableError(
            `cannot reach the Kubernetes API server at ${this.server}: ${error.message}`,
            'check --context / CASTLE_CONTEXT and --kubeconfig / KUBECONFIG, and that the cluster is running',
          ),
        ),
      );
      if (payload !== undefined) call.write(payload);
      call.end();
    });
    if (status === 401 || status === 403) {
      if (!req.anyStatus) throw apiError(status, text, `${req.method} ${url.pathname}`);
    }
    if ((status < 200 || status >= 300) && !req.anyStatus) throw apiError(status, text, `${req.method} ${url.pathname}`);
    if (req.text) return { status, body: text };
    return { status, body: text ? parseJson(text) : undefined };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function apiError(status: number, text: string, what: string): KubeApiError {
  const body = parseJson(text) as { reason?: string; message?: string; details?: { causes?: KubeApiError['causes'] } } | string;
  if (typeof body === 'object' && body) {
    return new KubeApiError(status, body.reason ?? String(status), `${what}: ${body.message ?? status}`, body.details?.causes ?? []);
  }
  return new KubeApiError(status, String(status), `${what}: HTTP ${status} ${String(body).slice(0, 200)}`);
}
