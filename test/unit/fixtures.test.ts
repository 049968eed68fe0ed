/** The copied fixtures are byte-identical to what the oracle recorded (sha256 in expected.json / batch.json). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, FIXTURE_ROOT, expected } from '../helpers/fixtures.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('fixture integrity', () => {
  it.each(FIXTURES)('%s matches its recorded sha256 sums', (name) => {
    const files = expected(name).files as Record<string, { file: string; sha256: string }>;
    expect(Object.keys(files).length).toBeGreaterThan(5);
    for (const meta of Object.values(files)) {
      expect(sha256(join(FIXTURE_ROOT, name, meta.file)), meta.file).toBe(meta.sha256);
    }
  });

  it('the shared batch matches batch.json', () => {
    const batch = JSON.parse(readFileSync(join(FIXTURE_ROOT, 'batch.json'), 'utf8'));
    const text = JSON.stringify(batch);
    expect(text).toContain(sha256(join(FIXTURE_ROOT, 'input.bin')));
    expect(text).toContain(sha256(join(FIXTURE_ROOT, 'labels.bin')));
  });
});
