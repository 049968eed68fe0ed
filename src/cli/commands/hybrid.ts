/**
 * `hnas hybrid`: HNAS' hybrid search (src/search/hybrid/hybridSearch.ts)
 * from the command line. Every step is appended to a run log (JSONL, one
 * fdatasync'ed line per step); `--resume` replays a killed run's steps
 * without re-evaluating and continues to the result an uninterrupted run
 * gives. `--repeat R` runs seeds S..S+R−1 (one log each) and prints mean ±
 * std; `--baselines` runs random search, training-free ranking and REA under
 * the same evaluator and budget; `--svg` draws best-so-far test accuracy
 * against search cost.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { SPACES } from '../../spaces/architecture.js';
import type { AcquisitionSpec } from '../../search/bo/index.js';
import type { StepRecord } from '../../search/history.js';
import { hybridSearch, type HybridStep } from '../../search/hybrid/hybridSearch.js';
import { OBJECTIVE_DEFAULTS } from '../../search/hybrid/objective.js';
import { CandidatePool } from '../../search/hybrid/pool.js';
import { BASELINES, runBaseline, type BaselineName } from '../../search/runBaselines.js';
import { RunLog } from '../../search/runLog.js';
import { aggregateRuns, meanTrace, summariseRun, type RunSummary } from '../../search/summary.js';
import { lineChartSvg, writeSvgAtomic } from '../../plot/index.js';
import { choiceOption, intOption } from '../options.js';
import { Progress } from '../progress.js';
import {
  addEvaluatorOptions,
  addMetricSourceOptions,
  buildEvaluator,
  interruptSignal,
  openMetricSource,
  scoreFiles,
  stepLine,
  summaryText,
  type EvaluatorOptions,
  type MetricSourceCliOptions,
  type RunOptions,
} from '../searchSetup.js';

interface HybridCliOptions extends EvaluatorOptions, MetricSourceCliOptions, RunOptions {
  poolGrowth: number;
  poolSize: number;
  acquisition: 'ei' | 'ucb' | 'pi';
  xi: number;
  kappa: number;
  cRange?: [number, number];
  scale?: number;
  initialC?: number;
  log?: string;
  resume?: boolean;
  baselines?: boolean | string;
  svg?: string;
}

function numberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

function rangeOption(value: string): [number, number] {
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p)) || !(parts[0] < parts[1])) {
    throw new InvalidArgumentError(`--c-range must be lo,hi with lo < hi, got "${value}"`);
  }
  return [parts[0], parts[1]];
}

function baselineList(value: string | boolean | undefined): BaselineName[] {
  if (!value) return [];
  if (value === true) return [...BASELINES];
  const names = value.split(',').map((v) => v.trim());
  for (const n of names) if (!(BASELINES as readonly string[]).includes(n)) throw new InvalidArgumentError(`--baselines takes ${BASELINES.join(', ')}, got "${n}"`);
  return names as BaselineName[];
}

/**
 * The log of one seed. With --log: that file (-seed<S> inserted before the
 * extension when several seeds run), continued only with --resume. Without:
 * runs/hybrid-<space>-<evaluator>-seed<S>-<hash of the settings>.jsonl, which
 * the same command finds again and continues (or replays, when finished) by
 * itself, and which other settings never share.
 */
export function logPathFor(o: Pick<HybridCliOptions, 'log' | 'space' | 'evaluator' | 'repeat'>, seed: number, config: object): { path: string; autoResume: boolean } {
  if (o.log) return { path: o.repeat <= 1 ? o.log : o.log.replace(/(\.jsonl)?$/, `-seed${seed}.jsonl`), autoResume: false };
  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 10);
  return { path: join('runs', `hybrid-${o.space}-${o.evaluator}-seed${seed}-${hash}.jsonl`), autoResume: true };
}

function acquisitionOf(o: HybridCliOptions): AcquisitionSpec {
  if (o.acquisition === 'ucb') return { kind: 'ucb', kappa: o.kappa };
  return { kind: o.acquisition, xi: o.xi };
}

export function hybridCommand(): Command {
  const cmd = new Command('hybrid')
    .description('HNAS hybrid search: BO over the theory-derived objective, training-free picks, training-based feedback')
    .option('-s, --space <space>', `search space: ${SPACES.join(' | ')}`, choiceOption('--space', SPACES), 'nb201');
  addEvaluatorOptions(cmd);
  addMetricSourceOptions(cmd, 'M in the objective (a gradient-based metric)');
  return cmd
    .option('--iters <T>', 'BO steps = evaluations', intOption('--iters', 1), 20)
    .option('--seed <S>', 'seed (with --repeat: the first of R consecutive seeds)', intOption('--seed', 0), 0)
    .option('--repeat <R>', 'run R seeds and report mean ± std', intOption('--repeat', 1), 1)
    .option('--pool-growth <K>', 'NB201: uniform draws added to the pool per step', intOption('--pool-growth', 1), 2000)
    .option('--pool-size <N>', 'DARTS: sampled genotypes in the fixed pool', intOption('--pool-size', 1), 60000)
    .option('--acquisition <name>', 'ei | ucb | pi', choiceOption('--acquisition', ['ei', 'ucb', 'pi'] as const), 'ei')
    .option('--xi <ξ>', 'EI/PI exploration ξ', numberOption('--xi'), 0)
    .option('--kappa <κ>', 'UCB κ', numberOption('--kappa'), 2.576)
    .option('--c-range <lo,hi>', 'range of c = log10 μ (NB201 -4,0; DARTS -4,1)', rangeOption)
    .option('--scale <s>', 'ν = (t·scale)² (NB201 5e3; DARTS 1e2)', numberOption('--scale'))
    .option('--initial-c <c>', 'c of the initial design (NB201 -2; DARTS mid-range)', numberOption('--initial-c'))
    .option('--log <file>', 'run log (JSONL); default runs/hybrid-<space>-<evaluator>-seed<S>-<settings hash>.jsonl, continued automatically')
    .option('--resume', 'continue the --log file(s) of an interrupted run')
    .option('--baselines [list]', `also run baselines (${BASELINES.join(',')}; all when no list) with the same evaluator and budget`)
    .option('--svg <file>', 'plot best-so-far test accuracy (c10_test_200, or the feedback) against search cost')
    .option('--format <format>', 'table | json', choiceOption('--format', ['table', 'json'] as const), 'table')
    .action(async (o: HybridCliOptions) => {
      const evaluator = buildEvaluator(o);
      const metrics = await openMetricSource(o);
      const baselines = baselineList(o.baselines);
      const { signal, dispose } = interruptSignal();
      const live = process.stderr.isTTY === true;
      const runs: RunSummary[] = [];
      const traces = new Map<string, { steps: StepRecord[]; scoringCosts?: number[] }[]>();
      const scoringProgress = (what: string) => {
        let progress: Progress | undefined;
        return (done: number, total: number) => {
          if (!progress) {
            console.error(`hnas: scoring ${total} ${what} missing from the score files`);
            progress = new Progress({ total, skipped: 0 });
          }
          progress.tick();
          if (done === total) {
            progress.finish();
            progress = undefined;
          }
        };
      };
      try {
        const objective = {
          ...OBJECTIVE_DEFAULTS[o.space],
          ...(o.cRange ? { cRange: o.cRange } : {}),
          ...(o.scale !== undefined ? { scale: o.scale } : {}),
          ...(o.initialC !== undefined ? { initialC: o.initialC } : {}),
        };
        if (o.initialC === undefined && o.cRange && o.space === 'darts') objective.initialC = (o.cRange[0] + o.cRange[1]) / 2;
        for (let seed = o.seed; seed < o.seed + o.repeat; seed++) {
          const config = {
            space: o.space,
            evaluator: evaluator.name,
            command: o.command ?? null,
            train: o.evaluator === 'train' ? { data: o.data ?? 'default', epochs: o.trainEpochs ?? null, images: o.trainImages ?? null } : null,
            iterations: o.iters,
            seed,
            metric: o.metric,
            scores: scoreFiles(o).map((f) => f.split('/').pop()),
            poolGrowth: o.space === 'nb201' ? o.poolGrowth : null,
            poolSize: o.space === 'darts' ? o.poolSize : null,
            objective,
            acquisition: acquisitionOf(o),
            onEvalError: o.onEvalError,
          };
          const where = logPathFor(o, seed, config);
          const log = await RunLog.open<HybridStep>(where.path, 'hybrid', config, { resume: o.resume === true || where.autoResume });
          try {
            if (log.steps.length > 0) console.error(`hnas: resuming ${log.path}: replaying ${log.steps.length} logged steps`);
            const pool = new CandidatePool({ space: o.space, seed, growth: o.poolGrowth, size: o.poolSize });
            const result = await hybridSearch({
              space: o.space,
              pool,
              metrics,
              seed,
              iterations: o.iters,
              evaluator,
              budget: { evaluations: o.iters },
              onEvalError: o.onEvalError,
              signal,
              objective,
              acquisition: acquisitionOf(o),
              replay: log.steps,
              onScoring: scoringProgress('pool members'),
              onStep: async (step) => {
                await log.appendStep(step.step, step);
                if (live) console.error(stepLine('hnas', seed, o.iters, step));
              },
            });
            const scoringCost = result.steps.at(-1)?.scoringCost ?? 0;
            const summary = summariseRun('hnas', seed, result.steps, scoringCost);
            await log.appendResult({ ...summary });
            runs.push(summary);
            traces.set('hnas', [...(traces.get('hnas') ?? []), { steps: result.steps, scoringCosts: result.steps.map((s) => s.scoringCost) }]);
          } finally {
            await log.close();
          }
          for (const method of baselines) {
            const run = await runBaseline(method, {
              space: o.space,
              seed,
              metrics,
              evaluator,
              budget: { evaluations: o.iters },
              onEvalError: o.onEvalError,
              signal,
              onScoring: scoringProgress(`cells for ${method}`),
              onStep: live ? (s) => void console.error(stepLine(method, seed, o.iters, s)) : undefined,
            });
            runs.push(summariseRun(method, seed, run.steps, run.scoringCost));
            traces.set(method, [...(traces.get(method) ?? []), { steps: run.steps, scoringCosts: run.steps.map(() => run.scoringCost) }]);
          }
        }
      } finally {
        dispose();
        await metrics.close();
      }
      const aggregate = aggregateRuns(runs);
      if (o.format === 'json') console.log(JSON.stringify({ runs, aggregate }, null, 2));
      else console.log(summaryText(runs, aggregate));
      if (o.svg) {
        const column = runs.some((r) => 'c10_test_200' in r.report) ? 'c10_test_200' : 'accuracy';
        const series = [...traces.entries()].map(([name, t]) => ({ name, points: meanTrace(t, column) })).filter((s) => s.points.length > 0);
        const svg = await lineChartSvg({
          series,
          title: `Best-so-far ${column} against search cost (mean over ${o.repeat} seed${o.repeat > 1 ? 's' : ''})`,
          xTitle: 'search cost (s)',
          yTitle: column,
          step: true,
          showPoints: true,
        });
        await writeSvgAtomic(o.svg, svg);
        console.error(`wrote ${o.svg}`);
      }
    });
}
