import { type DeployerKind, type DeployerRule, deployerRules } from '@castle/k8s';
import type { AccessReviewSpec, Kube } from '../kube/client.js';
import { type Prerequisite, type PrerequisiteInput, unknownBecause } from './types.js';

/** One access a rule grants: what to ask a SelfSubjectAccessReview, and how to say it. */
export interface Access {
  readonly spec: AccessReviewSpec;
  /** `patch networkpolicies.networking.k8s.io in namespace castle`. */
  readonly text: string;
  readonly rule: DeployerRule;
}

/** Every single access of the rules: one verb on one resource (and name) or one path. */
export function accessesOf(rules: readonly DeployerRule[]): Access[] {
  return rules.flatMap((rule) =>
    rule.verbs.flatMap((verb): Access[] => {
      if (rule.nonResourceURLs) return rule.nonResourceURLs.map((path) => ({ rule, spec: { nonResourceAttributes: { verb, path } }, text: `${verb} ${path}` }));
      return (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).flatMap((both) =>
          (rule.resourceNames?.length ? rule.resourceNames : [undefined]).map((name): Access => {
            const [resource = '', subresource] = both.split('/');
            // A Namespace object is asked about in itself, as the API server sees a request for it.
            const namespace = rule.namespace ?? (resource === 'namespaces' ? name : undefined);
            const shown = `${resource}${group ? `.${group}` : ''}${subresource ? `/${subresource}` : ''}`;
            return {
              rule,
              spec: { resourceAttributes: { verb, group, resource, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) } },
              text: `${verb} ${shown}${name ? ` "${name}"` : ''}${rule.namespace ? ` in namespace ${rule.namespace}` : ''}`,
            };
          }),
        ),
      );
    }),
  );
}

/** Access reviews in flight at once. */
const CONCURRENCY = 8;

/**
 * Whether the kubeconfig's user has every rule castle needs (the deployer's rules for these
 * kinds, or only those of `input.command`): a SelfSubjectAccessReview per access, which the
 * API server answers with whatever authorizers it runs (RBAC, webhooks).
 */
export async function checkPermissions(kube: Kube, input: PrerequisiteInput, kinds: readonly DeployerKind[]): Promise<Prerequisite[]> {
  const rules = deployerRules({ namespace: input.namespace, kinds, prometheus: input.prometheus }).filter((r) => !input.command || r.commands.includes(input.command));
  const accesses = accessesOf(rules);
  const denied: Access[] = [];
  let failure: string | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < accesses.length && failure === undefined) {
      const access = accesses[next++] as Access;
      try {
        if (!(await kube.review(access.spec)).allowed) denied.push(access);
      } catch (error) {
        failure ??= unknownBecause(error);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const scope = input.command ? `what ${input.command} needs of the deployer's rules` : "the deployer's rules";
  if (failure !== undefined) {
    return [{ check: 'permissions', what: scope, status: 'unknown', detail: `access reviews failed: ${failure}`, fix: 'let the user create selfsubjectaccessreviews (every authenticated user may, by system:basic-user)' }];
  }
  if (denied.length === 0) return [{ check: 'permissions', what: scope, status: 'ok', detail: `all ${accesses.length} accesses granted (SelfSubjectAccessReview)` }];
  const install = `install the deployer's rules as a cluster admin: castle rbac${input.env ? ` --env ${input.env}` : ''} -n ${input.namespace} | kubectl apply --server-side -f -${input.env ? ` (or deploy/k8s/rendered/${input.env}-deployer.yaml)` : ''}`;
  const order = new Map(accesses.map((a, i) => [a, i]));
  return denied
    .sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0))
    .map((a) => ({ check: 'permissions', what: `permission ${a.text}`, status: 'missing', detail: `not granted to the kubeconfig's user; castle needs it for ${a.rule.why}`, fix: install }));
}
