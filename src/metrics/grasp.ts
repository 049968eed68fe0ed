/**
 * grasp (zero-cost-nas, T = 1): Σ −W ⊙ (H g) over the conv/linear weights,
 * g = ∂L/∂W, H the Hessian of the mean CE w.r.t. the weights. H·g is an
 * exact Hessian-vector product (the engine's forward-over-reverse pass,
 * ReLU'' = 0) — finite differences of a ReLU network's gradient do not
 * converge to it (fixture README §4).
 */
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';

export const graspMetric: MetricDef = {
  id: 'grasp',
  description: 'Σ −W ⊙ (H g), g = ∂L/∂W over conv/linear weights, exact H·g (zero-cost-nas)',
  needs: ['gradient', 'hvp'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    const hg = required(data, 'hvp', 'grasp');
    let s = 0;
    let k = 0;
    for (const p of data.weights) {
      for (let i = p.offset; i < p.offset + p.size; i++) s -= data.params[i] * hg[k++];
    }
    return metricValue('grasp', s);
  },
};
