/**
 * ntk_cond (HNAS condnum): λ_max/λ_min of the ntk_trace Θ (decomposed
 * true-class gradients, weights + biases, train-mode BN). A singular Θ is
 * flagged, not hidden: see conditionMetric.ts.
 */
import { conditionResult } from './conditionMetric.js';
import { required } from './metricResult.js';
import type { MetricDef } from './types.js';

export const ntkCondMetric: MetricDef = {
  id: 'ntk_cond',
  description: 'λ_max/λ_min of the ntk_trace Θ (HNAS condition number; extras singular, lambda_min, lambda_max)',
  needs: ['theta_decomposed'],
  higherIsBetter: false,
  gradientBased: true,
  compute(data) {
    return conditionResult('ntk_cond', required(data, 'thetaDecomposed', 'ntk_cond'), data.batchSize);
  },
};
