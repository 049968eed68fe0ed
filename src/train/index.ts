/** Training on the native engine: optimiser, schedule, data pipeline, checkpoints, evaluation, the Trainer. */
export { LrSchedule, type LrScheduleOptions, type SchedulePer } from './schedule.js';
export { Sgd, type ParamRange, type SgdOptions, type SgdStepInfo } from './sgd.js';
export {
  BatchPlan,
  STREAM_DROP_PATH,
  epochRng,
  permutation,
  sampleRows,
  splitRows,
  type AugmentOptions,
  type BatchPlanOptions,
  type TrainBatch,
} from './data.js';
export { allRows, loadCifarData, type CifarData } from './datasets.js';
export { dartsDropPathTensors, drawDropPathFactors, dropPathProbability } from './dropPath.js';
export {
  CHECKPOINT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointArrayInfo,
  type CheckpointHeader,
} from './checkpoint.js';
export {
  CROSS_CHECK_RTOL,
  accuracyOf,
  compareLogits,
  correctCount,
  evaluateTrained,
  meanCrossEntropy,
  nativeLogits,
  ortLogits,
  specWithParams,
  specWithParamsByName,
  mainLogits,
  type EvalSet,
  type LogitComparison,
  type TrainedEvaluation,
} from './evaluate.js';
export { TRAIN_PRESETS, TRAIN_PRESET_NAMES, resolveTrainOptions, type TrainOptions, type TrainPresetName } from './options.js';
export {
  Trainer,
  dataDigest,
  paramsByName,
  specDigest,
  type EpochRecord,
  type RunOptions as TrainRunOptions,
  type TrainCheckpointMeta,
  type TrainProgress,
  type TrainResult,
  type TrainerConfig,
  type TrainingData,
} from './trainer.js';
