import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Build metadata served on /version and stamped on logs and metrics. */
export interface BuildInfo {
  readonly service: string;
  readonly version: string;
  readonly gitSha: string;
  readonly buildTime: string;
  /** This process's name in its fleet: the pod name in Kubernetes, the host name elsewhere; `pod` on every log line. */
  readonly instance: string;
}

/**
 * Reads build metadata that images bake in (`CASTLE_VERSION`, `CASTLE_GIT_SHA`, `CASTLE_BUILD_TIME`)
 * and the instance name: `CASTLE_INSTANCE`, else `POD_NAME` (the pod's name from the Kubernetes downward
 * API), else the host name.
 */
export function readBuildInfo(service: string, packageVersion: string, env: NodeJS.ProcessEnv = process.env): BuildInfo {
  return {
    service,
    version: env.CASTLE_VERSION || packageVersion,
    gitSha: env.CASTLE_GIT_SHA || 'unknown',
    buildTime: env.CASTLE_BUILD_TIME || 'unknown',
    instance: env.CASTLE_INSTANCE || env.POD_NAME || hostname(),
  };
}

/** The `version` field of a package.json, e.g. `readPackageVersion(new URL('../package.json', import.meta.url))`. */
export function readPackageVersion(packageJson: URL): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}
