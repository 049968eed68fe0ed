/**
 * Regularized evolution (REA; Real et al., "Regularized Evolution for Image
 * Classifier Architecture Search", AAAI 2019), the strongest simple
 * baseline on NAS-Bench-201.
 *
 * Algorithm 1 of the paper: evaluate P random architectures as the
 * population; then, each cycle, draw S members uniformly with replacement,
 * mutate the most accurate of them, evaluate the child, add it and remove
 * the OLDEST member (the "regularization": age, not fitness, decides who
 * leaves).
 *
 * Differences forced by the shared search rules (history.ts): an
 * architecture is never evaluated twice, so a child that was already
 * evaluated is re-drawn by mutating the same parent again (up to
 * MUTATION_RETRIES times; NB201 has 24 one-edge neighbours), and if every
 * try repeats, a random unseen architecture is evaluated instead. A failed
 * evaluation uses a step but adds nothing to the population; while the
 * population is short of P (at the start, or after failures at the start)
 * the next candidate is random.
 *
 * Only NB201 is supported: mutation is `mutateNb201`; the DARTS space has no
 * mutation operator in src/spaces/darts (UnsupportedError).
 */
import { InvalidArgumentError, UnsupportedError } from '../../errors.js';
import { checkSpace, type SpaceName } from '../../spaces/architecture.js';
import { mutateNb201 } from '../../spaces/nb201/sampling.js';
import { Rng } from '../../spaces/rng.js';
import { SearchHistory, type SearchOptions, type StepRecord } from '../history.js';
import type { Candidate } from '../types.js';
import { checkSeed, nb201CandidateOfCell, sampleUnseen } from './sources.js';

/** Mutations of one parent tried before falling back to a random unseen architecture. */
export const MUTATION_RETRIES = 100;

export type RegularizedEvolutionOptions = SearchOptions & {
  seed: number;
  space: SpaceName;
  /** P, the population size. Default 10. */
  populationSize?: number;
  /** S, members drawn per cycle (with replacement), 1..P. Default 3. */
  sampleSize?: number;
};

interface Member {
  candidate: Candidate;
  accuracy: number;
}

export async function regularizedEvolution(options: RegularizedEvolutionOptions): Promise<StepRecord[]> {
  const space = checkSpace(String(options.space));
  if (space !== 'nb201') {
    throw new UnsupportedError(`regularizedEvolution supports the nb201 space only: there is no ${space} mutation operator`);
  }
  const populationSize = options.populationSize ?? 10;
  const sampleSize = options.sampleSize ?? 3;
  if (!(Number.isInteger(populationSize) && populationSize >= 1)) {
    throw new InvalidArgumentError(`populationSize must be a positive integer, got ${String(options.populationSize)}`);
  }
  if (!(Number.isInteger(sampleSize) && sampleSize >= 1 && sampleSize <= populationSize)) {
    throw new InvalidArgumentError(`sampleSize must be an integer in 1..populationSize (${populationSize}), got ${String(options.sampleSize)}`);
  }
  const rng = new Rng(checkSeed(options.seed));
  const history = new SearchHistory(options);
  const population: Member[] = [];

  while (history.hasBudget()) {
    history.throwIfAborted();
    let candidate: Candidate | null;
    if (population.length < populationSize) {
      candidate = sampleUnseen(space, rng, history);
    } else {
      let parent = population[rng.int(population.length)];
      for (let k = 1; k < sampleSize; k++) {
        const member = population[rng.int(population.length)];
        if (member.accuracy > parent.accuracy) parent = member;
      }
      candidate = mutateUnseen(parent.candidate, rng, history) ?? sampleUnseen(space, rng, history);
    }
    if (candidate === null) break;
    const record = await history.evaluate(options.evaluator, candidate);
    if (record.evaluation) {
      population.push({ candidate: record.candidate, accuracy: record.evaluation.accuracy });
      if (population.length > populationSize) population.shift();
    }
  }
  return history.records;
}

function mutateUnseen(parent: Candidate, rng: Rng, history: SearchHistory): Candidate | null {
  for (let k = 0; k < MUTATION_RETRIES; k++) {
    const child = nb201CandidateOfCell(mutateNb201(parent.arch, rng));
    if (!history.has(child)) return child;
  }
  return null;
}
