import type { V1Deployment, V1Service } from '@kubernetes/client-node';

/** Where the images come from: `castle/<tier>:dev` unless CASTLE_IMAGE_PREFIX / CASTLE_IMAGE_TAG say otherwise. */
export function imageFor(tier: string): string {
  const prefix = process.env.CASTLE_IMAGE_PREFIX ?? 'castle';
  const tag = process.env.CASTLE_IMAGE_TAG ?? 'dev';
  return `${prefix}/${tier}:${tag}`;
}

export interface TierSpec {
  readonly name: 'www' | 'backend';
  readonly replicas: number;
  readonly env: Record<string, string>;
}

/**
 * A plain Deployment and Service for one tier, with the security and health settings every
 * Castle pod carries: the restricted Pod Security Standard (non-root, RuntimeDefault
 * seccomp, no privilege escalation, no capabilities) and a read-only root filesystem, probes
 * on /healthz and /readyz, requests and limits, and no service-link variables.
 */
export function tierManifests({ name, replicas, env }: TierSpec): { deployment: V1Deployment; service: V1Service } {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'castle' };
  const prefix = name.toUpperCase();
  const probe = (path: string) => ({ httpGet: { path, port: 'http' }, periodSeconds: 2, timeoutSeconds: 2 });
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name,
              image: imageFor(name),
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: 'http', containerPort: 8080 },
                { name: 'metrics', containerPort: 9090 },
              ],
              env: Object.entries({ [`${prefix}_DRAIN_DELAY_MS`]: '3000', ...env }).map(([k, v]) => ({ name: k, value: v })),
              readinessProbe: probe('/readyz'),
              livenessProbe: { ...probe('/healthz'), failureThreshold: 3 },
              startupProbe: { ...probe('/healthz'), periodSeconds: 1, failureThreshold: 60 },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  return { deployment, service };
}
