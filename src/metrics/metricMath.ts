/**
 * The dense linear algebra behind the metrics, all in float64 (JavaScript
 * numbers) whatever the network's dtype: symmetric eigenvalues (numpy
 * `eigvalsh`), `slogdet`, numpy `corrcoef`, condition numbers with the
 * fixtures' singular rule, and the ZiCo per-layer statistic. Pure functions
 * over flat row-major arrays; nothing here touches the engine.
 */
import { EigenvalueDecomposition, LuDecomposition, Matrix } from 'ml-matrix';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';

/** float64 machine epsilon as the fixtures use it for the singular rule (numpy finfo(float64).eps). */
export const FLOAT64_EPS = 2.220446049250313e-16;

function checkSquare(a: ArrayLike<number>, n: number, what: string): void {
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what}: size must be a positive integer, got ${n}`);
  if (a.length !== n * n) throw new ShapeMismatchError(`${what}: ${a.length} values for a ${n}×${n} matrix`);
}

function toMatrix(a: ArrayLike<number>, n: number): Matrix {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, a[i * n + j]);
  return m;
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major), ascending, like numpy
 * `eigvalsh`. Only symmetry is assumed: the matrix is symmetrised as
 * (A + Aᵀ)/2 first, so rounding-level asymmetry in an accumulated Θ does not
 * matter. NaN/Inf entries give NaN eigenvalues.
 */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  checkSquare(a, n, 'symmetricEigenvalues');
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return new Float64Array(n).fill(Number.NaN);
  }
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) m.set(i, j, 0.5 * (a[i * n + j] + a[j * n + i]));
  }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  return Float64Array.from(evd.realEigenvalues).sort();
}

export interface Slogdet {
  /** +1, −1, or 0 when the matrix is singular (then `logAbsDet` is −Infinity), as numpy `slogdet`. */
  sign: number;
  logAbsDet: number;
}

/**
 * sign and ln|det A| of a square matrix (LU with partial pivoting, as LAPACK
 * getrf under numpy/torch `slogdet`), summing the logs of the pivots so that
 * large determinants do not overflow.
 */
export function slogdet(a: ArrayLike<number>, n: number): Slogdet {
  checkSquare(a, n, 'slogdet');
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) return { sign: Number.NaN, logAbsDet: Number.NaN };
  }
  const lu = new LuDecomposition(toMatrix(a, n));
  const u = lu.upperTriangularMatrix;
  let sign = permutationSign(lu.pivotPermutationVector);
  let logAbsDet = 0;
  for (let i = 0; i < n; i++) {
    const d = u.get(i, i);
    if (d === 0) return { sign: 0, logAbsDet: -Infinity };
    if (d < 0) sign = -sign;
    logAbsDet += Math.log(Math.abs(d));
  }
  return { sign, logAbsDet };
}

/** Parity of a permutation given as the image of 0..n−1. */
function permutationSign(perm: readonly number[]): number {
  const seen = new Uint8Array(perm.length);
  let sign = 1;
  for (let i = 0; i < perm.length; i++) {
    if (seen[i]) continue;
    let len = 0;
    for (let j = i; !seen[j]; j = perm[j]) {
      seen[j] = 1;
      len++;
    }
    if (len % 2 === 0) sign = -sign;
  }
  return sign;
}

/**
 * numpy `corrcoef(x)` of `rows` variables with `cols` observations each
 * (row-major rows × cols): the covariance of the centred rows divided by the
 * standard deviations (c_ij / s_i / s_j) and clipped to [−1, 1]. A row with
 * zero variance gives NaN in its row and column, as numpy does.
 */
export function corrcoef(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  if (!Number.isInteger(rows) || rows <= 0 || !Number.isInteger(cols) || cols <= 0) {
    throw new InvalidArgumentError(`corrcoef: rows and cols must be positive integers, got ${rows}×${cols}`);
  }
  if (x.length !== rows * cols) throw new ShapeMismatchError(`corrcoef: ${x.length} values for ${rows}×${cols}`);
  const centred = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += x[r * cols + c];
    mean /= cols;
    for (let c = 0; c < cols; c++) centred[r * cols + c] = x[r * cols + c] - mean;
  }
  // The 1/(cols − 1) of the covariance cancels in the ratio; kept for numpy's rounding.
  const fact = cols > 1 ? 1 / (cols - 1) : Number.NaN;
  const cov = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    const ri = centred.subarray(i * cols, (i + 1) * cols);
    for (let j = i; j < rows; j++) {
      const rj = centred.subarray(j * cols, (j + 1) * cols);
      let s = 0;
      for (let c = 0; c < cols; c++) s += ri[c] * rj[c];
      cov[i * rows + j] = cov[j * rows + i] = s * fact;
    }
  }
  const std = new Float64Array(rows);
  for (let i = 0; i < rows; i++) std[i] = Math.sqrt(cov[i * rows + i]);
  const out = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      const v = cov[i * rows + j] / std[i] / std[j];
      out[i * rows + j] = Number.isNaN(v) ? v : Math.min(1, Math.max(-1, v));
    }
  }
  return out;
}

export interface ConditionNumber {
  /** λ_max / λ_min (NaN/±Inf possible: callers decide what a non-finite value means). */
  value: number;
  lambdaMin: number;
  lambdaMax: number;
  /**
   * λ_min ≤ √n · eps · λ_max (fixture README §6): the smallest eigenvalue is
   * at the rounding level of the largest, so the ratio carries no information.
   */
  singular: boolean;
}

/** The singular rule of the fixtures: λ_min ≤ √n · eps · λ_max, eps for the precision of the eigensolver. */
export function isSingular(lambdaMin: number, lambdaMax: number, n: number, eps = FLOAT64_EPS): boolean {
  return lambdaMin <= Math.sqrt(n) * eps * lambdaMax;
}

/** λ_max/λ_min of a symmetric n×n matrix (float64 `eigvalsh`) with the singular flag. */
export function conditionNumber(a: ArrayLike<number>, n: number): ConditionNumber {
  const eig = symmetricEigenvalues(a, n);
  const lambdaMin = eig[0];
  const lambdaMax = eig[n - 1];
  return { value: lambdaMax / lambdaMin, lambdaMin, lambdaMax, singular: isSingular(lambdaMin, lambdaMax, n) };
}

/** Σ_i a_ii of an n×n row-major matrix. */
export function trace(a: ArrayLike<number>, n: number): number {
  checkSquare(a, n, 'trace');
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i];
  return t;
}

/** A contiguous block of columns: one layer's parameters inside a concatenated row. */
export interface ColumnBlock {
  offset: number;
  size: number;
}

export interface ZicoScore {
  value: number;
  /** Layers whose Σ mean|g|/std(g) was positive (the ones that contribute a log). */
  layersCounted: number;
}

/**
 * ZiCo (Guo et al., ICLR 2023) from per-sample gradients g (rows × cols,
 * row-major, rows = samples): for every layer l (a block of columns),
 * S_l = Σ_{p in l, std_n(g_p) ≠ 0} mean_n|g_p| / std_n(g_p) with the population
 * std (numpy `np.std`, ddof 0); score = Σ_{l: S_l > 0} ln S_l. As the reference
 * code, parameters whose gradient does not vary over the samples are skipped
 * and layers with nothing left add nothing.
 */
export function zicoScore(g: ArrayLike<number>, rows: number, cols: number, layers: readonly ColumnBlock[]): ZicoScore {
  if (!Number.isInteger(rows) || rows <= 0) throw new InvalidArgumentError(`zicoScore: rows must be a positive integer, got ${rows}`);
  if (g.length !== rows * cols) throw new ShapeMismatchError(`zicoScore: ${g.length} values for ${rows}×${cols}`);
  let value = 0;
  let layersCounted = 0;
  const mean = new Float64Array(cols);
  const meanAbs = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = g[base + c];
      mean[c] += v;
      meanAbs[c] += Math.abs(v);
    }
  }
  for (let c = 0; c < cols; c++) {
    mean[c] /= rows;
    meanAbs[c] /= rows;
  }
  const variance = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const d = g[base + c] - mean[c];
      variance[c] += d * d;
    }
  }
  for (const { offset, size } of layers) {
    if (offset < 0 || offset + size > cols) {
      throw new ShapeMismatchError(`zicoScore: layer block [${offset}, ${offset + size}) outside ${cols} columns`);
    }
    let s = 0;
    for (let c = offset; c < offset + size; c++) {
      const std = Math.sqrt(variance[c] / rows);
      if (std !== 0) s += meanAbs[c] / std;
    }
    if (s > 0) {
      value += Math.log(s);
      layersCounted++;
    }
  }
  return { value, layersCounted };
}
