import { checkDnsLabel, checkInteger, checkQuantity, show } from './checks.js';
import type { HttpTierProps, defaultProps } from './http-tier-props.js';

/**
 * Every problem of an {@link HttpTier}'s props, each naming the prop and the value.
 * @param raw the props as given (to tell an explicit `replicas` from the default)
 * @param p the props merged with their defaults
 */
export function validateHttpTierProps(raw: HttpTierProps, p: typeof defaultProps & HttpTierProps): string[] {
  const problems = [
    ...checkDnsLabel('name', p.name),
    ...checkDnsLabel('namespace', p.namespace),
    ...(p.image.trim() === '' ? [`image: must be an image reference, got ${show(p.image)}`] : []),
    ...(/^[A-Z][A-Z0-9_]*$/.test(p.envPrefix) ? [] : [`envPrefix: must be upper-case letters, digits and '_', got ${show(p.envPrefix)}`]),
    ...checkInteger('port', p.port, 1, 65_535),
    ...checkInteger('metricsPort', p.metricsPort, 1, 65_535),
    ...(p.port === p.metricsPort ? [`metricsPort: must differ from port, got ${p.metricsPort} for both`] : []),
    ...checkInteger('drainDelayMs', p.drainDelayMs, 0, 300_000),
    ...checkInteger('longestRequestMs', p.longestRequestMs, 100, 600_000),
    ...checkInteger('terminationMarginSeconds', p.terminationMarginSeconds, 0, 300),
    ...checkQuantity('resources.requests.cpu', p.resources.requests.cpu),
    ...checkQuantity('resources.requests.memory', p.resources.requests.memory),
    ...checkQuantity('resources.limits.cpu', p.resources.limits.cpu),
    ...checkQuantity('resources.limits.memory', p.resources.limits.memory),
  ];
  if (p.autoscaling) {
    if (raw.replicas !== undefined) problems.push(`replicas: must be unset when autoscaling is set (the autoscaler owns it), got ${raw.replicas}`);
    problems.push(...checkInteger('autoscaling.minReplicas', p.autoscaling.minReplicas, 1));
    problems.push(...checkInteger('autoscaling.maxReplicas', p.autoscaling.maxReplicas, 1));
    if (p.autoscaling.maxReplicas < p.autoscaling.minReplicas) {
      problems.push(`autoscaling.maxReplicas: must be ≥ autoscaling.minReplicas (${p.autoscaling.minReplicas}), got ${p.autoscaling.maxReplicas}`);
    }
  } else {
    problems.push(...checkInteger('replicas', p.replicas, 1));
  }
  const owned = ['HOST', 'PORT', 'METRICS_PORT', 'DRAIN_DELAY_MS', 'SHUTDOWN_TIMEOUT_MS'].map((k) => `${p.envPrefix}_${k}`);
  for (const key of Object.keys(p.config)) {
    if (owned.includes(key)) problems.push(`config.${key}: set by the construct from its own props; remove it, got ${show(p.config[key])}`);
    else if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) problems.push(`config.${key}: must be an environment variable name, got ${show(key)}`);
  }
  return problems;
}

