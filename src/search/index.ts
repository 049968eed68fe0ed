/** Searches: the hybrid HNAS loop, the baselines, evaluators, run logs and summaries. */
export * from './types.js';
export * from './history.js';
export * from './bo/index.js';
export { BenchmarkEvaluator, BENCHMARK_REPORT_COLUMNS, type BenchmarkEvaluatorOptions } from './evaluators/benchmark.js';
export { CommandEvaluator, STDERR_TAIL_BYTES, type CommandEvaluatorOptions } from './evaluators/command.js';
export { CallbackEvaluator, type EvaluateFn } from './evaluators/callback.js';
export { COMMAND_PLACEHOLDERS, splitCommandLine, type CommandPlaceholder } from './evaluators/commandLine.js';
export { randomSearch, type RandomSearchOptions } from './baselines/randomSearch.js';
export { zeroCostRanking, rankByScore, type ScoredCandidate, type ZeroCostRankingOptions } from './baselines/zeroCostRanking.js';
export { regularizedEvolution, type RegularizedEvolutionOptions } from './baselines/regularizedEvolution.js';
export { hybridSearch, type HybridOptions, type HybridResult, type HybridStep } from './hybrid/hybridSearch.js';
export { MetricSource, type CandidateMetrics, type MetricSourceOptions } from './hybrid/metricSource.js';
export { CandidatePool, type PoolOptions } from './hybrid/pool.js';
export { OBJECTIVE_DEFAULTS, hybridObjective, objectiveWeights, type ObjectiveSpaceSettings, type ObjectiveWeights } from './hybrid/objective.js';
export { NB201_BUNDLED_SETTINGS, bundledScoresPath } from './hybrid/bundledScores.js';
export { BASELINES, runBaseline, type BaselineName, type BaselineOptions, type BaselineRun } from './runBaselines.js';
export { RunLog } from './runLog.js';
export { aggregateRuns, meanStd, meanTrace, summariseRun, type MeanStd, type RunSummary } from './summary.js';
