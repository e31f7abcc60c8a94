import type { RequestOptions } from 'node:https';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HERMETIC_SERVER, loadKubeConfig } from '../support/cluster.js';

/** True on the hermetic cluster; with no kubeconfig at all the tests run and fail in beforeAll, saying so. */
const hermetic = ((): boolean => {
  try {
    return loadKubeConfig().getCurrentCluster()?.server === HERMETIC_SERVER;
  } catch {
    return true;
  }
})();

/** Status codes of GETs of `paths` on `base` through `dispatcher`, keyed by path. */
async function statuses(base: string, paths: readonly string[], dispatcher: Agent): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const path of paths) {
    const res = await request(`${base}${path}`, { dispatcher });
    await res.body.dump();
    out[path] = res.statusCode;
  }
  return out;
}

// Other clusters (kind, EKS) commonly let anonymous clients read /healthz and /version;
// the hermetic cluster turns anonymous access off on both the API server and the kubelet.
describe.runIf(hermetic)('the hermetic cluster without credentials', () => {
  let kc: KubeConfig;
  let anonymous: Agent;
  let admin: Agent;

  beforeAll(async () => {
    kc = loadKubeConfig();
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    anonymous = new Agent({ connect: { ca: tls.ca } });
    admin = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key } });
  });

  afterAll(async () => {
    await Promise.all([anonymous.close(), admin.close()]);
  });

  const paths = ['/healthz', '/readyz', '/livez', '/version', '/api/v1/namespaces'];

  it('gets 401 from the API server on every path, health checks included', async () => {
    const server = kc.getCurrentCluster()?.server ?? '';
    expect(await statuses(server, paths, anonymous)).toEqual(Object.fromEntries(paths.map((p) => [p, 401])));
    // the same requests with the admin client certificate succeed: the 401 is about the missing credentials
    expect(await statuses(server, paths, admin)).toEqual(Object.fromEntries(paths.map((p) => [p, 200])));
  });

  it("gets 401 from the node's kubelet", async () => {
    const [node] = (await kc.makeApiClient(CoreV1Api).listNode()).items;
    const ip = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = node?.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    expect({ ip, port }).toEqual({ ip: expect.any(String), port: expect.any(Number) });
    const kubelet = ['/healthz', '/pods', '/metrics'];
    expect(await statuses(`https://${ip}:${port}`, kubelet, anonymous)).toEqual(Object.fromEntries(kubelet.map((p) => [p, 401])));
  });
});
