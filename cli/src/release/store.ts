import { KubeApiError, isNotFound } from '../kube/http.js';
import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { HEALTHY_STATUSES, type ReleaseRecord, decodeRecord, encodeRecord } from './record.js';

/** The Secret type of Castle's release records. */
export const RECORD_TYPE = 'castle.dev/release.v1';

/** Default number of revisions kept (`--history-max`). */
export const DEFAULT_HISTORY_MAX = 10;

/** The name of a revision's Secret. */
export function recordName(release: string, revision: number): string {
  return `castle.release.v1.${release}.v${revision}`;
}

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

function secretFor(record: ReleaseRecord): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: RECORD_TYPE,
    metadata: {
      name: recordName(record.release, record.revision),
      namespace: record.namespace,
      labels: { owner: 'castle', name: record.release, revision: String(record.revision), status: record.status },
    },
    data: { release: encodeRecord(record).toString('base64') },
  };
}

/** What {@link ReleaseStore.failIfPending} did. */
export type FailIfPendingOutcome = 'marked' | 'changed' | 'gone';

/** Release records: one Secret per revision, in the release's namespace. */
export class ReleaseStore {
  constructor(
    private readonly kube: Kube,
    readonly namespace: string,
    readonly release: string,
    /** When `kube` is fenced by the lock: the client of {@link failIfPending}, the one write allowed after the lock is lost. */
    private readonly unfenced: Kube = kube,
  ) {}

  /** Every revision, newest first. */
  async list(): Promise<ReleaseRecord[]> {
    const secrets = await this.kube.list<SecretObject>('v1', 'Secret', this.namespace, {
      labelSelector: `owner=castle,name=${this.release}`,
      fieldSelector: `type=${RECORD_TYPE}`,
    });
    return secrets
      .map((s) => decodeRecord(Buffer.from(s.data?.release ?? '', 'base64')))
      .sort((a, b) => b.revision - a.revision);
  }

  /** Create a new revision's record. @throws RecordTooLargeError before writing when it would not fit. */
  async create(record: ReleaseRecord): Promise<void> {
    await this.kube.create(secretFor(record));
  }

  /** Overwrite a revision's record (status, reason, verdict). */
  async update(record: ReleaseRecord): Promise<void> {
    await this.kube.apply(secretFor(record), { force: true });
  }

  /**
   * Mark a revision failed only while its record is still pending, by a compare-and-swap on
   * its Secret's resourceVersion: safe without the lock, since whatever another deploy did to
   * the record (marked it failed as abandoned, trimmed it) wins, and no other record is touched.
   */
  async failIfPending(record: ReleaseRecord): Promise<FailIfPendingOutcome> {
    const ref = { apiVersion: 'v1', kind: 'Secret', namespace: this.namespace, name: recordName(record.release, record.revision) };
    const live = await this.unfenced.get<SecretObject>(ref);
    if (!live) return 'gone';
    if (decodeRecord(Buffer.from(live.data?.release ?? '', 'base64')).status !== 'pending') return 'changed';
    const next = secretFor(record);
    try {
      await this.unfenced.replace({ ...next, metadata: { ...next.metadata, resourceVersion: live.metadata.resourceVersion } });
      return 'marked';
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) return 'changed';
      if (isNotFound(error)) return 'gone';
      throw error;
    }
  }

  /**
   * Delete the oldest records beyond `max`, never the newest healthy one (prune and rollback
   * need it). @returns the revisions deleted.
   */
  async trim(max: number): Promise<number[]> {
    const records = await this.list();
    const keep = new Set(records.slice(0, max).map((r) => r.revision));
    const current = records.find((r) => r.status === 'succeeded') ?? records.find((r) => HEALTHY_STATUSES.includes(r.status));
    if (current) keep.add(current.revision);
    const removed: number[] = [];
    for (const r of records) {
      if (keep.has(r.revision)) continue;
      await this.remove(r.revision);
      removed.push(r.revision);
    }
    return removed;
  }

  /** Delete one revision's record; fine when it is already gone. */
  async remove(revision: number): Promise<void> {
    try {
      await this.kube.delete({ apiVersion: 'v1', kind: 'Secret', namespace: this.namespace, name: recordName(this.release, revision) });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
