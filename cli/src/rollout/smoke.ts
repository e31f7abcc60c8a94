import { CastleError } from '../errors.js';
import type { Kube } from '../kube/client.js';

/** A check run after the rollout; throws to fail the deploy. */
export type SmokeCheck = (kube: Kube, namespace: string) => Promise<string>;

/** Where {@link serviceProxySmoke} sends its GET. */
export interface SmokeTarget {
  readonly service: string;
  readonly port: number | string;
  readonly path: string;
  readonly expectStatus?: number;
}

/** The default smoke check: `GET /` of the www Service on port 80. */
export const DEFAULT_SMOKE: SmokeTarget = { service: 'www', port: 80, path: '/' };

/**
 * A GET of a Service through the API server's service proxy, expecting 200 (or
 * `expectStatus`). Tries for about 5 s: a Service's endpoints follow its pods' readiness by a moment.
 */
export function serviceProxySmoke(target: SmokeTarget, attempts = 20): SmokeCheck {
  return async (kube, namespace) => {
    const path = `/api/v1/namespaces/${namespace}/services/${target.service}:${target.port}/proxy/${target.path.replace(/^\//, '')}`;
    const expected = target.expectStatus ?? 200;
    let last = '';
    for (let i = 0; i < attempts; i += 1) {
      const { status, body } = await kube.proxyGet(path);
      if (status === expected) return `GET service ${target.service}:${target.port}${target.path} → ${status}`;
      last = `${status} ${body.slice(0, 200).trim()}`;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new CastleError('CASTLE_ERR_SMOKE', `smoke check failed: GET service ${target.service}:${target.port}${target.path} answered ${last}, expected ${expected}`);
  };
}
