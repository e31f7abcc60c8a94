import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { render, toYaml } from '../src/index.js';

describe('toYaml', () => {
  it('writes one YAML document per object, in order, that parses back to the same object', () => {
    const objects = render({ env: 'production', version: '1.2.3', registry: 'registry.example:5000/team', gitSha: 'abcdef0' });
    const text = toYaml(objects);
    expect(text.match(/^---$/gm)).toHaveLength(objects.length);
    expect(parseAllDocuments(text).map((d) => d.toJS() as unknown)).toEqual(objects);
  });

  it('keeps numeric-looking configuration values strings', () => {
    const text = toYaml(render({ env: 'local', version: '1.2.3' }));
    expect(text).toContain('WWW_PORT: "8080"');
  });
});
