/**
 * Zero-cost ranking: score a pool with a training-free metric once, then
 * evaluate in the metric's order — the "rank, then train the top-k"
 * baseline (Abdelfattah et al., 2021) the hybrid search is compared with.
 * The scores come from outside (e.g. `hnas score` output); this module only
 * orders and evaluates.
 */
import { InvalidArgumentError } from '../../errors.js';
import { SearchHistory, type SearchOptions, type StepRecord } from '../history.js';
import type { Candidate } from '../types.js';
import { checkPool } from './sources.js';

/** A candidate with its metric value; `null` when the metric failed on it. */
export interface ScoredCandidate {
  candidate: Candidate;
  score: number | null;
}

export type ZeroCostRankingOptions = SearchOptions & {
  pool: readonly ScoredCandidate[];
  /** The metric's direction (MetricDef.higherIsBetter). */
  higherIsBetter: boolean;
};

/**
 * The pool in evaluation order: best score first; equal scores by NB201
 * index (candidates without one after those with one), then by pool
 * position; candidates whose metric failed (`score: null`) last, in pool
 * order. A NaN score is an InvalidArgumentError (a failure must be null).
 */
export function rankByScore(pool: readonly ScoredCandidate[], higherIsBetter: boolean): ScoredCandidate[] {
  checkPool(pool);
  if (typeof higherIsBetter !== 'boolean') throw new InvalidArgumentError('higherIsBetter must be a boolean');
  const entries = pool.map((entry, position) => {
    if (entry === null || typeof entry !== 'object' || typeof entry.candidate !== 'object' || entry.candidate === null) {
      throw new InvalidArgumentError(`pool entry ${position} is not { candidate, score }`);
    }
    const { score } = entry;
    if (score !== null && (typeof score !== 'number' || Number.isNaN(score))) {
      throw new InvalidArgumentError(`pool entry ${position} (${entry.candidate.arch}): score must be a number or null, got ${String(score)}`);
    }
    return { entry, position, score, index: entry.candidate.index ?? Number.POSITIVE_INFINITY };
  });
  entries.sort((a, b) => {
    if (a.score === null || b.score === null) {
      if (a.score !== b.score) return a.score === null ? 1 : -1;
      return a.position - b.position;
    }
    if (a.score !== b.score) return a.score > b.score === higherIsBetter ? -1 : 1;
    if (a.index !== b.index) return a.index < b.index ? -1 : 1;
    return a.position - b.position;
  });
  return entries.map((e) => e.entry);
}

/**
 * Evaluates the pool in `rankByScore` order until the budget is spent or the
 * pool runs out; a repeated architecture is evaluated once (at its best
 * rank). Returns the history.
 */
export async function zeroCostRanking(options: ZeroCostRankingOptions): Promise<StepRecord[]> {
  const history = new SearchHistory(options);
  for (const { candidate } of rankByScore(options.pool, options.higherIsBetter)) {
    if (!history.hasBudget()) break;
    if (history.has(candidate)) continue;
    await history.evaluate(options.evaluator, candidate);
  }
  return history.records;
}
