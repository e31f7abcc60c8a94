// Prints Castle's version, derived from the git release tag vX.Y.Z (see cli/src/release/version-source.ts).
//   npm run -s version                      the version, e.g. 1.4.2 or 1.4.3-dev.5.g0123456789ab
//   npm run -s version -- --json            with its source, tag and commit
//   npm run -s version -- --check-tag v1.4.2   exit 1 unless the work tree is exactly release v1.4.2
// CASTLE_VERSION, when set, overrides git (it must be a semantic version).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkReleaseTag, resolveVersion } from '@castle/cli';

const root = fileURLToPath(new URL('..', import.meta.url));

function main(args: readonly string[]): number {
  const packageVersion = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
  const tagAt = args.indexOf('--check-tag');
  const unknown = args.filter((a, i) => !['--json', '--check-tag'].includes(a) && i !== tagAt + 1);
  if (unknown.length > 0 || (tagAt >= 0 && (args[tagAt + 1] ?? '') === '')) {
    process.stderr.write(`version: unknown or incomplete arguments ${JSON.stringify(args)}; usage: version [--json] [--check-tag vX.Y.Z]\n`);
    return 2;
  }
  const found = resolveVersion({ cwd: root, packageVersion });
  if (tagAt >= 0) process.stdout.write(`${checkReleaseTag(args[tagAt + 1] ?? '', found)}\n`);
  else if (args.includes('--json')) process.stdout.write(`${JSON.stringify(found)}\n`);
  else process.stdout.write(`${found.version}\n`);
  if (found.note !== undefined) process.stderr.write(`version: ${found.note}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`version: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
