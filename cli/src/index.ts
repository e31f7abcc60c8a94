/**
 * @castle/cli as a library: the commands (async functions returning data), the manifest
 * seam, the exit codes and the program entry.
 */
export { deploy, type DeployOptions } from './commands/deploy.js';
export { rollback, type RollbackOptions } from './commands/rollback.js';
export { status } from './commands/status.js';
export { history } from './commands/history.js';
export { diff, type DiffOptions } from './commands/diff.js';
export { destroy, type DestroyOptions } from './commands/destroy.js';
export { doctor, type DoctorOptions, type DoctorReport } from './commands/doctor.js';
export { rbac, type RbacOptions } from './commands/rbac.js';
export type { Prerequisite, CheckName, CheckStatus } from './prerequisites/types.js';
export { EXIT_CODES, type ExitCode, CastleError } from './errors.js';
export type { ManifestSource, RenderRequest } from './manifests.js';
export { yamlFileSource } from './manifests.js';
export type { KubeObject } from './kube/objects.js';
export { run, type ProgramDeps } from './program.js';
export {
  checkReleaseTag,
  gitVersion,
  parseReleaseTag,
  resolveVersion,
  untaggedVersion,
  versionFromDescribe,
  type SourceVersion,
} from './release/version-source.js';
