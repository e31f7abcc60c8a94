import type { DiffReport } from '../engine/diff.js';
import type { DestroyReport } from '../engine/destroy.js';
import type { DeployResult } from '../engine/deploy.js';
import type { HistoryEntry } from '../engine/inspect.js';
import type { RollbackResult } from '../engine/rollback.js';
import type { StatusReport, TrafficReport } from '../traffic/traffic.js';

/** Pad columns of a table. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

/** `castle deploy`'s result. */
export function formatDeploy(r: DeployResult): string {
  return `release ${r.release} revision ${r.revision} (${r.version}) ${r.status} in namespace ${r.namespace}${r.pruned.length ? `; pruned ${r.pruned.join(', ')}` : ''}${keptNote(r.retained)}\n`;
}

/** `; kept …` for objects no longer rendered that are still in use, or nothing. */
function keptNote(retained: readonly string[] | undefined): string {
  return retained?.length ? `; kept ${retained.join(', ')} (still in use: pruned by a later deploy)` : '';
}

/** `castle rollback`'s result. */
export function formatRollback(r: RollbackResult): string {
  const skipped = r.skipped.length ? `; skipped ${r.skipped.map((s) => `${s.revision} (${s.status})`).join(', ')}` : '';
  return `release ${r.release} rolled back to revision ${r.to} (${r.version}) as revision ${r.revision}${skipped}\n`;
}

/** `castle status`'s result. */
export function formatStatus(r: StatusReport): string {
  const head = r.current
    ? `release ${r.release} in ${r.namespace}: revision ${r.current.revision} (${r.current.version}) ${r.current.status}`
    : `release ${r.release} in ${r.namespace}: no healthy revision`;
  const latest = r.latest && r.latest.revision !== r.current?.revision ? `\nlatest revision ${r.latest.revision} (${r.latest.version}) ${r.latest.status}${r.latest.reason ? `: ${r.latest.reason}` : ''}` : '';
  const rows = [['DEPLOYMENT', 'DESIRED', 'UPDATED', 'READY', 'AVAILABLE', 'IMAGES'], ...r.deployments.map((d) => [d.name, String(d.desired), String(d.updated), String(d.ready), String(d.available), d.exists ? d.images.join(',') : '(missing)'])];
  return `${head}${latest}\n${table(rows)}${r.deployments.map(holdLine).join('')}${r.traffic ? formatTraffic(r.traffic) : ''}`;
}

/** A line for a Deployment whose rollout castle's verdict left held or paused, or nothing. */
function holdLine(d: StatusReport['deployments'][number]): string {
  const h = d.hold;
  if (!h) return '';
  const next = 'castle rollback goes back, castle deploy goes on';
  if (h.state === 'paused') return `Deployment/${d.name}: paused by castle after revision ${h.revision} failed; its new pods run beside the old ones and it goes no further. ${next}\n`;
  const judging = h.revisionStatus === 'pending' ? 'a deploy may still be judging it' : 'which its deploy did not release';
  return `Deployment/${d.name}: held for the verdict of revision ${h.revision} (${h.revisionStatus ?? 'no record'}), ${judging}; it does not lapse. ${next}\n`;
}

const rate = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const percent = (n: number | null) => (n === null ? '—' : `${(n * 100).toFixed(n > 0 && n < 0.001 ? 3 : 1)}%`);

/** The traffic section of `castle status`: a table, or one line saying why there is none. */
export function formatTraffic(t: TrafficReport): string {
  if ('unavailable' in t) return `traffic: Prometheus not reachable (${t.unavailable}); pass --prometheus URL to ask another\n`;
  const rows = [
    ['TIER', 'REPLICAS', 'REQUESTS/S', 'ERRORS', 'SHED/S'],
    ...t.tiers.map((x) => [x.tier, String(x.replicas), rate(x.requestsPerSecond), percent(x.errorRatio), rate(x.shedPerSecond)]),
  ];
  return `traffic over the last ${t.window} (Prometheus ${t.source}):\n${table(rows)}`;
}

/** `castle history`'s result. */
export function formatHistory(r: { revisions: readonly HistoryEntry[] }): string {
  if (r.revisions.length === 0) return 'no revisions\n';
  return table([['REVISION', 'VERSION', 'STATUS', 'WHEN', 'WHO', 'REASON'], ...r.revisions.map((e) => [String(e.revision), e.version, e.status, e.startedAt, e.who, e.reason ?? (e.rollbackOf ? `rollback to revision ${e.rollbackOf}` : '')])]);
}

/** `castle diff`'s result: the changes, then what a deploy would keep for now and why. */
export function formatDiff(r: DiffReport): string {
  const kept = r.kept.map((k) => `= ${k.object} (kept: ${k.why})\n`).join('');
  if (r.changes.length === 0) return `no changes (${r.unchanged} objects unchanged)\n${kept}`;
  const sign = { create: '+', update: '~', prune: '-' } as const;
  return r.changes.map((c) => `${sign[c.action]} ${c.object} (${c.action})${c.fields.length ? `\n    ${c.fields.join('\n    ')}` : ''}`).join('\n') + `\n${kept}${r.changes.length} changes, ${r.unchanged} unchanged${r.kept.length ? `, ${r.kept.length} kept` : ''}\n`;
}

/** `castle destroy`'s result. */
export function formatDestroy(r: DestroyReport): string {
  return `deleted ${r.deleted.length} objects${r.deleted.length ? ` (${r.deleted.join(', ')})` : ''} and ${r.records} records${r.skipped.length ? `; kept ${r.skipped.join(', ')} (not known to be the release's)` : ''}\n`;
}
