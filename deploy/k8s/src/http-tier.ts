import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { throwIfProblems } from './errors.js';
import { defaultProps, type HttpTierProps } from './http-tier-props.js';
import { validateHttpTierProps } from './http-tier-validation.js';
import { selectorLabels, tierLabels } from './labels.js';
import { configMapName, sortedByKey } from './tier-config.js';

export { defaultProps, type AutoscalingProps, type HttpTierProps, type ResourcesProps } from './http-tier-props.js';

/** Port of the Service in front of every tier. */
export const SERVICE_PORT = 80;

/**
 * The grace period kubelet gives a terminating pod, in whole seconds:
 * `ceil((drainDelayMs + longestRequestMs) / 1000) + terminationMarginSeconds`. The service
 * keeps serving for the drain delay, then lets in-flight requests finish for at most the
 * longest request; the margin covers process exit and log flushing, so kubelet's SIGKILL
 * never cuts a request the service itself would have finished.
 */
export function terminationGracePeriodSeconds(drainDelayMs: number, longestRequestMs: number, marginSeconds: number): number {
  return Math.ceil((drainDelayMs + longestRequestMs) / 1000) + marginSeconds;
}

/**
 * An HTTP service tier: ServiceAccount, ConfigMap, Deployment, Service and
 * PodDisruptionBudget, with Castle's safety defaults built in — zero-downtime rolling
 * updates, a configuration of each revision's own (an immutable ConfigMap named by its
 * content, {@link configMapName}), startup/readiness/liveness probes, requests and limits, a
 * non-root read-only container with no capabilities, spread over nodes and zones, and a
 * drain-aware grace period.
 */
export class HttpTier extends Construct {
  /** Labels that select this tier's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** The container port of the HTTP listener. */
  readonly port: number;
  /** The container port of the metrics listener. */
  readonly metricsPort: number;
  /** The name of the tier's ConfigMap, `<tier>-config-<hash of its data>`. */
  readonly configMapName: string;

  constructor(scope: Construct, id: string, props: HttpTierProps) {
    super(scope, id);
    const p = { ...defaultProps, ...props };
    throwIfProblems(validateHttpTierProps(props, p));
    this.selector = selectorLabels(p.name);
    this.port = p.port;
    this.metricsPort = p.metricsPort;
    const labels = tierLabels(p.name, p.version);
    const metadata = (name: string) => ({ name, namespace: p.namespace, labels });
    const data = sortedByKey({
      ...p.config,
      [`${p.envPrefix}_HOST`]: '0.0.0.0',
      [`${p.envPrefix}_PORT`]: String(p.port),
      [`${p.envPrefix}_METRICS_PORT`]: String(p.metricsPort),
      [`${p.envPrefix}_DRAIN_DELAY_MS`]: String(p.drainDelayMs),
      [`${p.envPrefix}_SHUTDOWN_TIMEOUT_MS`]: String(p.longestRequestMs),
    });
    // Named by its content and immutable: pods that are still running on the previous
    // configuration keep reading their own ConfigMap while a new one rolls out (or after it
    // failed), and the pod template's reference to the new name is what rolls the pods.
    this.configMapName = configMapName(p.name, data);

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: metadata(p.name), automountServiceAccountToken: false });
    new k8s.KubeConfigMap(this, 'config', { metadata: metadata(this.configMapName), immutable: true, data });

    const probe = (path: string, extra: Partial<k8s.Probe>): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      timeoutSeconds: 2,
      ...extra,
    });
    const spread = (topologyKey: string): k8s.TopologySpreadConstraint => ({
      maxSkew: 1,
      topologyKey,
      // ScheduleAnyway: a preference, so a single-node or single-zone cluster still schedules.
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: this.selector },
      // Counts only pods of the same ReplicaSet, so a rollout's new pods spread by themselves.
      matchLabelKeys: ['pod-template-hash'],
    });
    const q = (value: string) => k8s.Quantity.fromString(value);
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(p.name),
      spec: {
        ...(p.autoscaling ? {} : { replicas: p.replicas }),
        selector: { matchLabels: this.selector },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) },
        },
        template: {
          metadata: {
            labels,
            ...(Object.keys(p.podAnnotations).length > 0 ? { annotations: { ...p.podAnnotations } } : {}),
          },
          spec: {
            serviceAccountName: p.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: terminationGracePeriodSeconds(p.drainDelayMs, p.longestRequestMs, p.terminationMarginSeconds),
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              runAsGroup: 1000,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            topologySpreadConstraints: [spread('topology.kubernetes.io/zone'), spread('kubernetes.io/hostname')],
            containers: [
              {
                name: p.name,
                image: p.image,
                imagePullPolicy: p.imagePullPolicy,
                ports: [
                  { name: 'http', containerPort: p.port, protocol: 'TCP' },
                  { name: 'metrics', containerPort: p.metricsPort, protocol: 'TCP' },
                ],
                envFrom: [{ configMapRef: { name: this.configMapName } }],
                // The pod's own name (downward API): the `pod` field of every log line and the instance on /version.
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
                resources: {
                  requests: { cpu: q(p.resources.requests.cpu), memory: q(p.resources.requests.memory) },
                  limits: { cpu: q(p.resources.limits.cpu), memory: q(p.resources.limits.memory) },
                },
                // Up to 30 s to start; liveness and readiness begin only after it passes.
                startupProbe: probe('/healthz', { periodSeconds: 1, failureThreshold: 30 }),
                readinessProbe: probe('/readyz', { periodSeconds: 2, failureThreshold: 2 }),
                livenessProbe: probe('/healthz', { periodSeconds: 10, failureThreshold: 3 }),
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  runAsUser: 1000,
                  runAsGroup: 1000,
                  capabilities: { drop: ['ALL'] },
                  seccompProfile: { type: 'RuntimeDefault' },
                },
              },
            ],
          },
        },
      },
    });

    const annotations = Object.keys(p.serviceAnnotations).length > 0 ? { annotations: { ...p.serviceAnnotations } } : {};
    new k8s.KubeService(this, 'service', {
      metadata: { ...metadata(p.name), ...annotations },
      spec: {
        type: p.serviceType,
        selector: this.selector,
        ports: [{ name: 'http', port: SERVICE_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
      metadata: metadata(p.name),
      spec: {
        // maxUnavailable, not minAvailable: with one replica, minAvailable 1 would block every
        // node drain forever, while maxUnavailable 1 lets the drain evict it.
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: this.selector },
        // A crash-looping pod must not block a drain either.
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });
  }
}
