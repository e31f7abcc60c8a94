import { describe, expect, it } from 'vitest';
import { boolean, ConfigError, decimalNumber, describeConfig, httpUrl, integer, loadConfig, milliseconds, oneOf, port } from '../src/config.js';
import { serviceConfigRules, serviceConfigSpec } from '../src/service-config.js';

const spec = {
  port: port('T_PORT', { default: 8080, description: 'port' }),
  rate: decimalNumber('T_RATE', { default: 0.5, min: 0, max: 1, description: 'rate' }),
  count: integer('T_COUNT', { default: 3, min: 1, max: 10, description: 'count' }),
  wait: milliseconds('T_WAIT_MS', { default: 100, description: 'wait' }),
  flag: boolean('T_FLAG', { default: false, description: 'flag' }),
  level: oneOf('T_LEVEL', ['info', 'debug'] as const, { default: 'info', description: 'level' }),
  url: httpUrl('T_URL', { default: 'http://127.0.0.1:1', description: 'url' }),
};

describe('loadConfig', () => {
  it('applies every default when nothing is set, and treats empty values as unset', () => {
    expect(loadConfig(spec, { T_PORT: '', T_FLAG: '  ' })).toEqual({
      port: 8080,
      rate: 0.5,
      count: 3,
      wait: 100,
      flag: false,
      level: 'info',
      url: 'http://127.0.0.1:1',
    });
  });

  it.each([
    ['T_PORT', '0', 'port', 0],
    ['T_PORT', ' 65535 ', 'port', 65535],
    ['T_RATE', '0.02', 'rate', 0.02],
    ['T_RATE', '1', 'rate', 1],
    ['T_COUNT', '10', 'count', 10],
    ['T_FLAG', 'TRUE', 'flag', true],
    ['T_FLAG', '1', 'flag', true],
    ['T_FLAG', 'off', 'flag', false],
    ['T_LEVEL', 'debug', 'level', 'debug'],
    ['T_URL', 'https://backend.example:8443/', 'url', 'https://backend.example:8443'],
  ])('parses %s=%j as %s', (env, raw, key, value) => {
    expect(loadConfig(spec, { [env]: raw })[key as keyof typeof spec]).toEqual(value);
  });

  it('reports every invalid variable at once, each as KEY: message', () => {
    const env = {
      T_PORT: 'abc',
      T_RATE: '1.5',
      T_COUNT: '2.5',
      T_WAIT_MS: '-1',
      T_FLAG: 'maybe',
      T_LEVEL: 'loud',
      T_URL: 'ftp://x',
    };
    let error: unknown;
    try {
      loadConfig(spec, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'T_PORT: must be a port number from 0 to 65535, got "abc"',
      'T_RATE: must be a number from 0 to 1, got "1.5"',
      'T_COUNT: must be an integer from 1 to 10, got "2.5"',
      'T_WAIT_MS: must be an integer from 0 to 3600000 (milliseconds), got "-1"',
      'T_FLAG: must be true or false, got "maybe"',
      'T_LEVEL: must be one of info, debug, got "loud"',
      'T_URL: must be an http:// or https:// URL, got "ftp://x"',
    ]);
  });

  it('rejects numbers with trailing garbage, hex and infinity', () => {
    for (const raw of ['8080abc', '0x50', 'Infinity', 'NaN', '1e400']) {
      expect(() => loadConfig(spec, { T_PORT: raw }), raw).toThrow(ConfigError);
    }
  });

  it('explains a Kubernetes service link value instead of just rejecting it', () => {
    expect(() => loadConfig(spec, { T_PORT: 'tcp://10.96.0.12:80' })).toThrow(
      'T_PORT: must be a port number from 0 to 65535, got "tcp://10.96.0.12:80" (this looks like a Kubernetes service link variable; set enableServiceLinks: false on the pod)',
    );
  });

  it('describes every field for the configuration reference', () => {
    const rows = describeConfig(spec);
    expect(rows.map((r) => r.env)).toEqual(['T_PORT', 'T_RATE', 'T_COUNT', 'T_WAIT_MS', 'T_FLAG', 'T_LEVEL', 'T_URL']);
    expect(rows[0]).toEqual({ env: 'T_PORT', default: '8080', expected: 'a port number from 0 to 65535', description: 'port' });
  });
});

describe('the service configuration', () => {
  const serviceSpec = serviceConfigSpec('SVC', { port: 8080, metricsPort: 9080 });
  const load = (env: NodeJS.ProcessEnv) => loadConfig(serviceSpec, env, serviceConfigRules('SVC'));

  it('puts the management listener on a port of its own by default', () => {
    expect(load({})).toMatchObject({ port: 8080, metricsPort: 9080 });
  });

  it.each([
    [{ SVC_PORT: '0', SVC_METRICS_PORT: '0' }, 0, 0],
    [{ SVC_PORT: '9080', SVC_METRICS_PORT: '8080' }, 9080, 8080],
    [{ SVC_METRICS_PORT: '9090' }, 8080, 9090],
  ])('accepts %j', (env, port, metricsPort) => {
    expect(load(env)).toMatchObject({ port, metricsPort });
  });

  it.each([
    [{ SVC_PORT: '8080', SVC_METRICS_PORT: '8080' }, 8080],
    [{ SVC_METRICS_PORT: '8080' }, 8080],
    [{ SVC_PORT: '9080' }, 9080],
  ])('refuses a metrics port equal to the main port (%j), naming both variables', (env, port) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(`SVC_METRICS_PORT: must differ from SVC_PORT (both are ${port})`);
  });

  it('reports field problems first and checks the ports only once every field is valid', () => {
    expect(() => load({ SVC_PORT: 'x', SVC_METRICS_PORT: 'x' })).toThrow(
      'invalid configuration:\n  SVC_PORT: must be a port number from 0 to 65535, got "x"\n  SVC_METRICS_PORT: must be a port number from 0 to 65535, got "x"',
    );
  });
});
