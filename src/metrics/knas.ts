/**
 * knas (KNAS, the mean gradient "MGM" as a Gram mean): (1/N²) Σ_ij g_iᵀ g_j
 * over exact per-sample CE-loss gradients g_i of the weights.
 *
 * Σ_i g_i = N·∂L/∂W for the mean loss L by linearity — even when train-mode
 * BN couples the samples — so (1/N²) Σ_ij g_iᵀ g_j = ‖(1/N) Σ_i g_i‖² =
 * ‖∂L/∂W‖² = grad_norm_global² exactly (fixture README §4). The probe's one
 * batch gradient therefore serves knas: no per-sample gradients are formed.
 */
import { layerGradSquares } from './gradNorm.js';
import { metricValue } from './metricResult.js';
import type { MetricDef } from './types.js';
import { sum } from './weightSums.js';

export const knasMetric: MetricDef = {
  id: 'knas',
  description: '(1/N²) Σ_ij g_iᵀ g_j of per-sample CE gradients of the weights (= grad_norm_global²; KNAS)',
  needs: ['gradient'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    return metricValue('knas', sum(layerGradSquares(data, 'knas')));
  },
};
