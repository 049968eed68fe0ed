/**
 * Evaluation by a function of the library user's (train in-process, call a
 * service, read a cache). The function's result is checked like any
 * external input: a missing or bad field is EvaluationError('malformed');
 * what the function throws is passed on unchanged, for the search to record.
 */
import { InvalidArgumentError } from '../../errors.js';
import { validateEvaluation, type Candidate, type Evaluation, type EvaluationContext, type Evaluator } from '../types.js';

export type EvaluateFn = (candidate: Candidate, context: EvaluationContext) => Promise<Evaluation> | Evaluation;

export class CallbackEvaluator implements Evaluator {
  readonly name: string;
  readonly #fn: EvaluateFn;

  constructor(fn: EvaluateFn, options: { name?: string } = {}) {
    if (typeof fn !== 'function') throw new InvalidArgumentError('CallbackEvaluator needs a function (candidate, context) => Evaluation');
    this.#fn = fn;
    this.name = options.name ?? 'callback';
  }

  async evaluate(candidate: Candidate, context: EvaluationContext): Promise<Evaluation> {
    const result: unknown = await this.#fn(candidate, context);
    return validateEvaluation(result, `evaluator ${this.name} (step ${context.step}, ${candidate.arch})`);
  }
}
