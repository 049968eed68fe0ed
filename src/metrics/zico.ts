/**
 * zico (Guo et al., ICLR 2023), from the decomposed per-sample gradients
 * g_n of the per-sample CE loss over the conv/linear weights (train-mode
 * BN; with batch statistics a decomposed row is sample n's contribution to
 * the batch gradient, what per-example hooks see). Per weight tensor l:
 *   S_l = Σ_{θ in l, std_n(g_θ) ≠ 0} mean_n|g_θ| / std_n(g_θ)   (population std)
 * score = Σ_{l: S_l > 0} ln S_l. Parameters whose gradient does not vary over
 * the batch are skipped and layers with S_l = 0 add nothing, as the
 * reference code does (it takes the statistics over batches, we over the
 * samples of one batch). Extra `layers_counted`. The probe holds the whole
 * N × P_w Jacobian for this (64 × 1.07 M weights in float64 ≈ 0.55 GB for
 * NB201 13714), so zico is the most memory-hungry metric.
 */
import { zicoScore, type ColumnBlock } from './metricMath.js';
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';

export const zicoMetric: MetricDef = {
  id: 'zico',
  description: 'Σ_layers ln Σ mean_n|g|/std_n(g) of per-sample loss gradients of the weights (ZiCo)',
  needs: ['loss_jacobian'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    const j = required(data, 'lossJacobian', 'zico');
    const blocks: ColumnBlock[] = [];
    let offset = 0;
    for (const p of data.weights) {
      blocks.push({ offset, size: p.size });
      offset += p.size;
    }
    const r = zicoScore(j, data.batchSize, offset, blocks);
    return metricValue('zico', r.value, { layers_counted: r.layersCounted });
  },
};
