import { App, Chart } from 'cdk8s';
import type { KubernetesObject } from '../src/index.js';

/** A fresh chart to put one construct in, and a way to read what it made. */
export function testChart(): { chart: Chart; objects: () => KubernetesObject[] } {
  const chart = new Chart(new App(), 'test');
  return { chart, objects: () => chart.toJson() as KubernetesObject[] };
}

/** The one object of `kind` (and `name`, when given); fails when there is not exactly one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered objects are untyped JSON, read field by field
export function only<T = Record<string, any>>(objects: readonly KubernetesObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as T;
}
