import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkReleaseTag, gitVersion, parseReleaseTag, resolveVersion, versionFromDescribe } from '@castle/cli';

describe('the version from git describe', () => {
  it.each([
    ['v1.4.2-0-g0123456789ab', '1.4.2', 'tag'],
    ['v1.4.2-5-g0123456789ab', '1.4.3-dev.5.g0123456789ab', 'after-tag'],
    ['v1.4.2-0-g0123456789ab-dirty', '1.4.3-dev.0.g0123456789ab.dirty', 'after-tag'],
    ['v0.9.19-12-gabcdef0-dirty', '0.9.20-dev.12.gabcdef0.dirty', 'after-tag'],
  ])('reads %s as %s (%s)', (describe, version, source) => {
    expect(versionFromDescribe(describe)).toMatchObject({ version, source });
  });

  it('makes pre-releases that sort after their tag and before the next patch, and are valid image tags', async () => {
    const { compare } = await import('semver');
    const { version } = versionFromDescribe('v2.0.9-3-g0123456789ab-dirty');
    expect(compare(version, '2.0.9')).toBe(1);
    expect(compare(version, '2.0.10')).toBe(-1);
    expect(version).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  });

  it.each(['1.4.2-0-gabc1234', 'v1.4-0-gabc1234', 'v1.4.2-rc.1-0-gabc1234', 'garbage'])('refuses %s, naming it', (bad) => {
    expect(() => versionFromDescribe(bad)).toThrow(/cannot read a version from git describe output|not a release tag/);
  });
});

describe('release tags', () => {
  it.each([
    ['v1.2.3', [1, 2, 3]],
    ['v0.0.0', [0, 0, 0]],
    ['v10.20.30', [10, 20, 30]],
    ['1.2.3', undefined],
    ['v01.2.3', undefined],
    ['v1.2.3-rc.1', undefined],
    ['v1.2', undefined],
  ])('%s parses as %j', (tag, numbers) => {
    expect(parseReleaseTag(tag)).toEqual(numbers);
  });

  it('accepts a tag that is exactly the work tree\'s version and names what is wrong otherwise', () => {
    expect(checkReleaseTag('v1.4.2', { version: '1.4.2', source: 'tag', tag: 'v1.4.2' })).toBe('1.4.2');
    expect(() => checkReleaseTag('release-1.4.2', { version: '1.4.2', source: 'tag' })).toThrow("'release-1.4.2' is not a release tag: expected vX.Y.Z");
    expect(() => checkReleaseTag('v1.4.2', { version: '1.4.3-dev.1.gabc', source: 'after-tag', tag: 'v1.4.2' })).toThrow(
      'the work tree is version 1.4.3-dev.1.gabc (after-tag from v1.4.2), not release 1.4.2',
    );
  });
});

describe('the version of a real git work tree', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const git = (...args: string[]): string =>
    execFileSync('git', ['-C', dir ?? '', '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], { encoding: 'utf8' }).trim();
  const commit = (file: string): void => {
    writeFileSync(join(dir ?? '', file), file);
    git('add', file);
    git('commit', '-q', '-m', file);
  };

  it('goes from untagged, to the tagged release, to a pre-release after it, to dirty, skipping pre-release tags', () => {
    dir = mkdtempSync(join(tmpdir(), 'castle-version-'));
    git('init', '-q');
    commit('a');
    const untagged = gitVersion(dir);
    expect(untagged).toMatchObject({ source: 'untagged', version: expect.stringMatching(/^0\.0\.0-dev\.1\.g[0-9a-f]{12}$/) as unknown });
    expect(untagged?.note).toMatch(/no release tag vX\.Y\.Z is reachable/);

    git('tag', '-a', 'v1.2.3', '-m', 'release');
    expect(gitVersion(dir)).toMatchObject({ version: '1.2.3', source: 'tag', tag: 'v1.2.3' });

    commit('b');
    git('tag', 'v1.3.0-rc.1');
    const sha = git('rev-parse', '--short=12', 'HEAD');
    expect(gitVersion(dir)).toMatchObject({ version: `1.2.4-dev.1.g${sha}`, source: 'after-tag', tag: 'v1.2.3' });

    writeFileSync(join(dir, 'b'), 'changed');
    expect(gitVersion(dir)?.version).toBe(`1.2.4-dev.1.g${sha}.dirty`);
  });

  it('is undefined outside a git work tree, so the package version applies', () => {
    dir = mkdtempSync(join(tmpdir(), 'castle-version-'));
    expect(gitVersion(dir)).toBeUndefined();
    expect(resolveVersion({ cwd: dir, packageVersion: '0.1.0', env: {} })).toMatchObject({ version: '0.1.0', source: 'package' });
  });

  it('takes CASTLE_VERSION first, and refuses one that is not a semantic version', () => {
    dir = mkdtempSync(join(tmpdir(), 'castle-version-'));
    expect(resolveVersion({ cwd: dir, packageVersion: '0.1.0', env: { CASTLE_VERSION: '2.0.0' } })).toEqual({ version: '2.0.0', source: 'env' });
    expect(() => resolveVersion({ cwd: dir ?? '', packageVersion: '0.1.0', env: { CASTLE_VERSION: 'v2' } })).toThrow("CASTLE_VERSION must be a semantic version such as 1.4.2, got 'v2'");
  });
});
