import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, HERMETIC_LB_POOL, HERMETIC_SERVER, loadBalancerUrl, loadKubeConfig } from '../support/cluster.js';
import { deployRenderedLocal, RFC850 } from '../support/rendered-deploy.js';

/** The IPv4 address as a number, for range checks. */
function ipv4(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function inCidr(address: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(base) / size) * size;
  return ipv4(address) >= start && ipv4(address) < start + size;
}

describe("www's LoadBalancer Service", () => {
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-lb', kc);
    await deployRenderedLocal(kc, namespace);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('gets an address from the load balancer pool that answers this host with the backend time', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const base = await loadBalancerUrl(namespace, 'www', 80, { timeoutMs: 60_000, kc });

    const svc = await kc.makeApiClient(CoreV1Api).readNamespacedService({ name: 'www', namespace });
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
    expect(base).toBe(`http://${ip}:80`);
    if (kc.getCurrentCluster()?.server === HERMETIC_SERVER) expect(inCidr(ip, HERMETIC_LB_POOL), `${ip} in ${HERMETIC_LB_POOL}`).toBe(true);

    // loadBalancerUrl returned once the address accepted a connection
    const res = await request(`${base}/`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toMatch(RFC850);
  });
});
