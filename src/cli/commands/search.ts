/**
 * `hnas search`: the baselines alone — random search, training-free ranking
 * and regularized evolution — under an evaluator and budget, over seeds,
 * with the same summaries as `hnas hybrid`.
 */
import { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { SPACES } from '../../spaces/architecture.js';
import { CandidatePool } from '../../search/hybrid/pool.js';
import { BASELINES, runBaseline, type BaselineName } from '../../search/runBaselines.js';
import { aggregateRuns, summariseRun, type RunSummary } from '../../search/summary.js';
import { choiceOption, intOption } from '../options.js';
import {
  addEvaluatorOptions,
  addMetricSourceOptions,
  buildEvaluator,
  interruptSignal,
  openMetricSource,
  stepLine,
  summaryText,
  type EvaluatorOptions,
  type MetricSourceCliOptions,
  type RunOptions,
} from '../searchSetup.js';

interface SearchCliOptions extends EvaluatorOptions, MetricSourceCliOptions, RunOptions {
  method: string;
  poolSize: number;
}

export function searchCommand(): Command {
  const cmd = new Command('search')
    .description(`baseline searches (${BASELINES.join(', ')}) under an evaluator and budget`)
    .option('-s, --space <space>', `search space: ${SPACES.join(' | ')}`, choiceOption('--space', SPACES), 'nb201')
    .option('--method <list>', `comma-separated: ${BASELINES.join(', ')}`, BASELINES.join(','));
  addEvaluatorOptions(cmd);
  addMetricSourceOptions(cmd, 'metric of the training-free ranking');
  return cmd
    .option('--iters <T>', 'evaluations per run', intOption('--iters', 1), 20)
    .option('--seed <S>', 'first seed', intOption('--seed', 0), 0)
    .option('--repeat <R>', 'seeds to run', intOption('--repeat', 1), 1)
    .option('--pool-size <N>', 'DARTS: sampled genotypes to rank or draw from', intOption('--pool-size', 1), 60000)
    .option('--format <format>', 'table | json', choiceOption('--format', ['table', 'json'] as const), 'table')
    .action(async (o: SearchCliOptions) => {
      const methods = o.method.split(',').map((m) => m.trim());
      for (const m of methods) if (!(BASELINES as readonly string[]).includes(m)) throw new InvalidArgumentError(`--method takes ${BASELINES.join(', ')}, got "${m}"`);
      const evaluator = buildEvaluator(o);
      const metrics = await openMetricSource(o);
      const { signal, dispose } = interruptSignal();
      const live = process.stderr.isTTY === true;
      const runs: RunSummary[] = [];
      try {
        for (let seed = o.seed; seed < o.seed + o.repeat; seed++) {
          const pool = o.space === 'darts' ? new CandidatePool({ space: 'darts', seed, size: o.poolSize }) : undefined;
          for (const method of methods as BaselineName[]) {
            const run = await runBaseline(method, {
              space: o.space,
              seed,
              metrics,
              ...(pool ? { pool } : {}),
              evaluator,
              budget: { evaluations: o.iters },
              onEvalError: o.onEvalError,
              signal,
              onStep: live ? (s) => void console.error(stepLine(method, seed, o.iters, s)) : undefined,
            });
            runs.push(summariseRun(method, seed, run.steps, run.scoringCost));
          }
        }
      } finally {
        dispose();
        await metrics.close();
      }
      const aggregate = aggregateRuns(runs);
      console.log(o.format === 'json' ? JSON.stringify({ runs, aggregate }, null, 2) : summaryText(runs, aggregate));
    });
}
