import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordTooLargeError, decodeRecord, encodeRecord } from '../src/release/record.js';
import { cm, record } from './fixtures.js';

describe('release records', () => {
  it('round-trips through gzip’d JSON', () => {
    const r = record(3, 'succeeded', [cm('a'), cm('b')]);
    expect(decodeRecord(encodeRecord(r))).toEqual(r);
  });

  it('compresses repetitive manifests well below their JSON size', () => {
    const r = record(1, 'pending', Array.from({ length: 500 }, (_, i) => cm(`config-${i}`)));
    expect(encodeRecord(r).length).toBeLessThan(JSON.stringify(r).length / 10);
  });

  it('refuses a record that would exceed the object size limit, naming both sizes', () => {
    const r = record(1, 'pending', [cm('big')]);
    const big = { ...r, manifests: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { blob: randomBytes(1_200_000).toString('base64') } }] };
    expect(() => encodeRecord(big)).toThrow(RecordTooLargeError);
    expect(() => encodeRecord(big)).toThrow(/bytes compressed, over the \d+-byte limit/);
  });
});
