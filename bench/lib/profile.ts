import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

/** Where a V8 CPU profile's self time went. */
export interface ProfileSummary {
  readonly samples: number;
  /** Share of all samples in which the process was idle (waiting for I/O). */
  readonly idleShare: number;
  /** Share of self time per package (`fastify`, `pino`, `node:http`, `(garbage collector)` ...). */
  readonly byPackage: readonly { readonly name: string; readonly share: number }[];
  /** The functions with the most self time. */
  readonly topFunctions: readonly { readonly name: string; readonly share: number }[];
}

function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const internal = /^node:internal\/([^/]+(?:\/[^/]+)?)/.exec(url);
  if (internal?.[1]) return `node:${internal[1]}`;
  if (url.startsWith('node:')) return url;
  const app = /\/(packages\/runtime|apps\/[^/]+)\//.exec(url);
  return app?.[1] ?? url;
}

function top(map: Map<string, number>, total: number, n: number) {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => ({ name, share: Math.round((hits / total) * 1000) / 1000 }));
}

/** Sums a `.cpuprofile` file's busy self time (idle excluded) by package and by function. */
export function summariseProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[] };
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const pkg = packageOf(url, functionName);
    total += hits;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
    const fn = `${functionName || '(anonymous)'} ${pkg}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  }
  return { samples: total, idleShare: Math.round((idle / (idle + total)) * 1000) / 1000, byPackage: top(byPackage, total, 15), topFunctions: top(byFunction, total, 20) };
}
