/**
 * Stand in, on the hermetic cluster, for a cloud that enforces NetworkPolicies outside the node
 * (EKS: the VPC CNI's policy agent, with the API server on AWS's side of the network): the API
 * server's pod proxy can no longer open a connection to the metrics port of a namespace's pods.
 *
 * No NetworkPolicy can do that here. The API server runs on this host (198.18.0.1), and traffic
 * from a pod's own node is always admitted — the NetworkPolicy API says so, and kube-router puts
 * that rule ahead of every policy (cluster/README.md, "Network policies"). So the connections
 * this host opens to those pods' metrics port are dropped in the `raw` table, which they pass
 * before kube-router's filter chains: a dropped SYN, as a cloud's firewall gives. Prometheus
 * scrapes from its pod through the bridge (the FORWARD path), which this rule does not see, so
 * what reaches the pods is exactly what the shipped policies admit.
 *
 * It needs root and the `iptables` and `ipset` commands (the cluster's own), and changes this
 * host's firewall while it runs: use it only in tests that run alone (the cluster-load project).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

const run = promisify(execFile);

/** A firewall rule in place; {@link stop} removes it (idempotent). */
export interface ApiServerBlock {
  /** The pod addresses dropped so far. */
  readonly addresses: () => readonly string[];
  stop(): Promise<void>;
}

/**
 * Drop this host's connections to `port` of every pod of `namespace`, present and to come (the
 * set follows the namespace's pods every 250 ms, well within the time a new pod takes to become
 * ready).
 */
export async function blockApiServerFromMetrics(kc: KubeConfig, namespace: string, port = 9090): Promise<ApiServerBlock> {
  if (process.getuid?.() !== 0) throw new Error('blocking the API server from the pods needs root (iptables, ipset): run the cluster-load tests as root on the hermetic cluster');
  const id = createHash('sha256').update(namespace).digest('hex').slice(0, 10);
  const set = `castle-noapi-${id}`;
  const chain = `CASTLE-NOAPI-${id}`;
  const added = new Set<string>();
  const cleanup = async (): Promise<void> => {
    for (const args of [
      ['iptables', '-t', 'raw', '-D', 'OUTPUT', '-j', chain],
      ['iptables', '-t', 'raw', '-F', chain],
      ['iptables', '-t', 'raw', '-X', chain],
      ['ipset', 'destroy', set],
    ]) {
      await run(args[0] as string, args.slice(1)).catch(() => undefined);
    }
  };
  // Whatever a run that died left behind goes first.
  await cleanup();
  try {
    await run('ipset', ['create', set, 'hash:ip', '-exist']);
    await run('iptables', ['-t', 'raw', '-N', chain]);
    await run('iptables', ['-t', 'raw', '-A', chain, '-p', 'tcp', '--dport', String(port), '-m', 'set', '--match-set', set, 'dst', '-j', 'DROP']);
    await run('iptables', ['-t', 'raw', '-I', 'OUTPUT', '1', '-j', chain]);
  } catch (error) {
    await cleanup();
    throw new Error(`could not install the firewall rule (needs iptables with the set match, and ipset): ${error instanceof Error ? error.message : String(error)}`);
  }
  const core = kc.makeApiClient(CoreV1Api);
  const sync = async (): Promise<void> => {
    const pods = await core.listNamespacedPod({ namespace });
    for (const ip of pods.items.map((p) => p.status?.podIP).filter((x): x is string => Boolean(x))) {
      if (added.has(ip)) continue;
      await run('ipset', ['add', set, ip, '-exist']);
      added.add(ip);
    }
  };
  await sync();
  const timer = setInterval(() => void sync().catch(() => undefined), 250);
  return {
    addresses: () => [...added],
    stop: async () => {
      clearInterval(timer);
      await cleanup();
    },
  };
}
