import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readBuildInfo } from '../src/version.js';

describe('the instance name on /version and on every log line (pod)', () => {
  it.each([
    { case: 'CASTLE_INSTANCE wins over the pod name', env: { CASTLE_INSTANCE: 'named', POD_NAME: 'www-7d9-abcde' }, instance: 'named' },
    { case: "the pod's name from the downward API (POD_NAME) comes next", env: { POD_NAME: 'www-7d9-abcde' }, instance: 'www-7d9-abcde' },
    { case: 'empty values count as unset', env: { CASTLE_INSTANCE: '', POD_NAME: '' }, instance: hostname() },
    { case: 'the host name is the default', env: {}, instance: hostname() },
  ])('$case', ({ env, instance }) => {
    expect(readBuildInfo('www', '1.0.0', env).instance).toBe(instance);
  });
});
