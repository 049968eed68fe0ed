/**
 * Bayesian optimisation for HNAS's hybrid search: the Matérn-5/2 GP
 * surrogate, the acquisitions, and the optimizer over a box. One import
 * point so callers do not depend on how the modules are split.
 */
export {
  type MaternParams,
  type Point,
  matern52,
  matern52DerivFactor,
  maternCrossCovariance,
  maternKernel,
  scaledSqDist,
} from './matern.js';
export {
  DEFAULT_LENGTH_SCALE_BOUNDS,
  DEFAULT_NOISE_VARIANCE,
  DEFAULT_SIGNAL_VARIANCE_BOUNDS,
  GaussianProcess,
  type GpFit,
  type GpFitOptions,
  type GpHyperParams,
  type GpOptions,
  type GpPrediction,
  type LmlResult,
  defaultHyperParams,
  fitGaussianProcess,
  fitHyperParams,
  logMarginalLikelihood,
} from './gaussianProcess.js';
export {
  type AcquisitionKind,
  type AcquisitionSpec,
  DEFAULT_UCB_KAPPA,
  acquisitionValue,
  erfc,
  expectedImprovement,
  normalCdf,
  normalPdf,
  probabilityOfImprovement,
  upperConfidenceBound,
} from './acquisition.js';
export {
  BayesianOptimizer,
  type BayesOptOptions,
  type BayesOptState,
  type Bounds,
  type LinspaceDesignOptions,
  type Observation,
  initialDesignSize,
  linspaceDesign,
} from './bayesOpt.js';
