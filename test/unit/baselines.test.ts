/**
 * The baseline searches and the history they share: budgets, no repeated
 * architecture, determinism per seed, the best-so-far answer, the failure
 * policy, and REA beating random search on the NB201 benchmark.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError, EvaluationError, InvalidArgumentError, UnsupportedError } from '../../src/errors.js';
import { randomSearch } from '../../src/search/baselines/randomSearch.js';
import { regularizedEvolution } from '../../src/search/baselines/regularizedEvolution.js';
import { rankByScore, zeroCostRanking, type ScoredCandidate } from '../../src/search/baselines/zeroCostRanking.js';
import { BenchmarkEvaluator } from '../../src/search/evaluators/benchmark.js';
import { CallbackEvaluator } from '../../src/search/evaluators/callback.js';
import { SearchHistory, candidateKey, type StepRecord } from '../../src/search/history.js';
import type { Candidate, Evaluation } from '../../src/search/types.js';
import { loadNb201Table } from '../../src/spaces/nb201/benchmarkTable.js';

const benchmark = new BenchmarkEvaluator();
const table = loadNb201Table();
const nb201 = (index: number): Candidate => ({ space: 'nb201', arch: table.archAt(index), index });

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function finalAccuracy(history: readonly StepRecord[]): number {
  const best = history[history.length - 1].bestSoFar;
  if (best === null) throw new Error('no successful evaluation');
  return best.accuracy;
}

/** Checks the invariants every history has, whatever produced it. */
function expectWellFormed(history: readonly StepRecord[]): void {
  const keys = history.map((r) => candidateKey(r.candidate));
  expect(new Set(keys).size).toBe(keys.length);
  let cost = 0;
  let best: number | null = null;
  history.forEach((r, step) => {
    expect(r.step).toBe(step);
    expect((r.evaluation === undefined) !== (r.error === undefined)).toBe(true);
    if (r.evaluation) {
      cost += r.evaluation.cost;
      if (best === null || r.evaluation.accuracy > best) best = r.evaluation.accuracy;
    }
    expect(r.cumulativeCost).toBeCloseTo(cost, 6);
    expect(r.bestSoFar?.accuracy ?? null).toBe(best);
    if (step > 0) expect(r.bestSoFar?.accuracy ?? -1).toBeGreaterThanOrEqual(history[step - 1].bestSoFar?.accuracy ?? -1);
  });
}

const searches = {
  random: (seed: number, evaluations: number) => randomSearch({ evaluator: benchmark, budget: { evaluations }, seed, space: 'nb201' }),
  rea: (seed: number, evaluations: number) => regularizedEvolution({ evaluator: benchmark, budget: { evaluations }, seed, space: 'nb201' }),
};

describe.each(Object.entries(searches))('%s search on NB201', (_, search) => {
  it('takes exactly the evaluation budget, never repeats, tracks the best', async () => {
    const history = await search(1, 150);
    expect(history).toHaveLength(150);
    expectWellFormed(history);
    const best = history[history.length - 1].bestSoFar;
    expect(best?.accuracy).toBe(Math.max(...history.map((r) => r.evaluation?.accuracy ?? -1)));
    expect(best?.report?.c10_test_200).toBe(table.row(best?.candidate.index ?? -1).c10_test_200);
    for (const r of history) expect(table.archAt(r.candidate.index ?? -1)).toBe(r.candidate.arch);
  });

  it('is deterministic per seed', async () => {
    const archs = (h: StepRecord[]) => h.map((r) => r.candidate.index);
    expect(archs(await search(7, 40))).toEqual(archs(await search(7, 40)));
    expect(archs(await search(7, 40))).not.toEqual(archs(await search(8, 40)));
  });
});

describe('budgets', () => {
  it('stops once the cost budget is reached, keeping the step that crossed it', async () => {
    const history = await randomSearch({ evaluator: benchmark, budget: { cost: 3000 }, seed: 3, space: 'nb201' });
    expectWellFormed(history);
    const last = history[history.length - 1];
    expect(last.cumulativeCost).toBeGreaterThanOrEqual(3000);
    for (const r of history.slice(0, -1)) expect(r.cumulativeCost).toBeLessThan(3000);
  });

  it('stops at whichever limit comes first', async () => {
    const h1 = await regularizedEvolution({ evaluator: benchmark, budget: { evaluations: 5, cost: 1e9 }, seed: 0, space: 'nb201' });
    expect(h1).toHaveLength(5);
    const h2 = await regularizedEvolution({ evaluator: benchmark, budget: { evaluations: 1000, cost: 1500 }, seed: 0, space: 'nb201' });
    expect(h2.length).toBeLessThan(1000);
    expect(h2[h2.length - 1].cumulativeCost).toBeGreaterThanOrEqual(1500);
    expect(await randomSearch({ evaluator: benchmark, budget: { evaluations: 0 }, seed: 0, space: 'nb201' })).toEqual([]);
  });

  it('needs a budget', async () => {
    await expect(randomSearch({ evaluator: benchmark, budget: {}, seed: 0, space: 'nb201' })).rejects.toThrow(InvalidArgumentError);
    await expect(randomSearch({ evaluator: benchmark, budget: { evaluations: 1.5 }, seed: 0, space: 'nb201' })).rejects.toThrow(
      /evaluations/,
    );
    await expect(randomSearch({ evaluator: benchmark, budget: { cost: Number.NaN }, seed: 0, space: 'nb201' })).rejects.toThrow(/cost/);
  });
});

describe('randomSearch over a pool', () => {
  const pool = [5, 17, 5, 300, 15624, 42, 17].map(nb201);

  it('evaluates each distinct pool member once, in a seeded order, until the pool runs out', async () => {
    const history = await randomSearch({ evaluator: benchmark, budget: { evaluations: 100 }, seed: 11, pool });
    expectWellFormed(history);
    expect(history.map((r) => r.candidate.index).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([5, 17, 42, 300, 15624]);
    const again = await randomSearch({ evaluator: benchmark, budget: { evaluations: 100 }, seed: 11, pool });
    expect(again.map((r) => r.candidate.index)).toEqual(history.map((r) => r.candidate.index));
    const short = await randomSearch({ evaluator: benchmark, budget: { evaluations: 2 }, seed: 11, pool });
    expect(short).toHaveLength(2);
  });

  it('rejects a pool and a space together', async () => {
    const options = { evaluator: benchmark, budget: { evaluations: 1 }, seed: 0, pool, space: 'nb201' } as unknown as Parameters<
      typeof randomSearch
    >[0];
    await expect(randomSearch(options)).rejects.toThrow(/not both/);
  });
});

describe('randomSearch over DARTS', () => {
  it('draws distinct valid genotypes with either sampler', async () => {
    for (const dartsSampler of ['uniform', 'hnas'] as const) {
      const evaluator = new CallbackEvaluator((c) => ({ accuracy: c.arch.length % 100, cost: 1 }));
      const history = await randomSearch({ evaluator, budget: { evaluations: 6 }, seed: 2, space: 'darts', dartsSampler });
      expect(history).toHaveLength(6);
      expectWellFormed(history);
      for (const r of history) expect(r.candidate.arch.startsWith('Genotype(normal=[')).toBe(true);
    }
  });
});

describe('zeroCostRanking', () => {
  const scored = (index: number, score: number | null): ScoredCandidate => ({ candidate: nb201(index), score });
  const pool = [scored(10, 1), scored(20, 3), scored(30, null), scored(40, 3), scored(5, 3), scored(60, -2), scored(70, null), scored(20, 0)];

  it('orders by score in the given direction, ties by index, failed metrics last', () => {
    const order = (higher: boolean) => rankByScore(pool, higher).map((e) => e.candidate.index);
    expect(order(true)).toEqual([5, 20, 40, 10, 20, 60, 30, 70]);
    expect(order(false)).toEqual([60, 20, 10, 5, 20, 40, 30, 70]);
    expect(() => rankByScore([scored(1, Number.NaN)], true)).toThrow(InvalidArgumentError);
  });

  it('evaluates in rank order, each architecture once, within the budget', async () => {
    const history = await zeroCostRanking({ evaluator: benchmark, budget: { evaluations: 6 }, pool, higherIsBetter: false });
    expectWellFormed(history);
    expect(history.map((r) => r.candidate.index)).toEqual([60, 20, 10, 5, 40, 30]);
    const all = await zeroCostRanking({ evaluator: benchmark, budget: { evaluations: 100 }, pool, higherIsBetter: true });
    expect(all.map((r) => r.candidate.index)).toEqual([5, 20, 40, 10, 60, 30, 70]);
  });

  it('finds the top architecture first when the score is the accuracy itself', async () => {
    const indices = Array.from({ length: 200 }, (_, i) => i * 50);
    const oracle = indices.map((i) => scored(i, table.row(i).c10v_valid_12));
    const history = await zeroCostRanking({ evaluator: benchmark, budget: { evaluations: 3 }, pool: oracle, higherIsBetter: true });
    expect(history[0].evaluation?.accuracy).toBe(Math.max(...oracle.map((e) => e.score ?? -1)));
    expect(history[0].bestSoFar).toBe(history[2].bestSoFar);
  });
});

describe('regularizedEvolution', () => {
  it('beats random search at 100 evaluations (20 seeds)', async () => {
    const seeds = Array.from({ length: 20 }, (_, s) => s);
    const rea: number[] = [];
    const random: number[] = [];
    for (const seed of seeds) {
      rea.push(finalAccuracy(await searches.rea(seed, 100)));
      random.push(finalAccuracy(await searches.random(seed, 100)));
    }
    // Measured over 400 seeds: REA 84.23 vs random 83.73 mean best c10v_valid_12; REA won
    // every one of the 20 disjoint 20-seed blocks on both the mean and the median.
    expect(mean(rea)).toBeGreaterThan(mean(random));
    expect(median(rea)).toBeGreaterThan(median(random));
  });

  it('supports NB201 only and checks P and S', async () => {
    const base = { evaluator: benchmark, budget: { evaluations: 5 }, seed: 0 };
    await expect(regularizedEvolution({ ...base, space: 'darts' })).rejects.toThrow(UnsupportedError);
    await expect(regularizedEvolution({ ...base, space: 'nb201', populationSize: 0 })).rejects.toThrow(/populationSize/);
    await expect(regularizedEvolution({ ...base, space: 'nb201', populationSize: 4, sampleSize: 5 })).rejects.toThrow(/sampleSize/);
  });

  it('evolves from the population: later children are one edge away from an earlier step', async () => {
    const history = await regularizedEvolution({
      evaluator: benchmark,
      budget: { evaluations: 60 },
      seed: 5,
      space: 'nb201',
      populationSize: 8,
      sampleSize: 3,
    });
    const cells = history.map((r) => table.cellAt(r.candidate.index ?? -1));
    const oneEdge = (a: readonly string[], b: readonly string[]) => a.filter((op, e) => op !== b[e]).length === 1;
    const children = cells.slice(8).filter((c, k) => cells.slice(0, 8 + k).some((p) => oneEdge(c, p)));
    expect(children.length).toBeGreaterThanOrEqual(50);
  });
});

describe('evaluation failures', () => {
  /** Fails at steps 2 and 5 (a throw, then a malformed result with a known cost); accuracy = 50 + step otherwise. */
  const flaky = () =>
    new CallbackEvaluator((_, { step }): Evaluation => {
      if (step === 2) throw new RangeError('CUDA out of memory');
      if (step === 5) throw new EvaluationError('malformed', 'bad line', { cost: 7 });
      return { accuracy: 50 + step, cost: 1 };
    });

  it("'skip' records the error on its step and goes on", async () => {
    const seen: StepRecord[] = [];
    const history = await randomSearch({
      evaluator: flaky(),
      budget: { evaluations: 8 },
      seed: 0,
      space: 'nb201',
      onStep: async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(r);
      },
    });
    expect(history).toHaveLength(8);
    expect(seen).toEqual(history);
    expectWellFormedWithFailures(history);
    expect(history[2].error).toEqual({ code: 'ERR_HNAS_EVALUATION_FAILED', message: 'CUDA out of memory' });
    expect(history[5].error?.message).toBe('bad line');
    expect(history[5].cumulativeCost).toBe(4 + 7);
    expect(history[7].bestSoFar?.accuracy).toBe(57);
    expect(history[2].bestSoFar?.accuracy).toBe(51);
  });

  it("'stop' records the failed step, reports it, then throws the evaluator's error", async () => {
    const seen: StepRecord[] = [];
    const run = regularizedEvolution({
      evaluator: flaky(),
      budget: { evaluations: 8 },
      seed: 0,
      space: 'nb201',
      onEvalError: 'stop',
      onStep: (r) => {
        seen.push(r);
      },
    });
    await expect(run).rejects.toThrow(RangeError);
    expect(seen).toHaveLength(3);
    expect(seen[2].error?.message).toBe('CUDA out of memory');
  });

  it('keeps REA going when evaluations fail (failed children join no population)', async () => {
    const evaluator = new CallbackEvaluator((c, { step }) => {
      if (step % 3 === 0) throw new Error('flaky');
      return benchmark.evaluate(c, { step });
    });
    const history = await regularizedEvolution({ evaluator, budget: { evaluations: 60 }, seed: 1, space: 'nb201' });
    expect(history).toHaveLength(60);
    expect(history.filter((r) => r.error).length).toBe(20);
    expectWellFormedWithFailures(history);
  });

  it('an abort ends the search with AbortedError and records no step for it', async () => {
    const controller = new AbortController();
    const evaluator = new CallbackEvaluator(async (c, { step }) => {
      if (step === 3) controller.abort();
      return benchmark.evaluate(c, { step });
    });
    const seen: StepRecord[] = [];
    const run = randomSearch({
      evaluator,
      budget: { evaluations: 10 },
      seed: 0,
      space: 'nb201',
      signal: controller.signal,
      onStep: (r) => {
        seen.push(r);
      },
    });
    await expect(run).rejects.toThrow(AbortedError);
    expect(seen).toHaveLength(3);
  });

  it('rejects an unknown policy', () => {
    expect(() => new SearchHistory({ budget: { evaluations: 1 }, onEvalError: 'retry' as 'skip' })).toThrow(InvalidArgumentError);
  });
});

describe('SearchHistory', () => {
  it('refuses a repeated architecture and a spent budget', async () => {
    const history = new SearchHistory({ budget: { evaluations: 2 } });
    await history.evaluate(benchmark, nb201(3));
    // The same architecture without its index is still the same architecture.
    await expect(history.evaluate(benchmark, { space: 'nb201', arch: table.archAt(3) })).rejects.toThrow(/already evaluated/);
    await history.evaluate(benchmark, nb201(4));
    expect(history.hasBudget()).toBe(false);
    await expect(history.evaluate(benchmark, nb201(5))).rejects.toThrow(/budget/);
    expect(history.steps).toBe(2);
    expect(history.best()?.accuracy).toBe(Math.max(table.row(3).c10v_valid_12, table.row(4).c10v_valid_12));
    expect(Object.isFrozen(history.records[0])).toBe(true);
  });
});

/** expectWellFormed, with failed steps adding their EvaluationError cost. */
function expectWellFormedWithFailures(history: readonly StepRecord[]): void {
  const keys = history.map((r) => candidateKey(r.candidate));
  expect(new Set(keys).size).toBe(keys.length);
  let best: number | null = null;
  for (const r of history) {
    if (r.evaluation && (best === null || r.evaluation.accuracy > best)) best = r.evaluation.accuracy;
    expect(r.bestSoFar?.accuracy ?? null).toBe(best);
  }
  for (let s = 1; s < history.length; s++) expect(history[s].cumulativeCost).toBeGreaterThanOrEqual(history[s - 1].cumulativeCost);
}
