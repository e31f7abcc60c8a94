import { z } from 'zod';

/** One configuration variable: where it comes from, what it means, its default and how to parse it. */
export interface Field<T> {
  /** The environment variable, e.g. `WWW_PORT`. */
  readonly env: string;
  /** One sentence for the configuration reference. */
  readonly description: string;
  readonly default: T;
  /** What a valid value looks like, used in error messages and the reference. */
  readonly expected: string;
  readonly schema: z.ZodType<T>;
}

/** A record of fields; `loadConfig` turns it into a record of values. */
export type ConfigSpec = Readonly<Record<string, Field<unknown>>>;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** Thrown by `loadConfig`; `problems` holds one `KEY: message` line per invalid variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

interface Common<T> {
  readonly default: T;
  readonly description: string;
}

function field<T>(env: string, expected: string, schema: z.ZodType<T>, opts: Common<T>): Field<T> {
  return { env, expected, schema, default: opts.default, description: opts.description };
}

const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function numberSchema(min: number, max: number, integer: boolean): z.ZodType<number> {
  return z
    .string()
    .trim()
    .regex(decimal)
    .transform(Number)
    .pipe(integer ? z.number().int().min(min).max(max) : z.number().min(min).max(max));
}

/** An integer in [min, max]. */
export function integer(env: string, opts: Common<number> & { readonly min: number; readonly max: number; readonly unit?: string }): Field<number> {
  const unit = opts.unit ? ` (${opts.unit})` : '';
  return field(env, `an integer from ${opts.min} to ${opts.max}${unit}`, numberSchema(opts.min, opts.max, true), opts);
}

/** A decimal number in [min, max]. */
export function decimalNumber(env: string, opts: Common<number> & { readonly min: number; readonly max: number }): Field<number> {
  return field(env, `a number from ${opts.min} to ${opts.max}`, numberSchema(opts.min, opts.max, false), opts);
}

/** A TCP port; 0 asks the OS for a free one. */
export function port(env: string, opts: Common<number>): Field<number> {
  return field(env, 'a port number from 0 to 65535', numberSchema(0, 65535, true), opts);
}

/** A duration in whole milliseconds. */
export function milliseconds(env: string, opts: Common<number> & { readonly max?: number; readonly min?: number }): Field<number> {
  return integer(env, { min: opts.min ?? 0, max: opts.max ?? 3_600_000, unit: 'milliseconds', ...opts });
}

const truthy = ['true', '1', 'yes', 'on'];
const falsy = ['false', '0', 'no', 'off'];

/** `true`/`false` (also 1/0, yes/no, on/off, any case). */
export function boolean(env: string, opts: Common<boolean>): Field<boolean> {
  const schema = z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => truthy.includes(v) || falsy.includes(v))
    .transform((v) => truthy.includes(v));
  return field(env, 'true or false', schema as unknown as z.ZodType<boolean>, opts);
}

/** One of a fixed set of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(env: string, values: T, opts: Common<T[number]>): Field<T[number]> {
  const schema = z.string().trim().pipe(z.enum(values));
  return field(env, `one of ${values.join(', ')}`, schema as unknown as z.ZodType<T[number]>, opts);
}

/** An absolute http:// or https:// URL. */
export function httpUrl(env: string, opts: Common<string>): Field<string> {
  const schema = z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/ }))
    .transform((u) => u.replace(/\/+$/, ''));
  return field(env, 'an http:// or https:// URL', schema as unknown as z.ZodType<string>, opts);
}

/** A host name or IP address to listen on. */
export function host(env: string, opts: Common<string>): Field<string> {
  const schema = z.string().trim().regex(/^[A-Za-z0-9.:[\]-]{1,253}$/);
  return field(env, 'a host name or IP address', schema, opts);
}

/** Why a value of this shape is likely wrong, beyond "invalid": a hint that tells the user what to do. */
function hint(raw: string): string {
  if (/^tcp:\/\//.test(raw)) {
    return ' (this looks like a Kubernetes service link variable; set enableServiceLinks: false on the pod)';
  }
  return '';
}

/**
 * A rule across fields, checked once every field is valid: a `KEY: message` problem, or
 * undefined when the values agree.
 */
export type ConfigRule<C> = (config: C) => string | undefined;

/**
 * Reads every field of `spec` from `env`, applying defaults to unset or empty variables,
 * then checks `rules` across the fields. Reports every problem at once.
 * @throws ConfigError listing each problem as `KEY: message`.
 */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
  rules: readonly ConfigRule<ConfigOf<S>>[] = [],
): ConfigOf<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, f] of Object.entries(spec)) {
    const raw = env[f.env];
    if (raw === undefined || raw.trim() === '') {
      values[name] = f.default;
      continue;
    }
    const parsed = f.schema.safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      problems.push(`${f.env}: must be ${f.expected}, got ${JSON.stringify(raw)}${hint(raw)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = values as ConfigOf<S>;
  for (const rule of rules) {
    const problem = rule(config);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Rows for the configuration reference: variable, default, meaning. */
export function describeConfig(spec: ConfigSpec): { env: string; default: string; expected: string; description: string }[] {
  return Object.values(spec).map((f) => ({
    env: f.env,
    default: String(f.default),
    expected: f.expected,
    description: f.description,
  }));
}
