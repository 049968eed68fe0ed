/**
 * jacob_cov (zero-cost-nas): J_i = ∂(Σ_{n,k} f_k(x_n))/∂x_i, one backward of
 * the summed logits through the train-mode batch (rows C·H·W long, the
 * cross-sample BN terms included); C = numpy corrcoef of the N rows;
 * λ = eigvalsh(C); score = −Σ_i [ln(λ_i + 1e-5) + 1/(λ_i + 1e-5)].
 * Extras lambda_min, lambda_max. A constant row (NaN correlations) or
 * λ_i + 1e-5 ≤ 0 gives a non-finite failure.
 */
import { corrcoef, symmetricEigenvalues } from './metricMath.js';
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';

const K = 1e-5;

export const jacobCovMetric: MetricDef = {
  id: 'jacob_cov',
  description: '−Σ[ln(λ+1e-5) + 1/(λ+1e-5)], λ = eigenvalues of corrcoef of the input Jacobian rows (zero-cost-nas)',
  needs: ['input_gradient'],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    const j = required(data, 'inputGradient', 'jacob_cov');
    const n = data.batchSize;
    const c = corrcoef(j, n, j.length / n);
    const lambda = symmetricEigenvalues(c, n);
    let s = 0;
    for (const l of lambda) s += Math.log(l + K) + 1 / (l + K);
    return metricValue('jacob_cov', -s, { lambda_min: lambda[0], lambda_max: lambda[n - 1] });
  },
};
