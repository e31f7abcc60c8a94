/** The props of an HTTP tier (`HttpTier`) and their defaults: shared by the construct and its validation. */

/** CPU and memory of the tier's container. */
export interface ResourcesProps {
  /** What the scheduler reserves, and what an autoscaler's utilisation is measured against. */
  readonly requests: { readonly cpu: string; readonly memory: string };
  /** The ceiling: the container is throttled at the CPU limit and killed past the memory limit. */
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/**
 * The seam for the autoscaler objects (KEDA ScaledObject / HPA) that come later. Its presence
 * alone changes the Deployment: `spec.replicas` is omitted, so an apply never fights the
 * autoscaler over the replica count.
 */
export interface AutoscalingProps {
  /** Fewest replicas the autoscaler keeps. */
  readonly minReplicas: number;
  /** Most replicas the autoscaler may run. */
  readonly maxReplicas: number;
}

/** Properties of {@link HttpTier}. */
export interface HttpTierProps {
  /** Tier name: the name of its objects and its `app.kubernetes.io/name` label. */
  readonly name: string;
  /** Namespace of every object. */
  readonly namespace: string;
  /** Container image reference, tag included. */
  readonly image: string;
  /** Version of the release, the `app.kubernetes.io/version` label. */
  readonly version: string;
  /** Prefix of the service's environment variables (`WWW`, `BACKEND`). */
  readonly envPrefix: string;
  /**
   * The service's own configuration: environment variables, set through the tier's
   * ConfigMap. Variables the construct owns (host, ports, drain and shutdown) may not appear.
   * @default {}
   */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * Replica count. Must stay unset when `autoscaling` is set.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Set when an autoscaler owns the replica count; the Deployment then has no `spec.replicas`.
   * @default undefined (fixed `replicas`)
   */
  readonly autoscaling?: AutoscalingProps;
  /** @default requests 50m / 64Mi, limits 500m / 256Mi */
  readonly resources?: ResourcesProps;
  /** @default 'IfNotPresent' (release tags are immutable) */
  readonly imagePullPolicy?: 'IfNotPresent' | 'Always';
  /** Port of the service's HTTP listener, the container port named `http`. @default 8080 */
  readonly port?: number;
  /** Port of the management listener that serves /metrics, named `metrics`. @default 9090 */
  readonly metricsPort?: number;
  /** How long the service keeps serving after SIGTERM while /readyz reports draining. @default 5000 */
  readonly drainDelayMs?: number;
  /**
   * The longest request the service lets finish after the drain delay; it becomes the
   * service's shutdown timeout. @default 10000
   */
  readonly longestRequestMs?: number;
  /** Seconds added to the grace period for the process to exit and flush its logs. @default 5 */
  readonly terminationMarginSeconds?: number;
  /** @default 'ClusterIP' */
  readonly serviceType?: 'ClusterIP' | 'LoadBalancer';
  /** Annotations of the Service (a cloud load balancer's settings). @default {} */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /** Extra annotations of the pod template. @default {} */
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

/** The defaults of {@link HttpTierProps}. */
export const defaultProps: Required<Omit<HttpTierProps, 'name' | 'namespace' | 'image' | 'version' | 'envPrefix' | 'autoscaling'>> = {
  config: {},
  replicas: 1,
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  imagePullPolicy: 'IfNotPresent',
  port: 8080,
  metricsPort: 9090,
  drainDelayMs: 5_000,
  longestRequestMs: 10_000,
  terminationMarginSeconds: 5,
  serviceType: 'ClusterIP',
  serviceAnnotations: {},
  podAnnotations: {},
};
