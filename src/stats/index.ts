/** Statistics over metric scores: rank correlations and least-squares fits. */
export {
  MIN_CORRELATION_PAIRS,
  kendall,
  pairwiseFinite,
  pearson,
  rank,
  spearman,
  type Correlation,
  type FinitePairs,
  type MaybeNumber,
  type UndefinedCorrelationReason,
} from './rankCorrelation.js';
export { linearFit, logLogFit, type LinearFit, type LogLogFit } from './linearFit.js';
