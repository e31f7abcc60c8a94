import { createHash } from 'node:crypto';

/** Hexadecimal digits of the content hash in a tier's ConfigMap name (Kustomize's configMapGenerator uses 10 too). */
export const CONFIG_HASH_LENGTH = 10;

/**
 * The entries of `data` sorted by key in code-unit order, not by locale: the rendered order
 * and the hash must not depend on the machine's language settings.
 */
export function sortedByKey(data: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The name of a tier's ConfigMap: `<tier>-config-<hash>`, where the hash is the first
 * {@link CONFIG_HASH_LENGTH} hexadecimal digits of the SHA-256 of `data` as JSON with its keys
 * sorted. A revision's configuration is its own: a change makes a new ConfigMap (and a new
 * pod template, which refers to it by name) instead of rewriting the one that running pods
 * read, and the same configuration always gets the same name. With a tier name of at most
 * 63 characters (a DNS label) the name is a DNS-1123 subdomain of at most 81.
 */
export function configMapName(tier: string, data: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256').update(JSON.stringify(sortedByKey(data))).digest('hex');
  return `${tier}-config-${hash.slice(0, CONFIG_HASH_LENGTH)}`;
}
