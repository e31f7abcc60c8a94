import type { Kube } from '../kube/client.js';
import { checkImages } from './images.js';
import { checkKinds } from './kinds.js';
import { checkLoadBalancers } from './load-balancer.js';
import { checkMetricsScrape } from './metrics-scrape.js';
import { checkPermissions } from './permissions.js';
import type { Prerequisite, PrerequisiteDeps, PrerequisiteInput } from './types.js';

/**
 * Everything the release needs on the cluster, each with whether it is there: the kinds it
 * applies (CRDs), Prometheus' namespace admitted to the metrics ports, a load balancer, the
 * images, and the deployer's permissions. Reads only (access reviews write nothing).
 * @throws UnreachableError, or a KubeApiError for refused credentials (401): as every command
 */
export async function checkPrerequisites(kube: Kube, input: PrerequisiteInput, deps: PrerequisiteDeps = {}): Promise<Prerequisite[]> {
  const kinds = await checkKinds(kube, input.objects);
  const rest = await Promise.all([checkMetricsScrape(kube, input), checkLoadBalancers(kube, input), checkImages(kube, input, deps), checkPermissions(kube, input, kinds.served)]);
  return [...kinds.prerequisites, ...rest.flat()];
}
