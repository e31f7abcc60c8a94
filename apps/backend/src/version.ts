import { readFileSync } from 'node:fs';

/** This package's version, the default for /version when the image sets none. */
export const packageVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
