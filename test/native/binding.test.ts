/** The numbers shared between C++ and TypeScript, and the direct GEMM entry point. */
import { describe, expect, it } from 'vitest';
import { PARAM_KIND_CODES } from '../../src/engine/network.js';
import { loadAddon } from '../../src/native/binding.js';
import { buildInfo } from '../../src/native/buildInfo.js';
import { expectAllClose } from '../helpers/allClose.js';

describe('native binding', () => {
  it('pins the parameter-kind codes shared with C++', () => {
    expect(loadAddon().buildInfo().paramKinds).toEqual(PARAM_KIND_CODES);
  });

  it('reports a GEMM kernel the CPU supports and no CUDA in the CPU build', () => {
    const info = buildInfo();
    expect(['avx512', 'avx2', 'portable']).toContain(info.gemmKernel);
    if (info.gemmKernel === 'avx512') expect(info.cpuFeatures).toContain('avx512f');
    expect(info.threads).toBeGreaterThan(0);
  });

  it('every GEMM kernel family the CPU has agrees with a float64 reference, in all transpositions', () => {
    const addon = loadAddon();
    const families = ['portable', 'avx2', 'avx512'];
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    try {
      for (const family of families) {
        try {
          addon.forceGemmKernel(family);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ERR_HNAS_UNSUPPORTED');
          continue;
        }
        for (const [m, n, k] of [[1, 1, 1], [7, 33, 19], [64, 130, 257], [16, 1000, 144]]) {
          for (const ta of [false, true])
            for (const tb of [false, true]) {
              const a = Float64Array.from({ length: m * k }, rnd);
              const b = Float64Array.from({ length: k * n }, rnd);
              const ref = new Float64Array(m * n);
              for (let i = 0; i < m; i++)
                for (let j = 0; j < n; j++) {
                  let s = 0;
                  for (let l = 0; l < k; l++) s += (ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
                  ref[i * n + j] = s;
                }
              const c64 = new Float64Array(m * n).fill(NaN); // beta = 0 must not read C
              addon.gemm(ta, tb, m, n, k, 1, a, b, 0, c64);
              expectAllClose(c64, ref, { rtol: 1e-12, atol: 1e-12 * k }, `${family} f64 ${m}x${n}x${k} ${ta}${tb}`);
              const c32 = Float32Array.from({ length: m * n }, () => 1);
              addon.gemm(ta, tb, m, n, k, 2, Float32Array.from(a), Float32Array.from(b), 0.5, c32);
              expectAllClose(c32, ref.map((v) => 2 * v + 0.5), { rtol: 1e-4, atol: 2e-6 * k }, `${family} f32 ${m}x${n}x${k} ${ta}${tb}`);
            }
        }
      }
    } finally {
      addon.forceGemmKernel('auto');
    }
  });
});
