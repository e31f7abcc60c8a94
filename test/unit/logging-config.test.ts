/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-explicit-any -- collector configurations are untyped YAML, read field by field */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Config = Record<string, any>;

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const load = (path: string) => parse(read(path)) as Config;

/** How the collector merges several --config files: maps deeply, everything else (lists too) replaced. */
function merge(base: Config, overlay: Config): Config {
  const out: Config = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const mine: unknown = out[key];
    const both = [mine, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    out[key] = both ? merge(mine as Config, value as Config) : value;
  }
  return out;
}

/** Every component the pipelines and the service name, as `kind/id`, that the configuration does not define. */
function undefinedComponents(config: Config): string[] {
  const missing: string[] = [];
  const need = (kind: string, id: string) => {
    if (!(id in (config[kind] ?? {}))) missing.push(`${kind}/${id}`);
  };
  for (const id of config.service?.extensions ?? []) need('extensions', id as string);
  for (const pipeline of Object.values((config.service?.pipelines ?? {}) as Record<string, Config>)) {
    for (const kind of ['receivers', 'processors', 'exporters']) for (const id of pipeline[kind] ?? []) need(kind, id as string);
  }
  return missing;
}

/** A component's type: its id up to the first `/` (`otlphttp/loki` is of type `otlphttp`). */
const typeOf = (id: string) => id.split('/')[0] as string;

const collector = load('deploy/logging/collector.yaml');
const overlays = {
  loki: load('deploy/logging/exporters/loki.yaml'),
  cloudwatch: load('deploy/logging/exporters/cloudwatch.yaml'),
};

describe("the collector configuration shipped in deploy/logging (the hermetic cluster's, unchanged)", () => {
  it('tails the pod log files and ships them to VictoriaLogs over OTLP/HTTP, every component it names defined', () => {
    expect(undefinedComponents(collector)).toEqual([]);
    expect(collector.service.pipelines.logs).toMatchObject({ receivers: ['filelog'], exporters: ['otlphttp/victorialogs'] });
    expect(collector.receivers.filelog.include).toEqual(['${env:OTELCOL_LOG_GLOB:-/var/log/pods/*/*/*.log}']);
    expect(collector.exporters['otlphttp/victorialogs'].logs_endpoint).toBe(
      '${env:VICTORIALOGS_URL:-http://victorialogs.logging.svc:9428}/insert/opentelemetry/v1/logs',
    );
  });

  it("parses the CRI line first, then Castle's JSON, and lifts its time, level, trace id and message into the record's own fields", () => {
    const ops = (collector.receivers.filelog.operators as Config[]).map((o) => `${o.type}:${o.parse_from ?? o.from ?? o.field ?? ''}`);
    expect(ops.slice(0, 3)).toEqual(['container:', 'add:resource["k8s.node.name"]', 'json_parser:body']);
    expect(ops).toEqual(
      expect.arrayContaining(['time_parser:attributes.time', 'severity_parser:attributes.level', 'move:attributes.msg', 'remove:attributes.trace_id']),
    );
    const trace = (collector.receivers.filelog.operators as Config[]).find((o) => o.type === 'trace_parser');
    expect(trace?.trace_id).toEqual({ parse_from: 'attributes.trace_id' });
    // pino's ISO time, e.g. 2026-11-27T06:41:14.123Z, in Go's reference layout
    const time = (collector.receivers.filelog.operators as Config[]).find((o) => o.type === 'time_parser');
    expect(time).toMatchObject({ layout_type: 'gotime', layout: '2006-01-02T15:04:05.999999999Z07:00' });
  });

  it.each([
    { overlay: 'loki', exporter: 'otlphttp/loki' },
    { overlay: 'cloudwatch', exporter: 'awscloudwatchlogs' },
  ] as const)('exporters/$overlay.yaml, merged over it, sends the logs pipeline to $exporter alone', ({ overlay, exporter }) => {
    const merged = merge(collector, overlays[overlay]);
    expect(undefinedComponents(merged)).toEqual([]);
    expect(merged.service.pipelines.logs.exporters).toEqual([exporter]);
    expect(merged.service.pipelines.logs.receivers).toEqual(['filelog']);
    expect(merged.service.pipelines.logs.processors).toEqual(collector.service.pipelines.logs.processors);
  });

  it("points Loki's exporter at Loki's OTLP endpoint (the exporter adds /v1/logs)", () => {
    const loki = overlays.loki.exporters['otlphttp/loki'];
    expect(loki.endpoint).toMatch(/^\$\{env:LOKI_URL:-http:\/\/[^}]+\/otlp\}$/);
    expect(loki.headers).toHaveProperty('X-Scope-OrgID');
  });

  it("sets CloudWatch's required log group and stream, and only settings the awscloudwatchlogs exporter has", () => {
    const cloudwatch = overlays.cloudwatch.exporters.awscloudwatchlogs as Config;
    // The exporter's settings: its config.schema.yaml in opentelemetry-collector-contrib, with the
    // AWS session settings it embeds (internal/aws/awsutil).
    const exporterSettings = ['log_group_name', 'log_stream_name', 'endpoint', 'log_retention', 'tags', 'raw_log', 'retry_on_failure', 'sending_queue'];
    const sessionSettings = ['region', 'role_arn', 'external_id', 'profile', 'max_retries', 'num_workers', 'request_timeout_seconds', 'no_verify_ssl', 'proxy_address', 'local_mode', 'resource_arn', 'certificate_file_path', 'imds_retries', 'shared_credentials_file'];
    const known = [...exporterSettings, ...sessionSettings];
    expect(Object.keys(cloudwatch).filter((k) => !known.includes(k))).toEqual([]);
    expect(cloudwatch.log_group_name).toBeTruthy();
    expect(cloudwatch.log_stream_name).toBeTruthy();
    expect(cloudwatch.region).toBe('${env:AWS_REGION}');
  });

  it('names in its README every exporter file, every exporter and the command that uses it', () => {
    const readme = read('deploy/logging/README.md');
    for (const [name, overlay] of Object.entries(overlays)) {
      expect(readme).toContain(`exporters/${name}.yaml`);
      for (const exporter of Object.keys(overlay.exporters as Config)) expect(readme).toContain(`\`${exporter}\``);
    }
    expect(readme).toContain('--config=collector.yaml --config=exporters/loki.yaml');
    expect(readme).toContain('--config=collector.yaml --config=exporters/cloudwatch.yaml');
  });
});

describe("the hermetic cluster's collector build (cluster/logs/otelcol-builder.yaml)", () => {
  const manifest = load('cluster/logs/otelcol-builder.yaml');
  /** The component types a manifest section builds: `.../filelogreceiver v0.165.0` builds `filelog`. */
  const built = (section: string, suffix: string) =>
    (manifest[section] as Config[]).map((m) => (m.gomod as string).split(' ')[0]?.split('/').pop()?.replace(new RegExp(`${suffix}$`), '') ?? '');
  const plain = (id: string) => typeOf(id).replaceAll('_', '');

  it('builds every component the shipped configuration and its Loki overlay use', () => {
    const config = merge(collector, overlays.loki);
    const sections = [
      ['receivers', 'receiver'],
      ['processors', 'processor'],
      ['exporters', 'exporter'],
      ['extensions', 'extension'],
    ] as const;
    for (const [section, suffix] of sections) {
      const have = built(section, suffix);
      expect(Object.keys(config[section] as Config).map(plain).filter((t) => !have.includes(t)), section).toEqual([]);
    }
  });

  it('pins every module at the versions that build here, statically linked', () => {
    const versions = (['receivers', 'processors', 'exporters', 'extensions', 'providers'] as const).flatMap((s) =>
      (manifest[s] as Config[]).map((m) => m.gomod as string),
    );
    for (const gomod of versions) expect(gomod).toMatch(/ v(0\.165\.0|1\.71\.0)$/);
    expect(manifest.dist.cgo_enabled).toBe(false);
  });
});
