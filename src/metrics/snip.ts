/** snip (zero-cost-nas): Σ |W ⊙ ∂L/∂W| over the conv/linear weights, mean CE, train-mode BN. */
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';
import { perWeightLayer, sum, weightNormExtras } from './weightSums.js';

export const snipMetric: MetricDef = {
  id: 'snip',
  description: 'Σ |W ⊙ ∂L/∂W| over conv/linear weights (zero-cost-nas)',
  needs: ['gradient'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    const { grad } = required(data, 'gradient', 'snip');
    const value = sum(perWeightLayer(data.weights, data.params, grad, (w, g) => Math.abs(w * g)));
    return metricValue('snip', value, weightNormExtras(data.weights, data.params));
  },
};
