/**
 * What every search loop shares — the baselines here and the hybrid BO loop:
 * the step records, the best-so-far answer, the budget, "never evaluate the
 * same architecture twice", and one policy for failed evaluations. Keeping
 * these in one place means every search stops, counts and reports the same
 * way, so their histories can be compared step by step.
 *
 * Semantics:
 *  - Steps are numbered from 0. Every evaluation attempt is a step, failed
 *    ones included (they used a slot of the budget and usually time).
 *  - Budget: `evaluations` caps the number of steps; `cost` caps the summed
 *    cost in seconds. Both are checked before a step, so the step that
 *    crosses the cost budget is kept (its cost was unknown beforehand). At
 *    least one of the two must be given.
 *  - Cost of a failed step: EvaluationError.cost when the evaluator knew it
 *    (the command evaluator reports the wall clock it used), else 0.
 *  - Failures: `onEvalError: 'skip'` (default) records the error on the step
 *    and goes on; `'stop'` records it, calls onStep, then throws the
 *    evaluator's error. An abort (AbortedError) is never a step: it is thrown
 *    at once, whatever the policy.
 *  - Duplicates: two candidates are the same architecture when their
 *    canonical text is equal (`candidateKey`). For NB201 that is the exact
 *    benchmark index (string and index are in one-to-one correspondence), not
 *    the isomorphism class: two isomorphic cells are different
 *    architectures with their own benchmark rows. DARTS genotypes compare by
 *    their formatted text, so pair order matters.
 *  - Best so far: the successfully evaluated candidate with the highest
 *    accuracy; on a tie the earlier one stays.
 */
import { AbortedError, EvaluationError, HnasError, InvalidArgumentError } from '../errors.js';
import { formatGenotype, parseGenotype } from '../spaces/darts/genotype.js';
import { formatNb201, parseNb201 } from '../spaces/nb201/archString.js';
import { validateEvaluation, type Candidate, type Evaluation, type EvaluationContext, type Evaluator } from './types.js';

export interface Budget {
  /** Most evaluation attempts (steps). */
  evaluations?: number;
  /** Most summed cost, in seconds. */
  cost?: number;
}

export type OnEvalError = 'skip' | 'stop';

export interface StepError {
  code: string;
  message: string;
}

export interface BestSoFar {
  candidate: Candidate;
  accuracy: number;
  report?: Record<string, number>;
}

export interface StepRecord {
  step: number;
  candidate: Candidate;
  evaluation?: Evaluation;
  error?: StepError;
  /** Cost of steps 0..step, seconds. */
  cumulativeCost: number;
  bestSoFar: BestSoFar | null;
}

/** The options every search loop takes. */
export interface SearchOptions {
  evaluator: Evaluator;
  budget: Budget;
  /** Called (and awaited) after each step is recorded; a throw ends the search. */
  onStep?: (record: StepRecord) => void | Promise<void>;
  onEvalError?: OnEvalError;
  /** Aborts the search and the evaluation in flight (AbortedError). */
  signal?: AbortSignal;
}

export type EvaluationOutcome =
  | { ok: true; evaluation: Evaluation }
  | { ok: false; error: StepError; cost: number; thrown: unknown };

/**
 * Runs one evaluation and validates its result. A failure of the evaluator
 * (any throw, or a malformed result) comes back as `{ ok: false }`; only an
 * abort is thrown (AbortedError, when `context.signal` fired).
 */
export async function runEvaluation(evaluator: Evaluator, candidate: Candidate, context: EvaluationContext): Promise<EvaluationOutcome> {
  const { signal } = context;
  throwIfAborted(signal, `evaluation of step ${context.step}`);
  try {
    const result = await evaluator.evaluate(candidate, context);
    throwIfAborted(signal, `evaluation of step ${context.step}`);
    return { ok: true, evaluation: validateEvaluation(result, `evaluator ${evaluator.name} (step ${context.step})`) };
  } catch (thrown) {
    if (thrown instanceof AbortedError) throw thrown;
    throwIfAborted(signal, `evaluation of step ${context.step}`);
    const cost = thrown instanceof EvaluationError && thrown.cost !== undefined ? thrown.cost : 0;
    return { ok: false, error: stepErrorOf(thrown), cost, thrown };
  }
}

/** `{code, message}` of anything thrown: the hnas code, else a string `code` (Node system errors), else ERR_HNAS_EVALUATION_FAILED. */
export function stepErrorOf(thrown: unknown): StepError {
  if (thrown instanceof HnasError) return { code: thrown.code, message: thrown.message };
  if (thrown instanceof Error) {
    const code = (thrown as Error & { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'ERR_HNAS_EVALUATION_FAILED', message: thrown.message };
  }
  return { code: 'ERR_HNAS_EVALUATION_FAILED', message: String(thrown) };
}

/** The canonical text that identifies an architecture (see the module comment); malformed text throws ArchitectureError. */
export function candidateKey(candidate: Candidate): string {
  switch (candidate.space) {
    case 'nb201':
      return `nb201:${formatNb201(parseNb201(candidate.arch))}`;
    case 'darts':
      return `darts:${formatGenotype(parseGenotype(candidate.arch))}`;
    default:
      throw new InvalidArgumentError(`unknown search space ${JSON.stringify((candidate as { space: unknown }).space)}`);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} aborted`, { cause: signal.reason });
}

export class SearchHistory {
  readonly budget: Readonly<Budget>;
  readonly onEvalError: OnEvalError;
  readonly #onStep: SearchOptions['onStep'];
  readonly #signal: AbortSignal | undefined;
  readonly #records: StepRecord[] = [];
  readonly #seen = new Set<string>();
  #cost = 0;
  #best: BestSoFar | null = null;

  constructor(options: Pick<SearchOptions, 'budget' | 'onStep' | 'onEvalError' | 'signal'>) {
    this.budget = Object.freeze(checkBudget(options.budget));
    const policy = options.onEvalError ?? 'skip';
    if (policy !== 'skip' && policy !== 'stop') {
      throw new InvalidArgumentError(`onEvalError must be 'skip' or 'stop', got ${JSON.stringify(policy)}`);
    }
    if (options.onStep !== undefined && typeof options.onStep !== 'function') {
      throw new InvalidArgumentError('onStep must be a function');
    }
    this.onEvalError = policy;
    this.#onStep = options.onStep;
    this.#signal = options.signal;
  }

  /** The steps so far (a copy; the records themselves are frozen). */
  get records(): StepRecord[] {
    return this.#records.slice();
  }

  /** Steps taken (evaluation attempts). */
  get steps(): number {
    return this.#records.length;
  }

  get cumulativeCost(): number {
    return this.#cost;
  }

  best(): BestSoFar | null {
    return this.#best;
  }

  /** Whether this architecture was already evaluated (or attempted). */
  has(candidate: Candidate): boolean {
    return this.#seen.has(candidateKey(candidate));
  }

  /** Whether the budget allows another step. */
  hasBudget(): boolean {
    const { evaluations, cost } = this.budget;
    return (evaluations === undefined || this.steps < evaluations) && (cost === undefined || this.#cost < cost);
  }

  /** Throws AbortedError when the search's signal fired. */
  throwIfAborted(): void {
    throwIfAborted(this.#signal, `search (after ${this.steps} steps)`);
  }

  /**
   * Evaluates `candidate` as the next step, records it, awaits onStep and
   * applies the failure policy. Calling it for an architecture already
   * evaluated, or with no budget left, is a bug in the search loop
   * (InvalidArgumentError).
   */
  async evaluate(evaluator: Evaluator, candidate: Candidate): Promise<StepRecord> {
    this.throwIfAborted();
    const key = candidateKey(candidate);
    if (this.#seen.has(key)) throw new InvalidArgumentError(`architecture already evaluated: ${candidate.arch}`);
    if (!this.hasBudget()) throw new InvalidArgumentError(`the search budget is spent (${this.steps} steps, cost ${this.#cost} s)`);
    const step = this.steps;
    const own = copyCandidate(candidate);
    this.#seen.add(key);
    const outcome = await runEvaluation(evaluator, own, { step, signal: this.#signal });
    let record: StepRecord;
    if (outcome.ok) {
      const { evaluation } = outcome;
      this.#cost += evaluation.cost;
      if (this.#best === null || evaluation.accuracy > this.#best.accuracy) {
        this.#best = Object.freeze({
          candidate: own,
          accuracy: evaluation.accuracy,
          ...(evaluation.report ? { report: evaluation.report } : {}),
        });
      }
      record = { step, candidate: own, evaluation, cumulativeCost: this.#cost, bestSoFar: this.#best };
    } else {
      this.#cost += outcome.cost;
      record = { step, candidate: own, error: outcome.error, cumulativeCost: this.#cost, bestSoFar: this.#best };
    }
    Object.freeze(record);
    this.#records.push(record);
    if (this.#onStep) await this.#onStep(record);
    if (!outcome.ok && this.onEvalError === 'stop') throw outcome.thrown;
    return record;
  }
  /**
   * Takes a step recorded by an earlier, interrupted run as the next step,
   * without evaluating: cost, best-so-far and "seen" advance exactly as
   * evaluate() advanced them then. The record must be the next step and
   * consistent with the history so far (its cumulative cost and best), which
   * is what makes a resumed run end where an uninterrupted one would.
   * onStep is not called (the step was reported when it happened).
   */
  replay(logged: StepRecord): StepRecord {
    const step = this.steps;
    if (logged.step !== step) throw new InvalidArgumentError(`replayed step ${logged.step} where step ${step} is next`);
    const key = candidateKey(logged.candidate);
    if (this.#seen.has(key)) throw new InvalidArgumentError(`replayed step ${step} repeats ${logged.candidate.arch}`);
    if (!this.hasBudget()) throw new InvalidArgumentError(`replayed step ${step} is past the budget`);
    const own = copyCandidate(logged.candidate);
    this.#seen.add(key);
    let record: StepRecord;
    if (logged.evaluation) {
      const evaluation = validateEvaluation(logged.evaluation, `replayed step ${step}`);
      this.#cost += evaluation.cost;
      if (this.#best === null || evaluation.accuracy > this.#best.accuracy) {
        this.#best = Object.freeze({ candidate: own, accuracy: evaluation.accuracy, ...(evaluation.report ? { report: evaluation.report } : {}) });
      }
      record = { step, candidate: own, evaluation, cumulativeCost: this.#cost, bestSoFar: this.#best };
    } else if (logged.error) {
      this.#cost = logged.cumulativeCost;
      record = { step, candidate: own, error: { code: logged.error.code, message: logged.error.message }, cumulativeCost: this.#cost, bestSoFar: this.#best };
    } else {
      throw new InvalidArgumentError(`replayed step ${step} has neither an evaluation nor an error`);
    }
    if (Math.abs(record.cumulativeCost - logged.cumulativeCost) > 1e-9 * Math.max(1, Math.abs(logged.cumulativeCost))) {
      throw new InvalidArgumentError(`replayed step ${step}: cumulative cost ${logged.cumulativeCost} does not follow from the steps before (${record.cumulativeCost})`);
    }
    Object.freeze(record);
    this.#records.push(record);
    return record;
  }
}

function copyCandidate(c: Candidate): Candidate {
  return Object.freeze(c.index === undefined ? { space: c.space, arch: c.arch } : { space: c.space, arch: c.arch, index: c.index });
}

function checkBudget(budget: Budget | undefined): Budget {
  if (typeof budget !== 'object' || budget === null) {
    throw new InvalidArgumentError('budget must be an object { evaluations?, cost? }');
  }
  const { evaluations, cost } = budget;
  if (evaluations === undefined && cost === undefined) {
    throw new InvalidArgumentError('budget needs evaluations, cost or both');
  }
  if (evaluations !== undefined && !(Number.isInteger(evaluations) && evaluations >= 0)) {
    throw new InvalidArgumentError(`budget.evaluations must be a non-negative integer, got ${String(evaluations)}`);
  }
  if (cost !== undefined && !(typeof cost === 'number' && cost >= 0 && !Number.isNaN(cost))) {
    throw new InvalidArgumentError(`budget.cost must be a number of seconds ≥ 0, got ${String(cost)}`);
  }
  return { ...(evaluations === undefined ? {} : { evaluations }), ...(cost === undefined ? {} : { cost }) };
}
