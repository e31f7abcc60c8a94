import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { currentRevision } from '../release/inventory.js';
import type { ReleaseRecord, ReleaseStatus } from '../release/record.js';
import { type DeploymentHold, holdOf } from '../rollout/hold.js';
import type { ReleaseContext } from './context.js';

/** One Deployment's live state. */
export interface DeploymentStatus {
  readonly name: string;
  readonly images: readonly string[];
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly available: number;
  readonly exists: boolean;
  /** Castle's verdict hold on its rollout, left held or paused by a revision (whose status it gives). */
  readonly hold?: DeploymentHold & { readonly revisionStatus?: ReleaseStatus };
}

/** `castle status`'s data. */
export interface ReleaseStatusReport {
  readonly release: string;
  readonly namespace: string;
  readonly current?: { revision: number; version: string; status: ReleaseStatus; finishedAt?: string };
  readonly latest?: { revision: number; version: string; status: ReleaseStatus; reason?: string };
  readonly deployments: readonly DeploymentStatus[];
}

interface Deployment extends KubeObject {
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } };
  status?: { updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number };
}

async function deploymentStatus(kube: Kube, namespace: string, name: string, records: readonly ReleaseRecord[]): Promise<DeploymentStatus> {
  const d = await kube.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
  const hold = holdOf(d);
  return {
    ...(hold ? { hold: { ...hold, revisionStatus: records.find((r) => r.revision === hold.revision)?.status } } : {}),
    name,
    exists: Boolean(d),
    images: (d?.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''),
    desired: d?.spec?.replicas ?? 0,
    updated: d?.status?.updatedReplicas ?? 0,
    ready: d?.status?.readyReplicas ?? 0,
    available: d?.status?.availableReplicas ?? 0,
  };
}

/** The release's live Deployments (of its newest revision) and its current revision. */
export async function releaseStatus(ctx: ReleaseContext): Promise<ReleaseStatusReport> {
  const records = await ctx.store.list();
  const current = currentRevision(records);
  const latest = records[0];
  const names = (latest?.inventory ?? []).filter((r) => r.kind === 'Deployment').map((r) => r.name);
  return {
    release: ctx.release,
    namespace: ctx.namespace,
    current: current && { revision: current.revision, version: current.version, status: current.status, finishedAt: current.finishedAt },
    latest: latest && { revision: latest.revision, version: latest.version, status: latest.status, reason: latest.reason },
    deployments: await Promise.all(names.map((n) => deploymentStatus(ctx.kube, ctx.namespace, n, records))),
  };
}

/** One line of `castle history`. */
export interface HistoryEntry {
  readonly revision: number;
  readonly version: string;
  readonly status: ReleaseStatus;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly who: string;
  readonly reason?: string;
  readonly gitSha?: string;
  readonly images: readonly string[];
  readonly rollbackOf?: number;
  readonly verdict?: ReleaseRecord['verdict'];
}

/** The release's revisions, newest first. */
export async function releaseHistory(ctx: ReleaseContext): Promise<HistoryEntry[]> {
  return (await ctx.store.list()).map((r: ReleaseRecord) => ({
    revision: r.revision,
    version: r.version,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    who: r.who,
    reason: r.reason,
    gitSha: r.gitSha,
    images: r.images,
    rollbackOf: r.rollbackOf,
    verdict: r.verdict,
  }));
}
