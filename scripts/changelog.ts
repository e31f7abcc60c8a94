// The release notes of one version from CHANGELOG.md (Keep a Changelog 1.1.0).
//   npm run -s changelog -- 1.4.2     prints the body of "## [1.4.2] - YYYY-MM-DD"; exit 1 when
//                                     the section is missing, undated, empty or out of order
//   npm run -s changelog -- --check   checks the whole file: an [Unreleased] section first,
//                                     dated releases newest first, each version once
import { readFileSync } from 'node:fs';

/** One `## [...]` section of a changelog. */
export interface ChangelogSection {
  readonly version: string;
  readonly date?: string;
  readonly body: string;
}

const HEADING = /^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?\s*$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** The `## [version] - date` sections of a Keep a Changelog file, in file order. */
export function parseChangelog(text: string): ChangelogSection[] {
  const sections: { version: string; date?: string; lines: string[] }[] = [];
  for (const line of text.split('\n')) {
    const m = HEADING.exec(line);
    if (m !== null) sections.push({ version: m[1] ?? '', ...(m[2] === undefined ? {} : { date: m[2] }), lines: [] });
    else if (line.startsWith('## ')) throw new Error(`changelog heading '${line}' is not '## [X.Y.Z] - YYYY-MM-DD' or '## [Unreleased]'`);
    else if (/^\[[^\]]+\]: /.test(line)) continue; // link reference definitions at the end
    else sections.at(-1)?.lines.push(line);
  }
  return sections.map(({ lines, ...s }) => ({ ...s, body: lines.join('\n').trim() }));
}

function compare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Every problem of a changelog's structure, empty when it is well-formed. */
export function changelogProblems(sections: readonly ChangelogSection[]): string[] {
  const problems: string[] = [];
  if (sections[0]?.version !== 'Unreleased') problems.push('the first section must be ## [Unreleased]');
  const releases = sections.filter((s) => s.version !== 'Unreleased');
  if (sections.filter((s) => s.version === 'Unreleased').length > 1) problems.push('more than one [Unreleased] section');
  const seen = new Set<string>();
  releases.forEach((s, i) => {
    if (!SEMVER.test(s.version)) problems.push(`[${s.version}]: not a version X.Y.Z`);
    if (s.date === undefined || Number.isNaN(Date.parse(s.date))) problems.push(`[${s.version}]: needs a date, '## [${s.version}] - YYYY-MM-DD'`);
    if (s.body === '') problems.push(`[${s.version}]: has no notes`);
    if (seen.has(s.version)) problems.push(`[${s.version}]: appears twice`);
    seen.add(s.version);
    const previous = releases[i - 1];
    if (previous !== undefined && SEMVER.test(previous.version) && SEMVER.test(s.version) && compare(previous.version, s.version) <= 0) {
      problems.push(`[${s.version}]: listed after [${previous.version}]; releases go newest first`);
    }
  });
  return problems;
}

/** The notes of release `version`, or an error naming what is missing. */
export function releaseNotes(text: string, version: string): string {
  const sections = parseChangelog(text);
  const problems = changelogProblems(sections);
  if (problems.length > 0) throw new Error(`CHANGELOG.md is malformed:\n  ${problems.join('\n  ')}`);
  const section = sections.find((s) => s.version === version);
  if (section === undefined) {
    throw new Error(`CHANGELOG.md has no section [${version}]: move the [Unreleased] notes under '## [${version}] - ${new Date().toISOString().slice(0, 10)}' before tagging v${version}`);
  }
  return section.body;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  try {
    const text = readFileSync(new URL('../CHANGELOG.md', import.meta.url), 'utf8');
    if (args.length === 1 && args[0] === '--check') {
      const problems = changelogProblems(parseChangelog(text));
      if (problems.length > 0) throw new Error(`CHANGELOG.md is malformed:\n  ${problems.join('\n  ')}`);
      process.stderr.write('changelog: CHANGELOG.md is well-formed\n');
    } else if (args.length === 1 && SEMVER.test(args[0] ?? '')) {
      process.stdout.write(`${releaseNotes(text, args[0] ?? '')}\n`);
    } else {
      throw new Error(`usage: changelog X.Y.Z | changelog --check (got ${JSON.stringify(args)})`);
    }
  } catch (error) {
    process.stderr.write(`changelog: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
