import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { NS, castleDashboard, panel } from './panels.js';

const pods = `{${NS},container=~"www|backend"}`;

/** Which version each pod runs over time (`castle_build_info`), and process restarts. */
export function releasesDashboard(): DashboardBuilder {
  return castleDashboard('castle-releases', 'Castle / Releases', 'Versions per pod over time from castle_build_info, pods per version, and process restarts.')
    .withPanel(
      panel({
        title: 'Version per pod',
        description: 'One line per pod and version while the pod runs: a rollout shows the old lines ending as the new ones begin.',
        unit: 'short',
        width: 24,
        queries: [{ expr: `max by (container, pod, version, git_sha) (castle_build_info${pods})`, legend: '{{container}} {{pod}} {{version}} ({{git_sha}})' }],
      }),
    )
    .withPanel(
      panel({
        title: 'Pods per version',
        description: 'Pods reporting each version per tier; two versions for long means a stuck rollout (CastleRolloutStuck).',
        unit: 'short',
        min: 0,
        queries: [{ expr: `count by (container, version) (castle_build_info${pods})`, legend: '{{container}} {{version}}' }],
      }),
    )
    .withPanel(
      panel({
        title: 'Process uptime',
        description: 'Seconds since each pod\u2019s process started; a drop is a restart (CastlePodCrashLooping).',
        unit: 's',
        min: 0,
        queries: [{ expr: `time() - max by (container, pod) (process_start_time_seconds${pods})`, legend: '{{container}} {{pod}}' }],
      }),
    );
}
