/**
 * The baselines under the hybrid search's evaluator and budget, as the paper
 * compares them: random search, training-free ranking (evaluate the pool in
 * the order of one metric — its scoring cost is charged for every cell the
 * ranking needed) and regularized evolution (NB201).
 */
import { InvalidArgumentError } from '../errors.js';
import { METRICS, isMetricId } from '../metrics/registry.js';
import type { SpaceName } from '../spaces/architecture.js';
import { NB201_NUM_CELLS, loadNb201Table } from '../spaces/nb201/index.js';
import { randomSearch } from './baselines/randomSearch.js';
import { regularizedEvolution } from './baselines/regularizedEvolution.js';
import { zeroCostRanking, type ScoredCandidate } from './baselines/zeroCostRanking.js';
import type { SearchOptions, StepRecord } from './history.js';
import type { MetricSource } from './hybrid/metricSource.js';
import type { CandidatePool } from './hybrid/pool.js';
import type { Candidate } from './types.js';

export const BASELINES = ['random', 'zero-cost', 'rea'] as const;
export type BaselineName = (typeof BASELINES)[number];

export interface BaselineRun {
  method: BaselineName;
  steps: StepRecord[];
  /** Training-free seconds charged (zero-cost ranking: scoring the whole pool). */
  scoringCost: number;
}

export interface BaselineOptions extends SearchOptions {
  space: SpaceName;
  seed: number;
  metrics: MetricSource;
  /** DARTS: the fixed pool to rank or sample from. */
  pool?: CandidatePool;
  onScoring?: (done: number, total: number) => void;
}

/** Every NB201 cell, or the DARTS pool, with its metric value. */
async function scoredPool(o: BaselineOptions): Promise<{ pool: ScoredCandidate[]; scoringCost: number }> {
  let candidates: readonly Candidate[];
  if (o.space === 'nb201') {
    const table = loadNb201Table();
    candidates = Array.from({ length: NB201_NUM_CELLS }, (_, index) => ({ space: 'nb201' as const, arch: table.archAt(index), index }));
  } else {
    if (!o.pool) throw new InvalidArgumentError('zero-cost ranking on DARTS needs a candidate pool');
    candidates = o.pool.members;
  }
  await o.metrics.compute(candidates, o.onScoring, o.signal);
  const counted = new Set<string>();
  let scoringCost = 0;
  const pool = candidates.map((candidate) => {
    const key = o.metrics.keyOf(candidate);
    const v = o.metrics.peek(candidate)!;
    if (!counted.has(key)) {
      counted.add(key);
      scoringCost += v.seconds;
    }
    return { candidate, score: v.m };
  });
  return { pool, scoringCost };
}

export async function runBaseline(method: BaselineName, o: BaselineOptions): Promise<BaselineRun> {
  const common = { evaluator: o.evaluator, budget: o.budget, onStep: o.onStep, onEvalError: o.onEvalError, signal: o.signal };
  switch (method) {
    case 'random': {
      const steps = o.space === 'darts' && o.pool
        ? await randomSearch({ ...common, seed: o.seed, pool: o.pool.members })
        : await randomSearch({ ...common, seed: o.seed, space: o.space });
      return { method, steps, scoringCost: 0 };
    }
    case 'zero-cost': {
      const metric = o.metrics.metric;
      if (!isMetricId(metric)) throw new InvalidArgumentError(`unknown metric ${metric}`);
      const { pool, scoringCost } = await scoredPool(o);
      const steps = await zeroCostRanking({ ...common, pool, higherIsBetter: METRICS[metric].higherIsBetter });
      return { method, steps, scoringCost };
    }
    case 'rea':
      return { method, steps: await regularizedEvolution({ ...common, seed: o.seed, space: o.space }), scoringCost: 0 };
  }
}
