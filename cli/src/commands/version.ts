import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveVersion, type SourceVersion } from '../release/version-source.js';

/**
 * The CLI's version: `CASTLE_VERSION`, else the release tag of the git work tree it runs
 * from (the same rule as `npm run version` and the images), else its package.json.
 */
export function version(env: NodeJS.ProcessEnv = process.env): SourceVersion & { node: string } {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  return { ...resolveVersion({ cwd, packageVersion: pkg.version, env }), node: process.version };
}
