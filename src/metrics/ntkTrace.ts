/**
 * ntk_trace (HNAS): sqrt(trace Θ / N) with Θ = G Gᵀ of the decomposed
 * per-sample gradients of the true-class logits over the conv/linear
 * weights and biases, train-mode BN (fixture README §4). Extra:
 * `theta_trace` = trace Θ.
 */
import { trace } from './metricMath.js';
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';

export const ntkTraceMetric: MetricDef = {
  id: 'ntk_trace',
  description: 'sqrt(trace Θ / N), Θ of decomposed true-class gradients over weights + biases (HNAS trace norm)',
  needs: ['theta_decomposed'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    const theta = required(data, 'thetaDecomposed', 'ntk_trace');
    const t = trace(theta, data.batchSize);
    return metricValue('ntk_trace', Math.sqrt(t / data.batchSize), { theta_trace: t });
  },
};
