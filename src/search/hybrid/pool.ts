/**
 * The candidate pool the training-free step chooses from. NB201: the pool
 * grows by K uniform draws per step (HNAS' setting), so early steps choose
 * among few cells and later ones among nearly all. DARTS: one fixed pool of
 * sampled genotypes (scored once, cached). Both are pure functions of the
 * seed and the step, so a resumed search rebuilds the same pool.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { SpaceName } from '../../spaces/architecture.js';
import { formatGenotype } from '../../spaces/darts/genotype.js';
import { sampleGenotypeHnas, sampleGenotypeUniform } from '../../spaces/darts/sampling.js';
import { NB201_NUM_CELLS, loadNb201Table } from '../../spaces/nb201/index.js';
import { Rng } from '../../spaces/rng.js';
import type { Candidate } from '../types.js';

/** Streams of the pool's generators (distinct from the BO's). */
const NB201_POOL_STREAM = 0x9001;
const DARTS_POOL_STREAM = 0x9002;

export interface PoolOptions {
  space: SpaceName;
  seed: number;
  /** NB201: uniform draws added per step (default 2000). */
  growth?: number;
  /** DARTS: genotypes in the fixed pool (default 60,000). */
  size?: number;
  /** DARTS: genotype sampler (default uniform). */
  sampler?: 'uniform' | 'hnas';
  /** A fixed pool given by the caller (overrides the above). */
  candidates?: readonly Candidate[];
}

export class CandidatePool {
  readonly space: SpaceName;
  readonly #members: Candidate[] = [];
  readonly #keys = new Set<string>();
  readonly #rng: Rng | undefined;
  readonly #growth: number;

  constructor(options: PoolOptions) {
    this.space = options.space;
    this.#growth = options.growth ?? 2000;
    if (!Number.isInteger(this.#growth) || this.#growth < 1) throw new InvalidArgumentError(`pool growth must be a positive integer, got ${options.growth}`);
    if (options.candidates) {
      for (const c of options.candidates) this.#push(c);
      if (this.#members.length === 0) throw new InvalidArgumentError('the candidate pool is empty');
      return;
    }
    if (options.space === 'nb201') {
      this.#rng = new Rng(options.seed, NB201_POOL_STREAM);
    } else {
      const size = options.size ?? 60_000;
      if (!Number.isInteger(size) || size < 1) throw new InvalidArgumentError(`pool size must be a positive integer, got ${options.size}`);
      const rng = new Rng(options.seed, DARTS_POOL_STREAM);
      const draw = options.sampler === 'hnas' ? sampleGenotypeHnas : sampleGenotypeUniform;
      // Draws until `size` distinct genotypes (duplicates are vanishingly rare in a space of ~1e18).
      for (let tries = 0; this.#members.length < size && tries < size * 10; tries++) {
        this.#push({ space: 'darts', arch: formatGenotype(draw(rng)) });
      }
    }
  }

  #push(c: Candidate): void {
    const key = c.space === 'nb201' ? `i${c.index}` : c.arch;
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.#members.push(c);
  }

  /** Grows the pool for a step (NB201 with growth only); returns the members added. */
  grow(): Candidate[] {
    if (!this.#rng) return [];
    const table = loadNb201Table();
    const before = this.#members.length;
    for (let k = 0; k < this.#growth && this.#members.length < NB201_NUM_CELLS; k++) {
      const index = this.#rng.int(NB201_NUM_CELLS);
      this.#push({ space: 'nb201', arch: table.archAt(index), index });
    }
    return this.#members.slice(before);
  }

  get size(): number {
    return this.#members.length;
  }

  get members(): readonly Candidate[] {
    return this.#members;
  }
}
