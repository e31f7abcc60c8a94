/** The labels every Castle object carries, and the smaller, immutable set that selects a tier's pods. */

/** `app.kubernetes.io/part-of` of every object. */
export const PART_OF = 'castle';

/** Labels that select one tier's pods. Deployment selectors are immutable, so no version here. */
export function selectorLabels(tier: string): Record<string, string> {
  return { 'app.kubernetes.io/name': tier, 'app.kubernetes.io/part-of': PART_OF };
}

/** Labels of a tier's objects and pods: the selector labels plus the version. */
export function tierLabels(tier: string, version: string): Record<string, string> {
  return { ...selectorLabels(tier), 'app.kubernetes.io/version': version };
}

/** Labels of objects that belong to no one tier (Namespace, NetworkPolicies). */
export function sharedLabels(version: string): Record<string, string> {
  return { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/version': version };
}
