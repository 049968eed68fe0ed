/**
 * Random DARTS genotypes, deterministic per seed (all randomness from Rng).
 *
 * - `sampleGenotypeUniform`: every node picks two distinct earlier states
 *   uniformly (an ordered draw without replacement) and an op uniformly from
 *   the 7 DARTS ops for each; concat [2, 3, 4, 5]. This is the usual
 *   "random architecture" of the DARTS space (NAS-Bench-301, NASLib).
 * - `sampleGenotypeHnas`: the HNAS sampler, i.e. DARTS' own derivation
 *   (`Network.genotype()` / `_parse` in DARTS' model_search.py) applied to
 *   random architecture weights. Every edge i → node of both cells gets
 *   logits α over the 8 candidates (`none` + 7 ops, DARTS' PRIMITIVES
 *   order), drawn i.i.d. standard normal (α ~ N(0, σ²), σ = `alphaStd`,
 *   default 1; this is our choice — DARTS itself initialises α as
 *   1e-3·N(0, 1)). Softmax per edge, then `deriveGenotype` keeps for each
 *   node the two input edges whose largest non-`none` weight is largest and
 *   takes that op on each. The op of an edge is the argmax of its α and does
 *   not depend on σ; which edges a node keeps does, a little, through the
 *   softmax (and through `none`'s share of each edge).
 *
 * Both return validated, frozen genotypes.
 */
import { ArchitectureError, InvalidArgumentError } from '../../errors.js';
import type { Rng } from '../rng.js';
import {
  DARTS_EDGES_PER_CELL,
  DARTS_OPS,
  DARTS_PRIMITIVES,
  DARTS_STEPS,
  makeGenotype,
  type CellKind,
  type DartsOp,
  type DartsPair,
  type Genotype,
} from './genotype.js';

const CONCAT = [2, 3, 4, 5];

/** Uniform over the DARTS space: distinct inputs and an op per input, node by node. */
export function sampleGenotypeUniform(rng: Rng): Genotype {
  const cell = (): DartsPair[] => {
    const pairs: DartsPair[] = [];
    for (let node = 0; node < DARTS_STEPS; node++) {
      const states = node + 2;
      const a = rng.int(states);
      let b = rng.int(states - 1);
      if (b >= a) b++;
      pairs.push([DARTS_OPS[rng.int(DARTS_OPS.length)], a]);
      pairs.push([DARTS_OPS[rng.int(DARTS_OPS.length)], b]);
    }
    return pairs;
  };
  const normal = cell();
  const reduce = cell();
  return makeGenotype({ normal, normalConcat: CONCAT, reduce, reduceConcat: CONCAT });
}

/**
 * Architecture weights of DARTS' search supernet: per cell, 14 rows (edges
 * in DARTS order: node 0 ← 0, 1; node 1 ← 0, 1, 2; node 2 ← 0..3; node 3 ←
 * 0..4) of 8 logits in DARTS_PRIMITIVES order (`none` first).
 */
export interface DartsAlphas {
  normal: readonly (readonly number[])[];
  reduce: readonly (readonly number[])[];
}

function softmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function checkAlphas(kind: CellKind, rows: readonly (readonly number[])[]): void {
  if (!Array.isArray(rows) || rows.length !== DARTS_EDGES_PER_CELL) {
    throw new ArchitectureError(`${kind} alphas: expected ${DARTS_EDGES_PER_CELL} edges, got ${Array.isArray(rows) ? rows.length : typeof rows}`);
  }
  rows.forEach((r, e) => {
    if (!Array.isArray(r) || r.length !== DARTS_PRIMITIVES.length) {
      throw new ArchitectureError(`${kind} alphas, edge ${e}: expected ${DARTS_PRIMITIVES.length} logits (${DARTS_PRIMITIVES.join(', ')})`);
    }
    if (!r.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ArchitectureError(`${kind} alphas, edge ${e}: logits must be finite numbers`);
    }
  });
}

/** DARTS' `_parse` on softmax-normalised weights W (14 × 8) of one cell. */
function parseCell(weights: readonly number[][]): DartsPair[] {
  const none = DARTS_PRIMITIVES.indexOf('none');
  // Best non-`none` candidate of an edge: the first maximum, as DARTS' strict `>` keeps it.
  const best = (w: readonly number[]): number => {
    let k = -1;
    for (let j = 0; j < w.length; j++) if (j !== none && (k < 0 || w[j] > w[k])) k = j;
    return k;
  };
  const gene: DartsPair[] = [];
  let start = 0;
  for (let node = 0; node < DARTS_STEPS; node++) {
    const n = node + 2;
    const W = weights.slice(start, start + n);
    // sorted(range(n), key=-strength)[:2]: a stable sort, so ties keep the lower input first.
    const edges = Array.from({ length: n }, (_, i) => i)
      .map((i) => ({ i, strength: W[i][best(W[i])] }))
      .sort((a, b) => b.strength - a.strength || a.i - b.i)
      .slice(0, 2);
    for (const { i } of edges) gene.push([DARTS_PRIMITIVES[best(W[i])] as DartsOp, i]);
    start += n;
  }
  return gene;
}

/**
 * The deterministic core of the HNAS sampler: DARTS' genotype derivation
 * from architecture logits (softmax per edge, then `_parse`). Pairs of a node
 * come strongest edge first, as DARTS writes them.
 */
export function deriveGenotype(alphas: DartsAlphas): Genotype {
  checkAlphas('normal', alphas.normal);
  checkAlphas('reduce', alphas.reduce);
  const normal = parseCell(alphas.normal.map(softmax));
  const reduce = parseCell(alphas.reduce.map(softmax));
  return makeGenotype({ normal, normalConcat: CONCAT, reduce, reduceConcat: CONCAT });
}

/** Random α for both cells, N(0, alphaStd²), drawn normal cell first, edge by edge, in PRIMITIVES order. */
export function sampleDartsAlphas(rng: Rng, options: { alphaStd?: number } = {}): DartsAlphas {
  const std = options.alphaStd ?? 1;
  if (!(Number.isFinite(std) && std > 0)) throw new InvalidArgumentError(`alphaStd must be a positive number, got ${std}`);
  const cell = () =>
    Array.from({ length: DARTS_EDGES_PER_CELL }, () => Array.from({ length: DARTS_PRIMITIVES.length }, () => std * rng.normal()));
  const normal = cell();
  const reduce = cell();
  return { normal, reduce };
}

/** The HNAS sampler: DARTS' derivation from random α (see the module comment). */
export function sampleGenotypeHnas(rng: Rng, options: { alphaStd?: number } = {}): Genotype {
  return deriveGenotype(sampleDartsAlphas(rng, options));
}
