import { readFileSync } from 'node:fs';

/** The CLI's own version (from its package.json). */
export function version(): { version: string; node: string } {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return { version: pkg.version, node: process.version };
}
