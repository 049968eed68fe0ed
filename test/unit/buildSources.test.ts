/**
 * CMakeLists.txt (cmake-js, the primary build) and binding.gyp (node-gyp)
 * must compile the same CPU sources, and every listed file must exist. The
 * CUDA sources are CMake's alone: binding.gyp stays CPU-only.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cmakeText = readFileSync(join(root, 'CMakeLists.txt'), 'utf8');

function cmakeList(name: string, extensions: string[]): string[] {
  const block = new RegExp(`set\\(${name}\\s+([\\s\\S]*?)\\)`).exec(cmakeText);
  if (!block) throw new Error(`${name} not found in CMakeLists.txt`);
  return block[1].split(/\s+/).filter((s) => extensions.some((e) => s.endsWith(e)));
}

const cmakeSources = () => cmakeList('HNAS_CPU_SOURCES', ['.cpp']);
const cudaSources = () => [
  ...cmakeList('HNAS_CUDA_KERNEL_SOURCES', ['.cu']),
  ...cmakeList('HNAS_CUDA_HOST_SOURCES', ['.cpp']),
  ...cmakeList('HNAS_CUDA_EMULATOR_SOURCES', ['.cpp']),
];

function gypTarget(): { sources: string[]; defines?: string[]; libraries?: string[] } {
  const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')) as {
    targets: { sources: string[]; defines?: string[]; libraries?: string[] }[];
  };
  return gyp.targets[0];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(root, join(dir, e.name)).split('\\').join('/')],
  );
}

describe('build source lists', () => {
  it('agree between CMakeLists.txt and binding.gyp', () => {
    expect([...gypTarget().sources].sort()).toEqual([...cmakeSources()].sort());
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

  it('list every CUDA source under native/cuda in CMakeLists.txt, and only existing ones', () => {
    const listed = new Set(cudaSources());
    for (const f of listed) expect(existsSync(join(root, f)), f).toBe(true);
    for (const f of filesUnder(join(root, 'native', 'cuda'))) {
      if (f.endsWith('.cu') || f.endsWith('.cpp')) expect(listed.has(f), f).toBe(true);
    }
    // CPU and CUDA lists are disjoint.
    for (const f of cmakeSources()) expect(listed.has(f), f).toBe(false);
  });

  it('keep binding.gyp CPU-only', () => {
    const target = gypTarget();
    for (const f of target.sources) {
      expect(f.startsWith('native/cuda/'), f).toBe(false);
      expect(f.endsWith('.cu'), f).toBe(false);
    }
    expect(JSON.stringify(target.defines ?? [])).not.toMatch(/CUDA/);
    expect(JSON.stringify(target.libraries ?? [])).not.toMatch(/cuda/i);
  });

  it('enable the CUDA language before the addon target is declared, with static cudart', () => {
    const enable = cmakeText.indexOf('enable_language(CUDA)');
    const target = cmakeText.indexOf('add_library(hnas');
    expect(enable).toBeGreaterThan(0);
    expect(enable).toBeLessThan(target);
    expect(cmakeText).toMatch(/CMAKE_CUDA_RUNTIME_LIBRARY Static/);
    expect(cmakeText).toMatch(/HNAS_WITH_CUDA=1/);
  });
});
