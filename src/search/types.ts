/**
 * The contract between a search (the baselines, the hybrid BO loop) and
 * whatever measures a candidate's quality (a benchmark table, the user's
 * training command, a library callback). A search only ever sees an
 * Evaluation; how it was obtained stays behind the Evaluator interface, as
 * NASLib keeps optimizer and evaluation apart.
 *
 * `validateEvaluation` is the one check of that contract, used by every
 * evaluator on what it got from outside and by the search on what any
 * evaluator returned, so a bad number is a typed failure at the boundary,
 * never a value fed onward.
 */
import { EvaluationError } from '../errors.js';
import type { SpaceName } from '../spaces/architecture.js';

/** An architecture to evaluate. `arch`: NB201 string or DARTS genotype text; `index`: the NB201 benchmark index, when known. */
export interface Candidate {
  space: SpaceName;
  arch: string;
  index?: number;
}

/**
 * What an evaluator measured. `accuracy`: the validation feedback the search
 * optimises, in percent (0..100); `cost`: seconds it took (real or
 * simulated); `report`: extra numbers kept with the step but never used by
 * the search (test accuracies, losses, …).
 */
export interface Evaluation {
  accuracy: number;
  cost: number;
  report?: Record<string, number>;
}

/** `step`: the search step (0-based) this evaluation belongs to; `signal`: aborts the evaluation. */
export interface EvaluationContext {
  step: number;
  signal?: AbortSignal;
}

export interface Evaluator {
  /** A short name for logs and records. */
  readonly name: string;
  evaluate(candidate: Candidate, context: EvaluationContext): Promise<Evaluation>;
}

/**
 * `value` as an Evaluation, or EvaluationError('malformed') naming `source`
 * and the field at fault. Accuracy must be a finite number in 0..100 (a value
 * in 0..1 is taken as given, i.e. as a percent below 1: it is not rescaled);
 * cost a finite number ≥ 0; report, when present, an object of finite
 * numbers. Returns a fresh object holding only those fields.
 */
export function validateEvaluation(value: unknown, source: string, context: { cost?: number } = {}): Evaluation {
  const bad = (what: string) => new EvaluationError('malformed', `${source}: ${what}`, { cost: context.cost });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`expected an object {accuracy, cost, report?}, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const { accuracy, cost, report } = record;
  if (typeof accuracy !== 'number' || !Number.isFinite(accuracy)) {
    throw bad(`accuracy must be a finite number (percent), got ${describe(accuracy)}`);
  }
  if (accuracy < 0 || accuracy > 100) throw bad(`accuracy must be a percent in 0..100, got ${accuracy}`);
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
    throw bad(`cost must be a finite number of seconds ≥ 0, got ${describe(cost)}`);
  }
  const out: Evaluation = { accuracy, cost };
  if (report !== undefined) {
    if (typeof report !== 'object' || report === null || Array.isArray(report)) {
      throw bad(`report must be an object of numbers, got ${describe(report)}`);
    }
    const numbers: Record<string, number> = {};
    for (const [key, v] of Object.entries(report)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`report.${key} must be a finite number, got ${describe(v)}`);
      numbers[key] = v;
    }
    out.report = numbers;
  }
  return out;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `a ${typeof value}`;
}
