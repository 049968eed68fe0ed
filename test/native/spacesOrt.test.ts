/**
 * Every search-space network is one model seen three ways: built in
 * TypeScript, run by the native engine, exported as ONNX and run by
 * onnxruntime. With BN on running statistics the two forwards must agree.
 */
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/engine/network.js';
import { exportOnnx } from '../../src/onnx/exportOnnx.js';
import { OrtModel } from '../../src/onnx/ortSession.js';
import { defaultBatch } from '../../src/io/defaultData.js';
import { buildArchitecture } from '../../src/spaces/architecture.js';
import { formatGenotype } from '../../src/spaces/darts/genotype.js';
import { sampleGenotypeHnas, sampleGenotypeUniform } from '../../src/spaces/darts/sampling.js';
import { formatNb201 } from '../../src/spaces/nb201/archString.js';
import { sampleNb201 } from '../../src/spaces/nb201/sampling.js';
import { Rng } from '../../src/spaces/rng.js';
import type { GraphSpec } from '../../src/engine/graphSpec.js';
import { maxRelToMax } from '../helpers/allClose.js';

// The bound: float32 native vs float32 onnxruntime, different
// summation orders through up to 20 cells.
const RTOL = 1e-4;

async function nativeVsOrt(spec: GraphSpec, input: Float32Array, n: number, label: string): Promise<number> {
  const net = Network.create(spec, { dtype: 'float32', name: label });
  const ort = await OrtModel.load(exportOnnx(spec), { name: label });
  try {
    const a = await net.forward(input, { bn: 'eval' });
    const b = await ort.run(input, n);
    for (const v of a) expect(Number.isFinite(v), `${label}: finite logits`).toBe(true);
    return maxRelToMax(a, b);
  } finally {
    net.dispose();
    ort.dispose();
  }
}

describe('native forward = onnxruntime forward', () => {
  it('for 20 random NAS-Bench-201 architectures', async () => {
    const { input } = await defaultBatch({ size: 4, seed: 1 });
    const rng = new Rng(2026);
    for (let i = 0; i < 20; i++) {
      const arch = formatNb201(sampleNb201(rng));
      const rel = await nativeVsOrt(buildArchitecture('nb201', arch, { seed: i }), input, 4, arch);
      expect(rel, arch).toBeLessThan(RTOL);
    }
  });

  it('for 10 random DARTS genotypes at the search-proxy and evaluation sizes', async () => {
    const { input } = await defaultBatch({ size: 2, seed: 1 });
    const rng = new Rng(7);
    for (let i = 0; i < 10; i++) {
      const g = formatGenotype(i % 2 === 0 ? sampleGenotypeUniform(rng) : sampleGenotypeHnas(rng));
      for (const [channels, cells] of [[16, 5], [36, 20]] as const) {
        const spec = buildArchitecture('darts', g, { channels, cells, seed: i });
        const rel = await nativeVsOrt(spec, input, 2, `${g} C=${channels} L=${cells}`);
        expect(rel, `genotype ${i} C=${channels} L=${cells}`).toBeLessThan(RTOL);
      }
    }
  });
});
