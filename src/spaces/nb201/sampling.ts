/**
 * Random and local moves in the NAS-Bench-201 space. All randomness comes
 * from the caller's seeded `Rng`, so results are reproducible per seed.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { Rng } from '../rng.js';
import {
  NB201_NUM_CELLS,
  NB201_NUM_EDGES,
  NB201_OPS,
  nb201CellFromCode,
  toNb201Cell,
  type Nb201Cell,
  type Nb201Op,
} from './archString.js';

/** One cell drawn uniformly from the 5^6 cells. */
export function sampleNb201(rng: Rng): Nb201Cell;
/** `count` cells drawn uniformly and independently (repeats possible). */
export function sampleNb201(rng: Rng, count: number): Nb201Cell[];
export function sampleNb201(rng: Rng, count?: number): Nb201Cell | Nb201Cell[] {
  if (count === undefined) return nb201CellFromCode(rng.int(NB201_NUM_CELLS));
  checkCount('count', count);
  return Array.from({ length: count }, () => nb201CellFromCode(rng.int(NB201_NUM_CELLS)));
}

/**
 * `k` official benchmark indices drawn uniformly from 0..15624 — with
 * replacement by default, without when `unique` is set (then in random order,
 * and k may be at most 15625).
 */
export function sampleNb201Indices(rng: Rng, k: number, options: { unique?: boolean } = {}): number[] {
  checkCount('k', k);
  const n = NB201_NUM_CELLS;
  if (!options.unique) return Array.from({ length: k }, () => rng.int(n));
  if (k > n) throw new InvalidArgumentError(`cannot draw ${k} unique NAS-Bench-201 indices: there are only ${n}`);
  // Partial Fisher–Yates over 0..n-1, with the swapped entries kept sparse.
  const swapped = new Map<number, number>();
  const out = new Array<number>(k);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const atJ = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out[i] = atJ;
  }
  return out;
}

/** A copy of `cell` with exactly one edge (uniformly chosen) changed to a different op (uniformly chosen). */
export function mutateNb201(arch: string | Nb201Cell, rng: Rng): Nb201Cell {
  const cell = toNb201Cell(arch);
  const edge = rng.int(NB201_NUM_EDGES);
  const current = NB201_OPS.indexOf(cell[edge]);
  let pick = rng.int(NB201_OPS.length - 1);
  if (pick >= current) pick++;
  return withOp(cell, edge, NB201_OPS[pick]);
}

/**
 * All 24 cells that differ from `cell` on exactly one edge, ordered by edge
 * (cell order), then by op (`NB201_OPS` order).
 */
export function neighboursNb201(arch: string | Nb201Cell): Nb201Cell[] {
  const cell = toNb201Cell(arch);
  const out: Nb201Cell[] = [];
  for (let edge = 0; edge < NB201_NUM_EDGES; edge++) {
    for (const op of NB201_OPS) {
      if (op !== cell[edge]) out.push(withOp(cell, edge, op));
    }
  }
  return out;
}

function withOp(cell: Nb201Cell, edge: number, op: Nb201Op): Nb201Cell {
  const next = [...cell];
  next[edge] = op;
  return Object.freeze(next);
}

function checkCount(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}
