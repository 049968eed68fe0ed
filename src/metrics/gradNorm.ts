/**
 * grad_norm and grad_norm_global: norms of the mean-CE gradient of the
 * weights (train-mode BN). grad_norm sums the per-layer Frobenius norms
 * (zero-cost-nas); grad_norm_global is the norm of the whole weight gradient.
 */
import { metricValue, required } from './metricResult.js';
import type { MetricDef, ProbeData } from './types.js';
import { perWeightLayer, sum } from './weightSums.js';

/** ‖∂L/∂W_l‖²_F per weight tensor. */
export function layerGradSquares(data: ProbeData, id: MetricDef['id']): Float64Array {
  const { grad } = required(data, 'gradient', id);
  return perWeightLayer(data.weights, data.params, grad, (_w, g) => g * g);
}

export const gradNormMetric: MetricDef = {
  id: 'grad_norm',
  description: 'Σ_layers ‖∂L/∂W_l‖_F over conv/linear weights (mean CE, train-mode BN; zero-cost-nas)',
  needs: ['gradient'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    return metricValue('grad_norm', sum(layerGradSquares(data, 'grad_norm').map(Math.sqrt)), { weight_layers: data.weights.length });
  },
};

export const gradNormGlobalMetric: MetricDef = {
  id: 'grad_norm_global',
  description: '‖∂L/∂W‖₂ over all conv/linear weights = sqrt(Σ_l ‖∂L/∂W_l‖²_F)',
  needs: ['gradient'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    return metricValue('grad_norm_global', Math.sqrt(sum(layerGradSquares(data, 'grad_norm_global'))));
  },
};
