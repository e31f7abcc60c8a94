import { describe, expect, it } from 'vitest';
import { useServices, type ServiceName } from '../support/local-services.js';

const services = useServices();

const serviceLink = ' (this looks like a Kubernetes service link variable; set enableServiceLinks: false on the pod)';

describe('invalid configuration', () => {
  it.each<{ service: ServiceName; env: Record<string, string>; problems: string[] }>([
    {
      service: 'backend',
      env: { BACKEND_PORT: 'abc', BACKEND_ERROR_RATE: '2', BACKEND_LEGACY_ERRORS: 'maybe', BACKEND_LOG_LEVEL: 'loud' },
      problems: [
        'BACKEND_PORT: must be a port number from 0 to 65535, got "abc"',
        'BACKEND_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        'BACKEND_ERROR_RATE: must be a number from 0 to 1, got "2"',
        'BACKEND_LEGACY_ERRORS: must be true or false, got "maybe"',
      ],
    },
    {
      service: 'www',
      env: {
        WWW_PORT: 'tcp://10.0.0.1:8080',
        WWW_SHUTDOWN_TIMEOUT_MS: '50',
        WWW_MAX_HEADER_BYTES: '1.5',
        WWW_BACKEND_URL: 'ftp://backend',
        WWW_CAPACITY_RPS: '-1',
        WWW_BACKEND_RETRIES: '9',
        WWW_CRASH_ON_BACKEND_ERROR: 'sometimes',
      },
      problems: [
        `WWW_PORT: must be a port number from 0 to 65535, got "tcp://10.0.0.1:8080"${serviceLink}`,
        'WWW_SHUTDOWN_TIMEOUT_MS: must be an integer from 100 to 600000 (milliseconds), got "50"',
        'WWW_MAX_HEADER_BYTES: must be an integer from 1024 to 1048576 (bytes), got "1.5"',
        'WWW_BACKEND_URL: must be an http:// or https:// URL, got "ftp://backend"',
        'WWW_CAPACITY_RPS: must be an integer from 0 to 1000000 (requests per second), got "-1"',
        'WWW_BACKEND_RETRIES: must be an integer from 0 to 5, got "9"',
        'WWW_CRASH_ON_BACKEND_ERROR: must be true or false, got "sometimes"',
      ],
    },
  ])('$service with several bad variables exits 1 before listening and names every problem at once on stderr', async ({ service, env, problems }) => {
    const proc = services.spawn(service, env);
    const exit = await proc.exited;

    expect(exit).toEqual({ code: 1, signal: null });
    expect(proc.stderr).toBe(`${service}: invalid configuration\n${problems.join('\n')}\n`);
    expect(proc.lines.filter((l) => l.msg === 'ready' || /listening/.test(l.msg ?? ''))).toEqual([]);
  });

  it.each<{ service: ServiceName; env: Record<string, string>; problem: string }>([
    { service: 'backend', env: { BACKEND_PORT: '8181', BACKEND_METRICS_PORT: '8181' }, problem: 'BACKEND_METRICS_PORT: must differ from BACKEND_PORT (both are 8181)' },
    { service: 'www', env: { WWW_PORT: '9080', WWW_METRICS_PORT: '' }, problem: 'WWW_METRICS_PORT: must differ from WWW_PORT (both are 9080)' },
  ])('$service refuses a metrics port equal to its main port, naming both variables, before listening', async ({ service, env, problem }) => {
    const proc = services.spawn(service, env);
    const exit = await proc.exited;

    expect(exit).toEqual({ code: 1, signal: null });
    expect(proc.stderr).toContain(`${service}: invalid configuration\n${problem};`);
    expect(proc.lines.filter((l) => l.msg === 'ready' || /listening/.test(l.msg ?? ''))).toEqual([]);
  });

  it('a port that is already taken makes the second process exit 1 with a fatal log line', async () => {
    const first = await services.start('backend');
    const second = services.spawn('backend', { BACKEND_PORT: String(first.port) });
    const exit = await second.exited;

    expect(exit.code).toBe(1);
    expect(second.lines).toContainEqual(expect.objectContaining({ level: 'fatal', msg: 'could not start' }));
  });
});
