/**
 * fisher (zero-cost-nas): per conv/linear layer with output a and δ = ∂L/∂a,
 * s_nk = Σ_hw a_nkhw δ_nkhw, F_k = ½ mean_n s_nk², layer score
 * Σ_k F_k · (C_in·k_h·k_w); the value is the engine's total over layers.
 */
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';
import { sum } from './weightSums.js';

export const fisherMetric: MetricDef = {
  id: 'fisher',
  description: 'Σ_layers Σ_k ½·mean_n(Σ_hw a·∂L/∂a)² · fan-in over conv/linear outputs (zero-cost-nas)',
  needs: ['layer_fisher'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    const perLayer = required(data, 'layerFisher', 'fisher');
    return metricValue('fisher', data.layerFisherTotal ?? sum(perLayer));
  },
};
