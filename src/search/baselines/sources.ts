/**
 * Where the baselines get candidates from: uniform draws from a search
 * space that skip what the search already evaluated, and the NB201
 * candidate of a benchmark index or cell. Shared so that random search and
 * REA sample the space the same way.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { SpaceName } from '../../spaces/architecture.js';
import { formatGenotype } from '../../spaces/darts/genotype.js';
import { sampleGenotypeHnas, sampleGenotypeUniform } from '../../spaces/darts/sampling.js';
import { NB201_NUM_CELLS, type Nb201Cell } from '../../spaces/nb201/archString.js';
import { loadNb201Table } from '../../spaces/nb201/benchmarkTable.js';
import type { Rng } from '../../spaces/rng.js';
import type { SearchHistory } from '../history.js';
import type { Candidate } from '../types.js';

/**
 * How DARTS genotypes are drawn: `uniform` (every node picks two distinct
 * inputs and an op for each uniformly, as NAS-Bench-301 / NASLib do) or
 * `hnas` (DARTS' derivation from random α, the HNAS sampler).
 */
export type DartsSampler = 'uniform' | 'hnas';

/** Draws before falling back from rejection to a scan (NB201) or giving up (DARTS). */
const MAX_DRAWS = 1000;

/** The NB201 candidate of a benchmark index. */
export function nb201Candidate(index: number): Candidate {
  return { space: 'nb201', arch: loadNb201Table().archAt(index), index };
}

/** The NB201 candidate of a cell, with its benchmark index. */
export function nb201CandidateOfCell(cell: Nb201Cell): Candidate {
  const table = loadNb201Table();
  const index = table.indexOf(cell);
  return { space: 'nb201', arch: table.archAt(index), index };
}

/**
 * A uniformly drawn architecture the history has not seen, or null when
 * there is none left. NB201: uniform over the unseen indices (rejection
 * sampling, then a scan from a random start once rejections pile up, which
 * only happens near the end of the space). DARTS: `MAX_DRAWS` rejections,
 * then null (the space has about 10^18 cells, so that means a bug or a
 * sampler stuck on few genotypes).
 */
export function sampleUnseen(space: SpaceName, rng: Rng, history: SearchHistory, sampler: DartsSampler = 'uniform'): Candidate | null {
  switch (space) {
    case 'nb201': {
      for (let draw = 0; draw < MAX_DRAWS; draw++) {
        const candidate = nb201Candidate(rng.int(NB201_NUM_CELLS));
        if (!history.has(candidate)) return candidate;
      }
      const start = rng.int(NB201_NUM_CELLS);
      for (let k = 0; k < NB201_NUM_CELLS; k++) {
        const candidate = nb201Candidate((start + k) % NB201_NUM_CELLS);
        if (!history.has(candidate)) return candidate;
      }
      return null;
    }
    case 'darts': {
      const draw = sampler === 'hnas' ? sampleGenotypeHnas : sampleGenotypeUniform;
      for (let k = 0; k < MAX_DRAWS; k++) {
        const candidate: Candidate = { space: 'darts', arch: formatGenotype(draw(rng)) };
        if (!history.has(candidate)) return candidate;
      }
      return null;
    }
    default:
      throw new InvalidArgumentError(`unknown search space ${JSON.stringify(space)} (expected nb201 or darts)`);
  }
}

/** A seed must be an integer (Rng would silently truncate anything else). */
export function checkSeed(seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new InvalidArgumentError(`seed must be an integer, got ${String(seed)}`);
  }
  return seed;
}

/** `sampler`, checked. */
export function checkDartsSampler(sampler: unknown): DartsSampler {
  if (sampler === undefined) return 'uniform';
  if (sampler !== 'uniform' && sampler !== 'hnas') {
    throw new InvalidArgumentError(`dartsSampler must be 'uniform' or 'hnas', got ${JSON.stringify(sampler)}`);
  }
  return sampler;
}

/** The pool, checked to be an array. */
export function checkPool<T>(pool: readonly T[]): readonly T[] {
  if (!Array.isArray(pool)) throw new InvalidArgumentError('pool must be an array of candidates');
  return pool;
}
