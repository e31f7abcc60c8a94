/**
 * Where the verdict reads the pods' request counters: decided once, at the command's edge, from
 * the flags and the environment.
 */
import { metricsAccess } from '@castle/k8s';
import { DEFAULT_PROMETHEUS, type PrometheusTarget, prometheusTarget, serviceTargetOf } from '../traffic/prometheus.js';

/**
 * Where the counters come from. `prometheus`: the Prometheus that scrapes the pods, asked through
 * the API server's service proxy (or at a URL) — a path every shipped NetworkPolicy admits,
 * since Prometheus scrapes from the monitoring namespace; with `fallback`, the pod proxy instead
 * when that Prometheus cannot be asked or does not scrape the judged Deployment's old pods at
 * the window's start. `pod-proxy`: each pod's metrics port through the API server's pod proxy,
 * which reaches the pods only where the API server's address is admitted to that port.
 */
export type CounterSource = { readonly kind: 'pod-proxy' } | { readonly kind: 'prometheus'; readonly target: PrometheusTarget; readonly fallback: boolean };

/** `--verdict-source`. */
export type VerdictSourceFlag = 'auto' | 'prometheus' | 'pod-proxy';

/** The values of {@link VerdictSourceFlag}. */
export const VERDICT_SOURCES: readonly VerdictSourceFlag[] = ['auto', 'prometheus', 'pod-proxy'];

/** What decides the source. */
export interface CounterSourceInput {
  readonly flag: VerdictSourceFlag;
  /** `--prometheus` / `CASTLE_PROMETHEUS_URL`. */
  readonly prometheus?: string;
  /** The rendered environment's metrics access (`@castle/k8s` `metricsAccess`); none for `--manifests`. */
  readonly environment?: { readonly prometheusUrl: string; readonly controlPlaneCidr?: string };
}

/**
 * The counters' source. `pod-proxy` and `prometheus` are what they say (`prometheus` without a
 * fallback). `auto`: the pod proxy where the environment admits the control plane to the metrics
 * port (`controlPlaneCidr`); else Prometheus — `--prometheus`, else the environment's, else
 * monitoring/prometheus:9090 — with the pod proxy as the fallback.
 * @throws UsageError for a `--prometheus` that is not an http(s) URL
 */
export function chooseCounterSource({ flag, prometheus, environment }: CounterSourceInput): CounterSource {
  if (flag === 'pod-proxy' || (flag === 'auto' && environment?.controlPlaneCidr)) return { kind: 'pod-proxy' };
  const target = prometheus !== undefined ? prometheusTarget(prometheus) : environment ? serviceTargetOf(environment.prometheusUrl) : DEFAULT_PROMETHEUS;
  return { kind: 'prometheus', target, fallback: flag === 'auto' };
}

/**
 * The source for `castle deploy`'s flags: with `--manifests` there is no environment to ask;
 * otherwise `--env`'s, whose manifests are rendered.
 */
export function counterSourceFor(flags: { readonly verdictSource: VerdictSourceFlag; readonly prometheus?: string; readonly env: string; readonly manifests?: string }): CounterSource {
  return chooseCounterSource({ flag: flags.verdictSource, prometheus: flags.prometheus, environment: flags.manifests ? undefined : metricsAccess(flags.env) });
}
