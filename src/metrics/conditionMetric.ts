/**
 * The condition number of a Θ as a MetricResult, shared by ntk_cond and
 * te_nas_cond: λ_max/λ_min from float64 `eigvalsh`, with extras
 * `singular`, `lambda_min`, `lambda_max`.
 *
 * Singular Θ: when λ_min ≤ √N·eps·λ_max (eps = 2.2e-16, the eigensolver's
 * float64 precision) the smallest eigenvalue is rounding noise. The ratio is
 * still returned as the value — as the fixtures record it — with
 * `extras.singular = true`, so a caller ranking architectures can discard or
 * demote it; the value then carries no information (it can even be negative
 * when λ_min rounds below zero). A ratio that is not finite (λ_min exactly 0,
 * NaN in Θ) is an `ERR_HNAS_NON_FINITE` failure instead.
 */
import { conditionNumber } from './metricMath.js';
import { metricValue } from './metricResult.js';
import type { MetricId, MetricResult } from './types.js';

export function conditionResult(id: MetricId, theta: Float64Array, n: number): MetricResult {
  const c = conditionNumber(theta, n);
  if (c.singular && !Number.isFinite(c.value)) {
    return {
      ok: false,
      error: { code: 'ERR_HNAS_NON_FINITE', message: `${id}: Θ is singular (λ_min = ${c.lambdaMin}, λ_max = ${c.lambdaMax})` },
    };
  }
  return metricValue(id, c.value, { singular: c.singular, lambda_min: c.lambdaMin, lambda_max: c.lambdaMax });
}
