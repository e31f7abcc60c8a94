import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { changelogProblems, parseChangelog, releaseNotes } from '../../scripts/changelog.js';

const good = `# Changelog

## [Unreleased]

### Added
- something new

## [1.1.0] - 2026-12-01

### Fixed
- a bug

## [1.0.0] - 2026-11-01

### Added
- the first release

[Unreleased]: https://example.com/compare/v1.1.0...HEAD
[1.1.0]: https://example.com/compare/v1.0.0...v1.1.0
`;

describe('the changelog', () => {
  it('gives the notes of a release without its heading or the link definitions', () => {
    expect(releaseNotes(good, '1.1.0')).toBe('### Fixed\n- a bug');
    expect(releaseNotes(good, '1.0.0')).toBe('### Added\n- the first release');
  });

  it('says what to do when the tagged version has no section', () => {
    expect(() => releaseNotes(good, '1.2.0')).toThrow(/has no section \[1\.2\.0\]: move the \[Unreleased\] notes under '## \[1\.2\.0\] - \d{4}-\d{2}-\d{2}' before tagging v1\.2\.0/);
  });

  it.each([
    ['no Unreleased section first', good.replace('## [Unreleased]', '## [1.2.0] - 2026-12-02'), 'the first section must be ## [Unreleased]'],
    ['an undated release', good.replace('## [1.1.0] - 2026-12-01', '## [1.1.0]'), "[1.1.0]: needs a date, '## [1.1.0] - YYYY-MM-DD'"],
    ['an empty release', good.replace('### Fixed\n- a bug\n', ''), '[1.1.0]: has no notes'],
    ['releases out of order', good.replace('[1.1.0] - 2026-12-01', '[0.9.0] - 2026-12-01'), '[1.0.0]: listed after [0.9.0]; releases go newest first'],
    ['a version that is not X.Y.Z', good.replace('[1.0.0] - 2026-11-01', '[v1] - 2026-11-01'), '[v1]: not a version X.Y.Z'],
  ])('finds %s', (_name, text, problem) => {
    expect(changelogProblems(parseChangelog(text))).toContain(problem);
  });

  it('refuses a second-level heading that is not a section', () => {
    expect(() => parseChangelog('## Unreleased\n')).toThrow("changelog heading '## Unreleased' is not '## [X.Y.Z] - YYYY-MM-DD' or '## [Unreleased]'");
  });

  it("of this repository is well-formed (the release workflow takes a tag's notes from it)", () => {
    const text = readFileSync(new URL('../../CHANGELOG.md', import.meta.url), 'utf8');
    expect(changelogProblems(parseChangelog(text))).toEqual([]);
  });
});
