import { execFileSync } from 'node:child_process';
import { valid as semverValid } from 'semver';

/**
 * Castle's one source of version truth is the git tag `vX.Y.Z` of a release. Everything
 * else derives from it: `castle version`, the images' tags, labels and `CASTLE_VERSION`
 * (so the services' `/version`), and the version a release record names.
 */
export interface SourceVersion {
  /** A semantic version; usable as an image tag (no `+`). */
  readonly version: string;
  /**
   * Where it came from: `tag` (HEAD is the tagged release, clean work tree), `after-tag`
   * (commits or changes after the newest reachable release tag), `untagged` (no release
   * tag is reachable), `env` (`CASTLE_VERSION`), `package` (no git: package.json).
   */
  readonly source: 'tag' | 'after-tag' | 'untagged' | 'env' | 'package';
  /** The release tag it derives from, when there is one. */
  readonly tag?: string;
  /** The abbreviated commit, when known. */
  readonly commit?: string;
  /** Why the version is not a release, for a note on stderr; absent for a release. */
  readonly note?: string;
}

const RELEASE_TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const DESCRIBE = /^(v\d+\.\d+\.\d+)-(\d+)-g([0-9a-f]{7,40})(-dirty)?$/;

/** The numbers of a release tag `vX.Y.Z`, or undefined when `tag` is not one (leading zeros, suffixes). */
export function parseReleaseTag(tag: string): readonly [number, number, number] | undefined {
  const m = RELEASE_TAG.exec(tag);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * The version of a work tree from `git describe --tags --long --dirty` output
 * (`v1.2.3-0-g0123456789ab`, `…-dirty`). The tagged commit of a clean tree is the release
 * `1.2.3`; anything past it is a pre-release of the next patch, `1.2.4-dev.N.g<sha>` (with
 * `.dirty` for uncommitted changes), which sorts after 1.2.3 and before 1.2.4.
 */
export function versionFromDescribe(describe: string): SourceVersion {
  const m = DESCRIBE.exec(describe.trim());
  if (m === null) throw new Error(`cannot read a version from git describe output '${describe.trim()}' (expected vX.Y.Z-N-gSHA)`);
  const [, tag = '', distanceText = '0', commit = '', dirty] = m;
  const numbers = parseReleaseTag(tag);
  if (numbers === undefined) throw new Error(`'${tag}' is not a release tag vX.Y.Z`);
  const distance = Number(distanceText);
  if (distance === 0 && dirty === undefined) return { version: numbers.join('.'), source: 'tag', tag, commit };
  const [major, minor, patch] = numbers;
  const version = `${major}.${minor}.${patch + 1}-dev.${distance}.g${commit}${dirty === undefined ? '' : '.dirty'}`;
  const why = distance === 0 ? 'uncommitted changes on top of' : `${distance} commit${distance === 1 ? '' : 's'} after`;
  return { version, source: 'after-tag', tag, commit, note: `${why} release tag ${tag}: pre-release version ${version}` };
}

/** The version of a work tree that no release tag reaches: `0.0.0-dev.N.g<sha>`, N the commit count. */
export function untaggedVersion(commitCount: number, commit: string, dirty: boolean): SourceVersion {
  const version = `0.0.0-dev.${commitCount}.g${commit}${dirty ? '.dirty' : ''}`;
  return { version, source: 'untagged', commit, note: `no release tag vX.Y.Z is reachable from HEAD: version ${version} (tag a release with git tag vX.Y.Z)` };
}

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * The version of the git work tree at `cwd`, from its newest reachable release tag; undefined
 * when `cwd` is not in a git work tree (or git is missing). Pre-release tags (`v1.2.3-rc.1`)
 * are not release tags and are skipped.
 */
export function gitVersion(cwd: string): SourceVersion | undefined {
  try {
    git(cwd, ['rev-parse', '--is-inside-work-tree']);
  } catch {
    return undefined;
  }
  try {
    return versionFromDescribe(git(cwd, ['describe', '--tags', '--long', '--dirty', '--abbrev=12', '--match', 'v[0-9]*.[0-9]*.[0-9]*', '--exclude', 'v*-*']));
  } catch (error) {
    // No release tag reachable (describe fails), or only malformed ones (v01.2.3).
    if (error instanceof Error && error.message.startsWith('cannot read')) throw error;
    const count = Number(git(cwd, ['rev-list', '--count', 'HEAD']));
    const commit = git(cwd, ['rev-parse', '--short=12', 'HEAD']);
    const dirty = git(cwd, ['status', '--porcelain', '--untracked-files=no']) !== '';
    return untaggedVersion(count, commit, dirty);
  }
}

/**
 * The version to use, in order: `CASTLE_VERSION` (must be a semantic version), the git work
 * tree at `cwd`, the package version.
 */
export function resolveVersion({ cwd, packageVersion, env = process.env }: { cwd: string; packageVersion: string; env?: NodeJS.ProcessEnv }): SourceVersion {
  const fromEnv = env.CASTLE_VERSION;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (semverValid(fromEnv) !== fromEnv) throw new Error(`CASTLE_VERSION must be a semantic version such as 1.4.2, got '${fromEnv}'`);
    return { version: fromEnv, source: 'env' };
  }
  return gitVersion(cwd) ?? { version: packageVersion, source: 'package', note: `not in a git work tree: package.json version ${packageVersion}` };
}

/**
 * Checks that `tag` (e.g. GITHUB_REF_NAME of a tag push) is a release tag and that the
 * work tree is exactly that release; returns the version X.Y.Z.
 */
export function checkReleaseTag(tag: string, actual: SourceVersion): string {
  const numbers = parseReleaseTag(tag);
  if (numbers === undefined) throw new Error(`'${tag}' is not a release tag: expected vX.Y.Z (e.g. v1.4.2), no leading zeros, no suffix`);
  const expected = numbers.join('.');
  if (actual.version !== expected) {
    throw new Error(`the work tree is version ${actual.version} (${actual.source}${actual.tag === undefined ? '' : ` from ${actual.tag}`}), not release ${expected}: check out the tagged commit, clean, with its tags fetched`);
  }
  return expected;
}
