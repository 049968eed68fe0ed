/**
 * CMakeLists.txt (cmake-js, the primary build) and binding.gyp (node-gyp)
 * must compile the same CPU sources, and every listed file must exist.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function cmakeSources(): string[] {
  const text = readFileSync(join(root, 'CMakeLists.txt'), 'utf8');
  const block = /set\(HNAS_CPU_SOURCES\s+([\s\S]*?)\)/.exec(text);
  if (!block) throw new Error('HNAS_CPU_SOURCES not found in CMakeLists.txt');
  return block[1].split(/\s+/).filter((s) => s.endsWith('.cpp'));
}

function gypSources(): string[] {
  const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
  return gyp.targets[0].sources;
}

describe('build source lists', () => {
  it('agree between CMakeLists.txt and binding.gyp', () => {
    expect([...gypSources()].sort()).toEqual([...cmakeSources()].sort());
  });

  it('name files that exist, and every CPU .cpp under native/ is built', () => {
    const listed = new Set(cmakeSources());
    for (const f of listed) expect(existsSync(join(root, f)), f).toBe(true);
    for (const dir of ['core', 'ops', 'engine', 'addon']) {
      for (const f of readdirSync(join(root, 'native', dir))) {
        if (f.endsWith('.cpp')) expect(listed.has(`native/${dir}/${f}`), `native/${dir}/${f}`).toBe(true);
      }
    }
  });
});
