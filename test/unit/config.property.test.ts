import { ConfigError, loadConfig, type ConfigSpec, type Field } from '@castle/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// The services export only their app builders; their config specs are read from source.
import { backendConfigSpec } from '@castle/backend/config';
import { wwwConfigSpec } from '@castle/www/config';

/**
 * Whether `value` is inside the range a field documents in its `expected` text, the text
 * users read in errors and the configuration reference.
 */
function insideDocumentedRange(f: Field<unknown>, value: unknown): boolean {
  const range = /^an? (integer|number|port number) from (-?[\d.]+) to (-?[\d.]+)/.exec(f.expected);
  if (range) {
    const [, kind, min, max] = range;
    return typeof value === 'number' && Number.isFinite(value) && (kind === 'number' || Number.isInteger(value)) &&
      value >= Number(min) && value <= Number(max);
  }
  if (f.expected === 'true or false') return typeof value === 'boolean';
  const words = /^one of (.+)$/.exec(f.expected);
  if (words) return typeof value === 'string' && (words[1] ?? '').split(', ').includes(value);
  if (f.expected === 'an http:// or https:// URL') {
    if (typeof value !== 'string' || value.endsWith('/')) return false;
    return ['http:', 'https:'].includes(new URL(value).protocol);
  }
  if (f.expected === 'a host name or IP address') return typeof value === 'string' && /^\S{1,253}$/.test(value);
  throw new Error(`no documented range known for ${f.env}: ${f.expected}`);
}

/** Values an operator might plausibly (or implausibly) set, around every field's edges. */
const rawValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.integer({ min: -2, max: 1_100_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.double({ min: -0.5, max: 1.5 }).map(String),
  fc.webUrl({ withQueryParameters: true }),
  fc.constantFrom(
    '', ' ', '\t', '0', '1', '-0', '+5', ' 7 ', '1.', '.5', '1e3', '1e400', '5e-1', '0x10', 'Infinity', 'NaN', '65536',
    'true', 'FALSE', ' yes ', 'off', 'maybe', 'info', 'debug', 'loud',
    'http://a', 'https://b:8/x/', 'http://a//', 'ftp://x', 'tcp://10.0.0.1:8080', 'localhost', '::1', '0.0.0.0', 'a b',
  ),
);

/** Environments setting any of the spec's variables: many at once, or a few (which often load). */
const envFor = (spec: ConfigSpec): fc.Arbitrary<Record<string, string | undefined>> => {
  const names = Object.values(spec).map((f) => f.env);
  const dense = fc.record(Object.fromEntries(names.map((env) => [env, fc.option(rawValue, { nil: undefined })])));
  const sparse = fc
    .subarray(names, { maxLength: 3 })
    .chain((chosen) => fc.record(Object.fromEntries(chosen.map((env) => [env, rawValue]))));
  return fc.oneof(dense, sparse);
};

/** The problems `loadConfig` reports for `env`, or none when it loads. */
function problemsOf(spec: ConfigSpec, env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(spec, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const serviceLinkHint = ' (this looks like a Kubernetes service link variable; set enableServiceLinks: false on the pod)';
const problemLine = (f: Field<unknown>, raw: string) =>
  `${f.env}: must be ${f.expected}, got ${JSON.stringify(raw)}${raw.startsWith('tcp://') ? serviceLinkHint : ''}`;

describe.each([
  { service: 'backend', spec: backendConfigSpec },
  { service: 'www', spec: wwwConfigSpec },
])('$service configuration under arbitrary environments', ({ spec }) => {
  it('loads values inside the documented ranges, or names every invalid variable at once as `KEY: must be ...`', () => {
    fc.assert(
      fc.property(envFor(spec), (env) => {
        // Each variable judged alone; together, every one of them must be reported, in spec order.
        const invalid = Object.values(spec).filter((f) => problemsOf(spec, { [f.env]: env[f.env] }).length > 0);
        const problems = problemsOf(spec, env);
        expect(problems).toEqual(invalid.map((f) => problemLine(f, env[f.env] ?? '')));
        for (const p of problems) expect(p).not.toMatch(/[\r\n]/);
        if (problems.length > 0) return;

        const loaded = loadConfig(spec, env) as Record<string, unknown>;
        for (const [key, f] of Object.entries(spec)) {
          const raw = env[f.env];
          if (raw === undefined || raw.trim() === '') expect(loaded[key]).toEqual(f.default);
          expect({ [f.env]: insideDocumentedRange(f, loaded[key]) }).toEqual({ [f.env]: true });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('documents defaults that are themselves inside the documented ranges', () => {
    const loaded = loadConfig(spec, {}) as Record<string, unknown>;
    for (const [key, f] of Object.entries(spec)) {
      expect({ [f.env]: insideDocumentedRange(f, loaded[key]) }).toEqual({ [f.env]: true });
    }
  });

  it('hints at Kubernetes service links for any tcp:// value, whichever variable it lands in', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(spec)), fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (f, ip, port) => {
        const raw = `tcp://${ip}:${port}`;
        expect(problemsOf(spec, { [f.env]: raw })).toEqual([`${f.env}: must be ${f.expected}, got "${raw}"${serviceLinkHint}`]);
      }),
    );
  });
});
