/**
 * params and macs (fixture README §3.4): trainable parameters (running
 * statistics excluded) and conv + linear multiply-accumulates for one
 * sample (NB201's "FLOPs"). Read from the network; no computation.
 */
import { metricValue } from './metricResult.js';
import type { MetricDef } from './types.js';

export const paramsMetric: MetricDef = {
  id: 'params',
  description: 'number of trainable parameters (conv, linear, BN affine; no running statistics)',
  needs: [],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    return metricValue('params', data.network.numTrainable);
  },
};

export const macsMetric: MetricDef = {
  id: 'macs',
  description: 'conv + linear multiply-accumulates for one sample',
  needs: [],
  higherIsBetter: true,
  gradientBased: false,
  compute(data) {
    return metricValue('macs', data.network.macsPerSample);
  },
};
