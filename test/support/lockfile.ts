/** An entry of package-lock.json's `packages` (lockfileVersion 3). */
export interface LockEntry {
  readonly version?: string;
  readonly name?: string;
  readonly dev?: boolean;
  readonly link?: boolean;
  readonly resolved?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
export type Lock = { readonly packages: Record<string, LockEntry> };

/** The package name of a lockfile path (`node_modules/a/node_modules/@s/b` → `@s/b`). */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Where Node finds `name` from the package at `from`, as npm laid it out: the nearest node_modules up the tree. */
function resolveFrom(lock: Lock, from: string, name: string): string | undefined {
  const parts = from === '' ? [] : from.split('/');
  for (let k = parts.length; k >= 0; k--) {
    if (parts[k - 1] === 'node_modules') continue;
    const dir = parts.slice(0, k).join('/');
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
  }
  return undefined;
}

/**
 * The installed packages (`name@version`) that the workspaces at `roots` (e.g. `apps/www`)
 * need at run time: their dependencies, optional and required peer dependencies, recursively,
 * through workspace links. Workspace packages themselves are left out.
 */
export function productionClosure(lock: Lock, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const out = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const path = queue.shift() ?? '';
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock.packages[path];
    if (entry === undefined) throw new Error(`package-lock.json has no entry ${path}`);
    if (entry.link === true && entry.resolved !== undefined) {
      queue.push(entry.resolved);
      continue;
    }
    if (path.includes('node_modules/') && entry.version !== undefined) out.add(`${nameOf(path)}@${entry.version}`);
    const required = { ...entry.dependencies, ...Object.fromEntries(Object.keys(entry.peerDependencies ?? {}).filter((p) => entry.peerDependenciesMeta?.[p]?.optional !== true).map((p) => [p, ''])) };
    for (const name of Object.keys(required)) {
      const found = resolveFrom(lock, path, name);
      if (found === undefined) throw new Error(`${path} needs ${name}, which package-lock.json does not resolve`);
      queue.push(found);
    }
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const found = resolveFrom(lock, path, name);
      if (found !== undefined) queue.push(found);
    }
  }
  return out;
}

/** The packages (`name@version`) that only development needs: every lockfile entry marked `dev`. */
export function devOnly(lock: Lock): Set<string> {
  const prod = new Set(Object.entries(lock.packages).filter(([p, e]) => p.includes('node_modules/') && e.dev !== true).map(([p, e]) => `${nameOf(p)}@${e.version}`));
  return new Set(Object.entries(lock.packages).filter(([p, e]) => p.includes('node_modules/') && e.dev === true).map(([p, e]) => `${nameOf(p)}@${e.version}`).filter((id) => !prod.has(id)));
}
