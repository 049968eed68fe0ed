/**
 * synflow and log_synflow (NASLib convention, fixture README §4): a float64
 * copy of the network with EVERY parameter replaced by |θ| and every BN
 * removed (`identity`), one all-ones sample; R = Σ logits and
 * score = Σ |W ⊙ ∂R/∂W| over the conv/linear weights (extra `R`).
 * log_synflow = ln(synflow); synflow = 0 makes it a non-finite failure.
 * float32 overflows on large networks (R ~ 1e48), hence float64 only.
 */
import { metricValue, required } from './metricResult.js';
import type { MetricDef, ProbeData } from './types.js';
import { perWeightLayer, sum } from './weightSums.js';

function synflowScore(data: ProbeData, id: MetricDef['id']): { score: number; R: number } {
  const s = required(data, 'synflow', id);
  return { score: sum(perWeightLayer(s.weights, s.params, s.grad, (w, g) => Math.abs(w * g))), R: s.output };
}

export const synflowMetric: MetricDef = {
  id: 'synflow',
  description: 'Σ |W ⊙ ∂R/∂W|, R = Σ logits of |θ|, BN removed, ones input, float64 (NASLib)',
  needs: ['synflow'],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    const { score, R } = synflowScore(data, 'synflow');
    return metricValue('synflow', score, { R });
  },
};

export const logSynflowMetric: MetricDef = {
  id: 'log_synflow',
  description: 'ln(synflow)',
  needs: ['synflow'],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    return metricValue('log_synflow', Math.log(synflowScore(data, 'log_synflow').score));
  },
};
