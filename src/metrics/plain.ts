/** plain (zero-cost-nas): Σ W ⊙ ∂L/∂W over the conv/linear weights, signed. */
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';
import { perWeightLayer, sum, weightNormExtras } from './weightSums.js';

export const plainMetric: MetricDef = {
  id: 'plain',
  description: 'Σ W ⊙ ∂L/∂W over conv/linear weights, signed (zero-cost-nas)',
  needs: ['gradient'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    const { grad } = required(data, 'gradient', 'plain');
    const value = sum(perWeightLayer(data.weights, data.params, grad, (w, g) => w * g));
    return metricValue('plain', value, weightNormExtras(data.weights, data.params));
  },
};
