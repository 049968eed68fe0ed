/**
 * HNAS' hybrid search (Shu et al. 2022, Algorithm 1). Each step:
 *  1. Bayesian optimisation proposes (c, t), i.e. μ = 10^c, ν = (t·scale)²
 *     (the first n0 = min(⌊T/4⌋, 10) steps sweep t at a fixed c);
 *  2. training-free: A* = argmin over the pool, minus the architectures
 *     already evaluated, of μ·|M² − ν| + κ/M;
 *  3. training-based: the evaluator measures A*'s validation accuracy and
 *     cost, which BO observes at (c, t).
 * The answer is the evaluated architecture with the best validation accuracy.
 *
 * Everything is a pure function of the options and the evaluations, so a
 * resumed run replays its logged steps (no evaluator calls), checks that
 * each replayed pick is the one it would make, and continues to the same
 * result an uninterrupted run reaches. A failed evaluation is recorded on its
 * step and not observed by BO, so the next step proposes the same (c, t) and
 * takes the next-best architecture.
 */
import { InternalError, InvalidArgumentError } from '../../errors.js';
import type { SpaceName } from '../../spaces/architecture.js';
import { BayesianOptimizer, initialDesignSize, linspaceDesign, type AcquisitionSpec } from '../bo/index.js';
import { SearchHistory, candidateKey, type SearchOptions, type StepRecord } from '../history.js';
import type { Candidate } from '../types.js';
import type { MetricSource } from './metricSource.js';
import { OBJECTIVE_DEFAULTS, hybridObjective, objectiveWeights, type ObjectiveSpaceSettings } from './objective.js';
import type { CandidatePool } from './pool.js';

/** A step of the hybrid search: the history's record plus what the training-free pick saw. */
export interface HybridStep extends StepRecord {
  c: number;
  t: number;
  mu: number;
  nu: number;
  /** M, κ and the objective of the picked architecture. */
  m: number | null;
  kappa: number | null;
  objective: number;
  poolSize: number;
  /** Seconds of training-free scoring of the pool so far (each isomorphism class / genotype counted once). */
  scoringCost: number;
}

export interface HybridOptions extends Omit<SearchOptions, 'onStep'> {
  space: SpaceName;
  pool: CandidatePool;
  metrics: MetricSource;
  seed: number;
  /** T: the number of BO steps (the evaluation budget when budget.evaluations is not given). */
  iterations: number;
  objective?: Partial<ObjectiveSpaceSettings>;
  acquisition?: AcquisitionSpec;
  /** Dense random candidates for the acquisition search (default 10,000). */
  acquisitionCandidates?: number;
  /** Steps logged by an interrupted run: replayed instead of evaluated. */
  replay?: readonly HybridStep[];
  onStep?: (step: HybridStep) => void | Promise<void>;
  /** Progress of on-demand scoring of the pool. */
  onScoring?: (done: number, total: number) => void;
}

export interface HybridResult {
  steps: HybridStep[];
  best: StepRecord['bestSoFar'];
  /** Pool members scored on demand during this run. */
  scoredOnDemand: number;
}

/** The pick of one step: lowest objective among unevaluated pool members; ties keep pool order. */
function pick(pool: CandidatePool, metrics: MetricSource, history: SearchHistory, w: { mu: number; nu: number }) {
  let best: { candidate: Candidate; objective: number; m: number | null; kappa: number | null } | null = null;
  for (const candidate of pool.members) {
    if (history.has(candidate)) continue;
    const v = metrics.peek(candidate);
    if (!v) throw new InternalError(`no ${metrics.metric} for pool member ${candidate.arch}`);
    const objective = v.m === null ? Number.POSITIVE_INFINITY : hybridObjective(v.m, v.kappa, w);
    if (best === null || objective < best.objective) best = { candidate, objective, m: v.m, kappa: v.kappa };
  }
  return best;
}

export async function hybridSearch(options: HybridOptions): Promise<HybridResult> {
  const { space, pool, metrics, seed, iterations } = options;
  if (!Number.isInteger(iterations) || iterations < 1) throw new InvalidArgumentError(`iterations must be a positive integer, got ${iterations}`);
  const settings = { ...OBJECTIVE_DEFAULTS[space], ...options.objective };
  const [cLo, cHi] = settings.cRange;
  if (!(cLo < cHi)) throw new InvalidArgumentError(`the c range must have lo < hi, got [${cLo}, ${cHi}]`);
  if (!(settings.initialC >= cLo && settings.initialC <= cHi)) throw new InvalidArgumentError(`initial c ${settings.initialC} is outside [${cLo}, ${cHi}]`);
  const bounds = [[cLo, cHi], [0, 1]] as const;
  const bo = new BayesianOptimizer({
    bounds,
    seed,
    ...(options.acquisition ? { acquisition: options.acquisition } : {}),
    ...(options.acquisitionCandidates ? { candidates: options.acquisitionCandidates } : {}),
  });
  const design = linspaceDesign({ bounds, n: initialDesignSize(iterations), sweepDim: 1, fixed: { 0: settings.initialC } });
  const replay = options.replay ?? [];
  const steps: HybridStep[] = [];
  // What the training-free pick saw at the step being evaluated: the history's
  // onStep (called before a 'stop' failure is thrown) turns its record into a HybridStep.
  let current: Omit<HybridStep, keyof StepRecord> | undefined;
  const toHybrid = (record: StepRecord): HybridStep => ({ ...record, ...current! });
  const history = new SearchHistory({
    budget: { evaluations: iterations, ...options.budget },
    onEvalError: options.onEvalError,
    signal: options.signal,
    onStep: async (record) => {
      const hybridStep = toHybrid(record);
      steps.push(hybridStep);
      await options.onStep?.(hybridStep);
    },
  });
  const computedBefore = metrics.computed;
  const counted = new Set<string>();
  let scoringCost = 0;

  for (let step = 0; history.hasBudget() && step < iterations; step++) {
    history.throwIfAborted();
    const x = step < design.length ? design[step] : bo.suggest();
    const w = objectiveWeights(x[0], x[1], settings.scale);
    const added = pool.grow();
    const fresh = step === 0 ? pool.members : added;
    await metrics.compute(fresh, options.onScoring, options.signal);
    for (const c of fresh) {
      const key = metrics.keyOf(c);
      if (counted.has(key)) continue;
      counted.add(key);
      scoringCost += metrics.peek(c)!.seconds;
    }
    const choice = pick(pool, metrics, history, w);
    if (choice === null) break; // every pool member evaluated
    current = { c: w.c, t: w.t, mu: w.mu, nu: w.nu, m: choice.m, kappa: choice.kappa, objective: choice.objective, poolSize: pool.size, scoringCost };
    let record: StepRecord;
    const logged = replay[step];
    if (logged) {
      if (candidateKey(logged.candidate) !== candidateKey(choice.candidate) || logged.step !== step) {
        throw new InvalidArgumentError(
          `the run log does not match this search at step ${step}: it holds ${logged.candidate.arch}, the search picks ${choice.candidate.arch} (different settings, data or code version?)`,
        );
      }
      record = history.replay(logged);
      steps.push(toHybrid(record)); // replayed steps were reported when they happened
    } else {
      record = await history.evaluate(options.evaluator, choice.candidate); // onStep above records it
    }
    if (record.evaluation) bo.observe(x, record.evaluation.accuracy);
    if (record.error && logged && history.onEvalError === 'stop') {
      throw new InvalidArgumentError(`the run log ends with a failed step (${record.error.code}: ${record.error.message}) and --on-eval-error is stop`);
    }
  }
  return { steps, best: history.best(), scoredOnDemand: metrics.computed - computedBefore };
}
