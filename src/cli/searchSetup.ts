/**
 * What `hnas hybrid` and `hnas search` share: the evaluator from the
 * options, the metric source (score files, bundled table, on-demand cache),
 * Ctrl-C as an abort, per-step progress lines, and the result tables.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import type { DType } from '../engine/network.js';
import { loadProbeBatch } from '../score/probeBatch.js';
import type { SpaceName } from '../spaces/architecture.js';
import { isNb201Column } from '../spaces/nb201/benchmarkTable.js';
import { BenchmarkEvaluator } from '../search/evaluators/benchmark.js';
import { CommandEvaluator } from '../search/evaluators/command.js';
import { TrainEvaluator } from '../search/evaluators/train.js';
import type { StepRecord } from '../search/history.js';
import { NB201_BUNDLED_SETTINGS, bundledScoresPath } from '../search/hybrid/bundledScores.js';
import { MetricSource } from '../search/hybrid/metricSource.js';
import type { MeanStd, RunSummary } from '../search/summary.js';
import type { Evaluator } from '../search/types.js';
import type { ScoreSettings } from './commands/score.js';
import { DEVICES, engineDevice, type Device } from '../native/device.js';
import { DEVICE_OPTION_HELP, choiceOption, intOption } from './options.js';
import { formatTable } from './tableFormat.js';

export const EVALUATORS = ['benchmark', 'command', 'train'] as const;
export type EvaluatorName = (typeof EVALUATORS)[number];

export interface EvaluatorOptions {
  space: SpaceName;
  evaluator: EvaluatorName;
  feedback: string;
  command?: string;
  timeout?: number;
  onEvalError: 'skip' | 'stop';
  device?: Device;
  /** train evaluator: CIFAR folder (default: the bundled sample), epochs, images used. */
  data?: string;
  trainEpochs?: number;
  trainImages?: number;
}

export interface MetricSourceCliOptions {
  space: SpaceName;
  metric: string;
  scores?: string[];
  cache?: string;
  batch?: number;
  dtype: DType;
  initSeed: number;
  dataSeed: number;
  device?: Device;
}

export function addEvaluatorOptions(cmd: Command): Command {
  return cmd
    .option('-e, --evaluator <name>', `training-based evaluator: ${EVALUATORS.join(' | ')}`, choiceOption('--evaluator', EVALUATORS), 'benchmark')
    .option('--feedback <column>', 'benchmark: NB201 column fed back as validation accuracy', 'c10v_valid_12')
    .option('--command <template>', 'command evaluator: e.g. "python train.py --arch {arch} --onnx {onnx}"; last stdout line {"accuracy": …, "cost": …}')
    .option('--timeout <seconds>', 'command and train evaluators: give up on a candidate after this many seconds', intOption('--timeout', 1))
    .option('--data <dir>', 'train evaluator: CIFAR binary folder (default: the bundled 1,000-image sample), split half/half')
    .option('--train-epochs <E>', 'train evaluator: epochs per candidate (default 10)', intOption('--train-epochs', 1))
    .option('--train-images <N>', 'train evaluator: at most N images (train + validation halves)', intOption('--train-images', 2))
    .option('--device <device>', DEVICE_OPTION_HELP, choiceOption('--device', DEVICES))
    .option('--on-eval-error <policy>', 'skip (record the failure, go on) | stop', choiceOption('--on-eval-error', ['skip', 'stop'] as const), 'skip');
}

/** Where metric values come from, and how missing ones are scored (see openMetricSource). */
export function addMetricSourceOptions(cmd: Command, metricHelp: string): Command {
  return cmd
    .option('-m, --metric <id>', metricHelp, 'ntk_trace')
    .option('--scores <files...>', 'score files with the metric and ntk_cond (default on NB201: the bundled table)')
    .option('--cache <file>', 'where rows scored on demand are appended (default runs/scores-cache-<space>-b<batch>.jsonl)')
    .option('-b, --batch <N>', "batch of on-demand scoring (default: the bundled table's, 32)", intOption('--batch', 1))
    .option('--dtype <dtype>', 'float32 | float64 (on-demand scoring)', choiceOption('--dtype', ['float32', 'float64'] as const), 'float32')
    .option('--init-seed <n>', 'network initialisation seed of on-demand scoring', intOption('--init-seed', 0), 0)
    .option('--data-seed <n>', 'batch-row seed of on-demand scoring', intOption('--data-seed', 0), 0);
}

/** Seeds and budget, shared by every search command. */
export interface RunOptions {
  iters: number;
  seed: number;
  repeat: number;
  format: 'table' | 'json';
}

export function buildEvaluator(o: EvaluatorOptions): Evaluator {
  const device = engineDevice(o.device);
  if (o.evaluator === 'benchmark') {
    if (o.space !== 'nb201') throw new InvalidArgumentError('the benchmark evaluator knows NB201 only; use --evaluator command on DARTS');
    if (!isNb201Column(o.feedback)) throw new InvalidArgumentError(`--feedback must be a numeric NB201 column, got "${o.feedback}"`);
    return new BenchmarkEvaluator({ feedback: o.feedback });
  }
  if (o.evaluator === 'train') {
    return new TrainEvaluator({
      ...(o.data ? { data: o.data } : {}),
      ...(o.trainImages ? { maxTrainImages: o.trainImages } : {}),
      ...(o.trainEpochs ? { train: { epochs: o.trainEpochs } } : {}),
      ...(o.timeout ? { timeoutSeconds: o.timeout } : {}),
      device,
    });
  }
  if (!o.command) throw new InvalidArgumentError('--evaluator command needs --command "<template>"');
  return new CommandEvaluator({ command: o.command, ...(o.timeout ? { timeoutSeconds: o.timeout } : {}) });
}

/** The score files to read: the user's, else the bundled NB201 table (none for DARTS). */
export function scoreFiles(o: Pick<MetricSourceCliOptions, 'space' | 'scores'>): string[] {
  if (o.scores && o.scores.length > 0) return o.scores;
  const bundled = o.space === 'nb201' ? bundledScoresPath() : undefined;
  return bundled ? [bundled] : [];
}

/** Settings of rows computed on demand: the bundled table's on NB201 unless overridden. */
export function onDemandSettings(o: MetricSourceCliOptions): ScoreSettings {
  // DARTS pools are scored on the search proxy (C = 16, 5 cells), as DARTS and HNAS search with it.
  const base: ScoreSettings = o.space === 'nb201' ? NB201_BUNDLED_SETTINGS : { batch: 32, dtype: 'float32', dataSeed: 0, initSeed: 0, data: 'default', channels: 16, cells: 5 };
  return { ...base, ...(o.batch ? { batch: o.batch } : {}), dtype: o.dtype, initSeed: o.initSeed, dataSeed: o.dataSeed };
}

export async function openMetricSource(o: MetricSourceCliOptions): Promise<MetricSource> {
  const settings = onDemandSettings(o);
  const shape = [3, 32, 32];
  const batch = await loadProbeBatch('default', { size: settings.batch, seed: settings.dataSeed, dtype: settings.dtype, sampleShape: shape, numClasses: 10 });
  return MetricSource.open({
    metric: o.metric,
    files: scoreFiles(o),
    cacheFile: o.cache ?? join('runs', `scores-cache-${o.space}-b${settings.batch}.jsonl`),
    settings,
    batch,
    device: o.device,
  });
}

/** An AbortSignal that fires on the first Ctrl-C (a second one ends the process as usual). */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nhnas: interrupted; finishing the step in flight (Ctrl-C again to quit at once)\n');
    controller.abort(new Error('interrupted'));
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** One progress line per step, on a terminal only. */
export function stepLine(method: string, seed: number, total: number, s: StepRecord): string {
  const outcome = s.evaluation ? `acc ${s.evaluation.accuracy.toFixed(2)}` : `failed (${s.error?.code})`;
  const best = s.bestSoFar ? `best ${s.bestSoFar.accuracy.toFixed(2)}` : 'no best yet';
  return `${method} seed ${seed} step ${s.step + 1}/${total}: ${outcome}, ${best}, cost ${s.cumulativeCost.toFixed(0)} s`;
}

const fmt = (m: MeanStd | null | undefined, digits = 2) => (m ? `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}` : '-');

/** The runs one per line, then mean ± std per method when there are several seeds. */
export function summaryText(runs: readonly RunSummary[], aggregate: Record<string, Record<string, MeanStd | null>>): string {
  const columns = [...new Set(runs.flatMap((r) => Object.keys(r.report)))];
  const lines = [
    formatTable(
      ['method', 'seed', 'index', 'accuracy', ...columns, 'search_cost_s', 'failed', 'arch'],
      runs.map((r) => [r.method, r.seed, r.index, r.accuracy, ...columns.map((c) => r.report[c]), Math.round(r.searchCost), r.failedSteps, r.arch]),
      4,
    ),
  ];
  if (runs.length > new Set(runs.map((r) => r.method)).size) {
    lines.push('', 'mean ± std over seeds');
    lines.push(
      formatTable(
        ['method', 'runs', 'accuracy', ...columns, 'search_cost_s'],
        Object.entries(aggregate).map(([method, a]) => [method, a.accuracy?.n, fmt(a.accuracy), ...columns.map((c) => fmt(a[c])), fmt(a.searchCost, 0)]),
      ),
    );
  }
  return lines.join('\n');
}
