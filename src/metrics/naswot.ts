/**
 * naswot and naswot_distinct (NASWOT / NASLib nwot, fixture README §4): one
 * train-mode forward; for each ReLU, c = (ReLU input > 0) per sample;
 * K = Σ [c cᵀ + (1−c)(1−c)ᵀ] (the number of units where two samples agree);
 * score = ln|det K| (slogdet), extra `sign`. naswot weights each ReLU node
 * by its number of consumers (the peers' hooks see one ReLU module per
 * consumer); naswot_distinct counts each distinct ReLU input once. A singular
 * K (ln|det K| = −∞) is a non-finite failure.
 */
import { slogdet } from './metricMath.js';
import { metricValue, required } from './metricResult.js';
import type { MetricDef, MetricId, MetricResult, ProbeData } from './types.js';

function logDetResult(id: MetricId, k: Float64Array, n: number, counts: Record<string, number | undefined>): MetricResult {
  const { sign, logAbsDet } = slogdet(k, n);
  if (sign === 0) {
    return { ok: false, error: { code: 'ERR_HNAS_NON_FINITE', message: `${id}: the kernel K is singular (ln|det K| = -Infinity)` } };
  }
  const extras: Record<string, number> = { sign };
  for (const [key, v] of Object.entries(counts)) if (v !== undefined) extras[key] = v;
  return metricValue(id, logAbsDet, extras);
}

function kernel(data: ProbeData, id: MetricId): NonNullable<ProbeData['reluKernel']> {
  return required(data, 'reluKernel', id);
}

export const naswotMetric: MetricDef = {
  id: 'naswot',
  description: 'ln|det K|, K = Σ_ReLUs agreement of binary ReLU codes, each ReLU node weighted by its consumers (NASWOT)',
  needs: ['relu_kernel'],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    const k = kernel(data, 'naswot');
    return logDetResult('naswot', k.weighted, data.batchSize, {
      num_relus: k.reluModules,
      relu_nodes: k.reluNodes,
      units_per_sample: k.unitsPerSample,
    });
  },
};

export const naswotDistinctMetric: MetricDef = {
  id: 'naswot_distinct',
  description: 'ln|det K| with each distinct ReLU input tensor counted once',
  needs: ['relu_kernel'],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    const k = kernel(data, 'naswot_distinct');
    return logDetResult('naswot_distinct', k.distinct, data.batchSize, {
      num_distinct_relu_inputs: k.distinctInputs,
      units_per_sample: k.distinctUnitsPerSample,
    });
  },
};
