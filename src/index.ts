/**
 * hnas — training-free and hybrid neural architecture search over a native
 * gradient engine. Library entry point.
 */
export {
  Network,
  PARAM_KIND_CODES,
  type BatchOptions,
  type BnMode,
  type DType,
  type FloatArray,
  type GradientResult,
  type HvpResult,
  type JacobianMode,
  type JacobianResult,
  type OutputName,
  type ParamInfo,
  type ParamSelection,
} from './engine/network.js';
export type * from './engine/graphSpec.js';
export { importOnnx, readOnnxFile } from './onnx/importOnnx.js';
export { buildInfo, setNumThreads, type BuildInfo } from './native/buildInfo.js';
export * from './errors.js';
export { exportOnnx, writeOnnxFile, type ExportOnnxOptions } from './onnx/exportOnnx.js';
export { OrtModel, type OrtModelOptions } from './onnx/ortSession.js';
export * from './spaces/nb201/index.js';
export * from './spaces/darts/index.js';
export {
  buildArchitecture,
  DATASETS,
  SPACES,
  type ArchitectureOptions,
  type DatasetName,
  type SpaceName,
} from './spaces/architecture.js';
export { GraphBuilder } from './spaces/graphBuilder.js';
export { initParam, INIT_SCHEMES, type InitScheme } from './spaces/init.js';
export { Rng } from './spaces/rng.js';
export * from './io/cifar.js';
export * from './io/augment.js';
export * from './io/gaussian.js';
export * from './io/defaultData.js';
export * from './metrics/index.js';
export { score, scoreMany, type ScoreOptions, type ScoreResult, type ScoreTarget } from './score/score.js';
export { loadProbeBatch, parseInputShape, readRawBatch, type BatchRequest, type DataSource } from './score/probeBatch.js';
export * from './search/index.js';
export * from './train/index.js';
export * from './stats/index.js';
export * from './plot/index.js';
export { correlateMetrics, PUBLISHED_SPEARMAN_C10, TRUTH_COLUMNS, type CorrelationReport, type MetricCorrelation } from './analysis/correlation.js';
export {
  BOUNDED_METRICS,
  CROSS_ENTROPY_BETA,
  checkBounds,
  fitAgainstTrace,
  hnasObjective,
  metricCorrelationMatrix,
  objectiveTable,
  type BoundCheck,
  type CorrelationMatrix,
  type TraceFit,
} from './analysis/unification.js';
export { readScoreFiles, metricColumn, type ScoreRecord, type ScoreTable } from './score/scoreFile.js';
