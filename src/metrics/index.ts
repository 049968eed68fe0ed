/** Training-free metrics: the registry, the probe that feeds them, and the math they share. */
export type { MetricDef, MetricError, MetricId, MetricResult, ProbeData, ProbeNeed } from './types.js';
export { METRICS, METRIC_GROUPS, METRIC_IDS, getMetric, isMetricId, parseMetricList } from './registry.js';
export {
  NEED_ORDER,
  probe,
  teNasParams,
  type ProbeBatch,
  type ProbeOptions,
  type ProbeOutcome,
  type ProbeTimings,
  type SynflowSource,
} from './probe.js';
export {
  FLOAT64_EPS,
  conditionNumber,
  corrcoef,
  isSingular,
  slogdet,
  symmetricEigenvalues,
  trace,
  zicoScore,
  type ColumnBlock,
  type ConditionNumber,
  type Slogdet,
  type ZicoScore,
} from './metricMath.js';
