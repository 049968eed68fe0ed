/**
 * te_nas_cond (TE-NAS get_ntk_n): λ_max/λ_min of Θ_exact, the Gram matrix of
 * EXACT per-sample gradients of Σ_k f_k(x_i) through the one train-mode batch
 * forward, over every trainable parameter whose name contains "weight" (conv
 * weights, BN γ, classifier weight). A singular Θ is flagged: see
 * conditionMetric.ts. Exact per-sample gradients cost one backward per
 * sample, so this is the slowest metric by far.
 */
import { conditionResult } from './conditionMetric.js';
import { required } from './metricResult.js';
import type { MetricDef } from './types.js';

export const teNasCondMetric: MetricDef = {
  id: 'te_nas_cond',
  description: 'λ_max/λ_min of Θ from exact per-sample gradients of Σ logits over "*weight*" params (TE-NAS)',
  needs: ['theta_exact'],
  higherIsBetter: false,
  gradientBased: true,
  compute(data) {
    return conditionResult('te_nas_cond', required(data, 'thetaExact', 'te_nas_cond'), data.batchSize);
  },
};
