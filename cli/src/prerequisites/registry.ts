import type { CheckStatus } from './types.js';

/** An image reference, split: `registry.example.com/castle/www:1.4.2`. */
export interface ImageRef {
  /** `docker.io` when the reference names none. */
  readonly registry: string;
  /** `library/` added for Docker Hub's single-name images. */
  readonly repository: string;
  /** A tag (`latest` when none) or a digest. */
  readonly reference: string;
  /** Whether the reference named its registry. */
  readonly explicitRegistry: boolean;
}

/** Split an image reference as container runtimes do (the first part is a registry when it has a '.' or ':' or is localhost). */
export function parseImage(image: string): ImageRef {
  const [first = '', ...rest] = image.split('/');
  const explicitRegistry = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = explicitRegistry ? first : 'docker.io';
  let path = explicitRegistry ? rest.join('/') : image;
  let reference = 'latest';
  const at = path.indexOf('@');
  if (at >= 0) {
    reference = path.slice(at + 1);
    path = path.slice(0, at);
  } else {
    const colon = path.lastIndexOf(':');
    if (colon > path.lastIndexOf('/')) {
      reference = path.slice(colon + 1);
      path = path.slice(0, colon);
    }
  }
  const repository = registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
  return { registry, repository, reference, explicitRegistry };
}

/** The full name a node reports an image by: `docker.io/castle/www:1.4.2`. */
export function normalizeImage(image: string): string {
  const r = parseImage(image);
  return `${r.registry}/${r.repository}${r.reference.includes(':') ? '@' : ':'}${r.reference}`;
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/**
 * Whether a registry has the image's manifest, asked from this machine: `HEAD
 * /v2/<repository>/manifests/<reference>`, anonymously, with the registry's bearer-token flow
 * when it asks for one. 200 is there, 404 is not; 401/403 (credentials needed) and no answer
 * cannot tell, since the nodes pull with their own credentials and network.
 */
export async function registryHas(image: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<{ status: CheckStatus; detail: string }> {
  const r = parseImage(image);
  const host = r.registry === 'docker.io' ? 'registry-1.docker.io' : r.registry;
  const scheme = /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(host) ? 'http' : 'https';
  const url = `${scheme}://${host}/v2/${r.repository}/manifests/${r.reference}`;
  const head = (authorization?: string) =>
    fetchImpl(url, { method: 'HEAD', headers: { Accept: ACCEPT, ...(authorization ? { Authorization: authorization } : {}) }, signal: AbortSignal.timeout(timeoutMs) });
  try {
    let res = await head();
    const challenge = res.status === 401 ? bearerChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge?.realm) {
      const tokenUrl = new URL(challenge.realm);
      if (challenge.service) tokenUrl.searchParams.set('service', challenge.service);
      tokenUrl.searchParams.set('scope', challenge.scope ?? `repository:${r.repository}:pull`);
      const tokenRes = await fetchImpl(tokenUrl, { signal: AbortSignal.timeout(timeoutMs) });
      const token = tokenRes.ok ? ((await tokenRes.json()) as { token?: string; access_token?: string }) : {};
      const bearer = token.token ?? token.access_token;
      if (bearer) res = await head(`Bearer ${bearer}`);
    }
    if (res.ok) return { status: 'ok', detail: `${r.registry} has it (HEAD ${url} answered ${res.status}, anonymously, from this machine)` };
    if (res.status === 404) return { status: 'missing', detail: `${r.registry} does not have it (HEAD ${url} answered 404)` };
    if (res.status === 401 || res.status === 403) return { status: 'unknown', detail: `${r.registry} wants credentials to tell (HTTP ${res.status}); the nodes pull with their own` };
    return { status: 'unknown', detail: `${r.registry} answered HTTP ${res.status} to HEAD ${url}` };
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    return { status: 'unknown', detail: `${r.registry} cannot be reached from this machine (${cause}); the nodes may reach it` };
  }
}
