/**
 * How well a training-free metric orders architectures: Pearson, Spearman
 * (Pearson of average ranks) and Kendall's tau-b (tie-corrected, Knight's
 * O(n log n) algorithm, so a whole NB201 space of 15,625 points is cheap),
 * plus the pairwise filter that drops missing or non-finite scores first.
 *
 * The coefficients match scipy.stats (pearsonr, spearmanr, kendalltau with
 * variant 'b'). Bad input (length mismatch, fewer than 3 pairs, NaN/±Inf)
 * throws InvalidArgumentError; a constant side, for which the coefficient is
 * undefined, is a typed `{ ok: false }` result rather than NaN.
 */
import { InvalidArgumentError } from '../errors.js';

/** The fewest pairs a correlation is computed on. */
export const MIN_CORRELATION_PAIRS = 3;

/** Why a correlation is undefined: one side (or both) has no variation. */
export type UndefinedCorrelationReason = 'constant_x' | 'constant_y' | 'constant_xy';

export type Correlation =
  | { readonly ok: true; readonly value: number; readonly n: number }
  | { readonly ok: false; readonly reason: UndefinedCorrelationReason; readonly n: number };

/** A value that may be missing: score columns carry null for failed metrics. */
export type MaybeNumber = number | null | undefined;

export interface FinitePairs {
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Positions (in the inputs) of the pairs kept, ascending. */
  readonly kept: Int32Array;
  /** Pairs dropped because x or y was null, undefined, NaN or ±Infinity. */
  readonly dropped: number;
}

/** Keeps the pairs where both x[i] and y[i] are finite numbers; reports how many were dropped. */
export function pairwiseFinite(x: ArrayLike<MaybeNumber>, y: ArrayLike<MaybeNumber>): FinitePairs {
  if (x.length !== y.length) {
    throw new InvalidArgumentError(`pairwiseFinite: x has ${x.length} values but y has ${y.length}`);
  }
  const kept: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const a = x[i];
    const b = y[i];
    if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b)) kept.push(i);
  }
  const out = { x: new Float64Array(kept.length), y: new Float64Array(kept.length), kept: Int32Array.from(kept) };
  for (let k = 0; k < kept.length; k++) {
    out.x[k] = x[kept[k]] as number;
    out.y[k] = y[kept[k]] as number;
  }
  return { ...out, dropped: x.length - kept.length };
}

function checkFinite(v: ArrayLike<number>, what: string, fn: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new InvalidArgumentError(`${fn}: ${what}[${i}] is ${v[i]}; drop such pairs first (pairwiseFinite)`);
    }
  }
}

function checkPairs(x: ArrayLike<number>, y: ArrayLike<number>, fn: string): void {
  if (x.length !== y.length) throw new InvalidArgumentError(`${fn}: x has ${x.length} values but y has ${y.length}`);
  if (x.length < MIN_CORRELATION_PAIRS) {
    throw new InvalidArgumentError(`${fn}: ${x.length} pairs; at least ${MIN_CORRELATION_PAIRS} are needed`);
  }
  checkFinite(x, 'x', fn);
  checkFinite(y, 'y', fn);
}

function isConstant(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

function undefinedReason(x: ArrayLike<number>, y: ArrayLike<number>): UndefinedCorrelationReason | null {
  const cx = isConstant(x);
  const cy = isConstant(y);
  if (cx && cy) return 'constant_xy';
  if (cx) return 'constant_x';
  if (cy) return 'constant_y';
  return null;
}

/** Rounding can push |r| a few ulps past 1; a coefficient is reported inside [-1, 1]. */
function clampUnit(r: number): number {
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

/**
 * 1-based ranks, ties given the average of the ranks they span (scipy
 * `rankdata(method='average')`). Values must be finite.
 */
export function rank(values: ArrayLike<number>): Float64Array {
  checkFinite(values, 'values', 'rank');
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a] - values[b] || a - b);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    // Positions start..end-1 (0-based) hold ranks start+1..end; their average:
    const avg = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = avg;
    start = end;
  }
  return ranks;
}

export interface CentredMoments {
  mx: number;
  my: number;
  sxx: number;
  sxy: number;
  syy: number;
}

/** Means and centred sums of squares and products, two-pass so that large offsets do not cancel. */
export function centredMoments(x: ArrayLike<number>, y: ArrayLike<number>): CentredMoments {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return { mx, my, sxx, sxy, syy };
}

/** Pearson's r from the centred moments. */
function pearsonUnchecked(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const { sxx, sxy, syy } = centredMoments(x, y);
  return clampUnit(sxy / Math.sqrt(sxx * syy));
}

/** Pearson's product-moment correlation (scipy `pearsonr`'s statistic). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): Correlation {
  checkPairs(x, y, 'pearson');
  const n = x.length;
  const reason = undefinedReason(x, y);
  if (reason !== null) return { ok: false, reason, n };
  return { ok: true, value: pearsonUnchecked(x, y), n };
}

/** Spearman's rho: Pearson's r of the average ranks (scipy `spearmanr`). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): Correlation {
  checkPairs(x, y, 'spearman');
  const n = x.length;
  const reason = undefinedReason(x, y);
  if (reason !== null) return { ok: false, reason, n };
  return { ok: true, value: pearsonUnchecked(rank(x), rank(y)), n };
}

/** Σ t(t−1)/2 over runs of equal values in an array sorted ascending. */
function tiedPairs(sorted: Float64Array): number {
  let total = 0;
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) {
      run++;
    } else {
      total += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  return total;
}

/**
 * Sorts `v` ascending in place (bottom-up merge sort) and returns the number
 * of inversions: pairs i < j with v[i] > v[j] (equal values are not counted).
 */
function sortCountingInversions(v: Float64Array): number {
  const n = v.length;
  let src: Float64Array = v;
  let dst: Float64Array = new Float64Array(n);
  let inversions = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          // src[j] jumps ahead of every element still left in the left run.
          inversions += mid - i;
          dst[k++] = src[j++];
        } else {
          dst[k++] = src[i++];
        }
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== v) v.set(src);
  return inversions;
}

/**
 * Kendall's tau-b (scipy `kendalltau`, variant 'b'):
 *   (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂))
 * with n₀ = n(n−1)/2, n₁ / n₂ the pairs tied in x / y. Knight's algorithm:
 * sort by (x, y), count pairs tied in x and jointly tied in (x, y), then merge
 * sort the y column counting swaps, which are the discordant pairs. O(n log n).
 * All counts stay below 2^53 for any n a JavaScript array can hold.
 */
export function kendall(x: ArrayLike<number>, y: ArrayLike<number>): Correlation {
  checkPairs(x, y, 'kendall');
  const n = x.length;
  const reason = undefinedReason(x, y);
  if (reason !== null) return { ok: false, reason, n };

  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => x[a] - x[b] || y[a] - y[b]);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    xs[k] = x[order[k]];
    ys[k] = y[order[k]];
  }

  // Pairs tied in x (n₁) and tied in both x and y (n₃), from runs in the (x, y) order.
  const xTies = tiedPairs(xs);
  let jointTies = 0;
  let run = 1;
  for (let k = 1; k <= n; k++) {
    if (k < n && xs[k] === xs[k - 1] && ys[k] === ys[k - 1]) {
      run++;
    } else {
      jointTies += (run * (run - 1)) / 2;
      run = 1;
    }
  }

  // Within an x-tie, y is ascending, so a swap is never counted for x-tied pairs:
  // every inversion is a discordant pair.
  const discordant = sortCountingInversions(ys);
  const yTies = tiedPairs(ys);

  const n0 = (n * (n - 1)) / 2;
  const concordantMinusDiscordant = n0 - xTies - yTies + jointTies - 2 * discordant;
  return { ok: true, value: clampUnit(concordantMinusDiscordant / Math.sqrt((n0 - xTies) * (n0 - yTies))), n };
}
