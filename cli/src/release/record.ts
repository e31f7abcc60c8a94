import { gunzipSync, gzipSync } from 'node:zlib';
import { CastleError, EXIT_CODES } from '../errors.js';
import type { KubeObject, ObjectRef } from '../kube/objects.js';

/** Where a revision is in its life. */
export type ReleaseStatus = 'pending' | 'succeeded' | 'failed' | 'rolled-back' | 'superseded';

/** Statuses of a revision that was once deployed and healthy: rollback targets. */
export const HEALTHY_STATUSES: readonly ReleaseStatus[] = ['succeeded', 'superseded', 'rolled-back'];

/** The rollout verdict stored with a revision (see rollout/verdict.ts). */
export interface StoredVerdict {
  readonly outcome: 'pass' | 'fail' | 'inconclusive';
  readonly detail: unknown;
}

/** An object of the release that a revision's prune kept, and why; the next deploy's prune tries it again. */
export interface RetainedObject {
  readonly ref: ObjectRef;
  readonly why: string;
}

/** One revision of a release, as stored (gzip'd JSON) in its Secret. */
export interface ReleaseRecord {
  readonly release: string;
  readonly namespace: string;
  readonly revision: number;
  readonly version: string;
  readonly gitSha?: string;
  /** sha256 of the canonical manifests: equal digests, equal manifests. */
  readonly manifestDigest: string;
  readonly images: readonly string[];
  /** Every object of the revision, written before the first apply so a rollback can remove them. */
  readonly inventory: readonly ObjectRef[];
  readonly manifests: readonly KubeObject[];
  status: ReleaseStatus;
  reason?: string;
  /** `user@host`. */
  readonly who: string;
  readonly startedAt: string;
  finishedAt?: string;
  /** Set when this revision re-applied another one's manifests. */
  readonly rollbackOf?: number;
  verdict?: StoredVerdict;
  /**
   * Objects the revision no longer renders that its prune kept (still in use, or their deletion
   * failed): prune candidates of the next deploy and in destroy's list. Absent in records
   * written before it existed, and when nothing was kept.
   */
  retained?: readonly RetainedObject[];
}

/** Secrets may hold at most 1 MiB of data. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Room left for the Secret's own metadata. */
const RECORD_HEADROOM = 4 * 1024;

/** The record would not fit in a Secret. */
export class RecordTooLargeError extends CastleError {
  override readonly name = 'RecordTooLargeError';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      'CASTLE_ERR_RECORD_TOO_LARGE',
      `the release record would be ${bytes} bytes compressed, over the ${limit}-byte limit of a Kubernetes object`,
      EXIT_CODES.usage,
      'move large data (files, dashboards) out of the manifests into ConfigMaps deployed separately, or split the release',
    );
  }
}

/** gzip'd JSON of a record. @throws RecordTooLargeError before anything is written when it would not fit. */
export function encodeRecord(record: ReleaseRecord, limit = MAX_RECORD_BYTES - RECORD_HEADROOM): Buffer {
  const bytes = gzipSync(JSON.stringify(record), { level: 9 });
  if (bytes.length > limit) throw new RecordTooLargeError(bytes.length, limit);
  return bytes;
}

/** The record in gzip'd JSON bytes. */
export function decodeRecord(bytes: Buffer): ReleaseRecord {
  return JSON.parse(gunzipSync(bytes).toString('utf8')) as ReleaseRecord;
}
