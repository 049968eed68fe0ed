/**
 * Random search: the baseline every NAS method has to beat (Li & Talwalkar,
 * 2019). Over a pool it evaluates the pool in a seeded random order; over a
 * space it draws uniformly among the architectures not yet evaluated.
 */
import { InvalidArgumentError } from '../../errors.js';
import { checkSpace, type SpaceName } from '../../spaces/architecture.js';
import { Rng } from '../../spaces/rng.js';
import { SearchHistory, type SearchOptions, type StepRecord } from '../history.js';
import type { Candidate } from '../types.js';
import { checkDartsSampler, checkPool, checkSeed, sampleUnseen, type DartsSampler } from './sources.js';

export type RandomSearchOptions = SearchOptions & {
  seed: number;
  /** DARTS only: how genotypes are drawn (default uniform). */
  dartsSampler?: DartsSampler;
} & ({ pool: readonly Candidate[]; space?: undefined } | { space: SpaceName; pool?: undefined });

/**
 * Evaluates random candidates until the budget is spent (or the pool, or the
 * space, runs out). Repeated architectures in a pool are evaluated once.
 * Returns the history; the answer is its last record's `bestSoFar`.
 */
export async function randomSearch(options: RandomSearchOptions): Promise<StepRecord[]> {
  const rng = new Rng(checkSeed(options.seed));
  const history = new SearchHistory(options);
  const { evaluator } = options;
  if (options.pool !== undefined) {
    if (options.space !== undefined) throw new InvalidArgumentError('randomSearch takes a pool or a space, not both');
    const order = shuffled(checkPool(options.pool), rng);
    for (const candidate of order) {
      if (!history.hasBudget()) break;
      if (history.has(candidate)) continue;
      await history.evaluate(evaluator, candidate);
    }
  } else {
    const space = checkSpace(String(options.space));
    const sampler = checkDartsSampler(options.dartsSampler);
    while (history.hasBudget()) {
      history.throwIfAborted();
      const candidate = sampleUnseen(space, rng, history, sampler);
      if (candidate === null) break;
      await history.evaluate(evaluator, candidate);
    }
  }
  return history.records;
}

/** A seeded Fisher–Yates shuffle (a copy). */
function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
