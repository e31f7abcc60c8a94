import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { type Prerequisite, type PrerequisiteInput, unknownBecause } from './types.js';

interface Service extends KubeObject {
  spec?: { type?: string; loadBalancerClass?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** Load balancer implementations that announce themselves with an API group of their own. */
export const KNOWN_LOAD_BALANCERS: readonly { readonly group: string; readonly name: string }[] = [
  { group: 'metallb.io', name: 'MetalLB' },
  { group: 'elbv2.k8s.aws', name: 'the AWS Load Balancer Controller' },
  { group: 'purelb.io', name: 'PureLB' },
  { group: 'network.kubesphere.io', name: 'OpenELB' },
];

const AWS_LBC = { group: 'elbv2.k8s.aws', fix: 'install the AWS Load Balancer Controller: helm install aws-load-balancer-controller eks/aws-load-balancer-controller --namespace kube-system --set clusterName=<cluster>' };

/** Whether a Service asks for the AWS Load Balancer Controller (its annotations or class), which nothing else serves. */
const wantsAwsController = (s: Service): boolean =>
  s.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type'] === 'external' || s.spec?.loadBalancerClass === 'service.k8s.aws/nlb';

/**
 * Whether something will give each Service of type LoadBalancer an address. There is no API
 * for "a load balancer implementation runs", so: a Service that has an address already is
 * served; one that asks for the AWS Load Balancer Controller needs its API group; otherwise a
 * known implementation's API group (MetalLB, …) counts, and without one castle cannot tell — a
 * cloud's built-in load balancer (EKS, GKE, AKS) leaves no trace in the API.
 */
export async function checkLoadBalancers(kube: Kube, input: PrerequisiteInput): Promise<Prerequisite[]> {
  const wanted = (input.objects as Service[]).filter((o) => o.kind === 'Service' && o.spec?.type === 'LoadBalancer');
  let groups: Promise<string[]> | undefined;
  const served = () => (groups ??= kube.groups());
  const out: Prerequisite[] = [];
  for (const s of wanted) {
    const what = `a load balancer for Service ${s.metadata.name} (type LoadBalancer)`;
    try {
      const live = await kube.get<Service>({ apiVersion: 'v1', kind: 'Service', namespace: input.namespace, name: s.metadata.name });
      const address = live?.status?.loadBalancer?.ingress?.map((i) => i.ip ?? i.hostname).find(Boolean);
      if (address) {
        out.push({ check: 'load-balancer', what, status: 'ok', detail: `Service ${s.metadata.name} has the address ${address}` });
        continue;
      }
      const apis = await served();
      if (wantsAwsController(s)) {
        const ok = apis.includes(AWS_LBC.group);
        out.push({
          check: 'load-balancer',
          what,
          status: ok ? 'ok' : 'missing',
          detail: ok ? 'the AWS Load Balancer Controller is installed (elbv2.k8s.aws)' : `its annotations ask for the AWS Load Balancer Controller, whose API (${AWS_LBC.group}) the cluster does not serve`,
          ...(ok ? {} : { fix: AWS_LBC.fix }),
        });
        continue;
      }
      if (s.spec?.loadBalancerClass) {
        out.push({ check: 'load-balancer', what, status: 'unknown', detail: `it asks for loadBalancerClass ${s.spec.loadBalancerClass}; castle cannot tell whether its controller runs` });
        continue;
      }
      const known = KNOWN_LOAD_BALANCERS.filter((lb) => apis.includes(lb.group));
      if (known.length > 0) {
        out.push({ check: 'load-balancer', what, status: 'ok', detail: `${known.map((lb) => `${lb.name} (${lb.group})`).join(', ')} installed` });
      } else {
        out.push({
          check: 'load-balancer',
          what,
          status: 'unknown',
          detail: `no Service ${s.metadata.name} with an address yet, and none of ${KNOWN_LOAD_BALANCERS.map((lb) => lb.group).join(', ')} is served; a cloud's own load balancer would not show in the API`,
          fix: "on a cloud, its load balancer (nothing to install); on bare metal MetalLB (the hermetic cluster's npm run cluster:up installs it; elsewhere helm install metallb metallb/metallb --namespace metallb-system --create-namespace, with an IPAddressPool)",
        });
      }
    } catch (error) {
      out.push({ check: 'load-balancer', what, status: 'unknown', detail: unknownBecause(error) });
    }
  }
  return out;
}
