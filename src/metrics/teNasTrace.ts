/** te_nas_trace: trace Θ_exact, the Θ of te_nas_cond (exact per-sample gradients of Σ logits, "*weight*" params). */
import { trace } from './metricMath.js';
import { metricValue, required } from './metricResult.js';
import type { MetricDef } from './types.js';

export const teNasTraceMetric: MetricDef = {
  id: 'te_nas_trace',
  description: 'trace of the te_nas_cond Θ (exact per-sample gradients of Σ logits over "*weight*" params)',
  needs: ['theta_exact'],
  higherIsBetter: true,
  gradientBased: true,
  compute(data) {
    return metricValue('te_nas_trace', trace(required(data, 'thetaExact', 'te_nas_trace'), data.batchSize));
  },
};
