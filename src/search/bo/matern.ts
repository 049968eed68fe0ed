/**
 * The Matérn-5/2 covariance with one length-scale per input dimension (ARD),
 * the surrogate's prior in HNAS's Bayesian optimisation. Matérn-5/2 rather
 * than the squared exponential because validation accuracy as a function of
 * the hybrid-objective weights is not infinitely smooth, and an RBF prior
 * over-smooths it (Snoek et al., 2012). ARD lets the fit decide how much each
 * coordinate matters.
 *
 *   k(x, x') = σ² (1 + √5 r + 5r²/3) exp(−√5 r),   r = ‖(x − x') / ℓ‖.
 */

/** A point of the input space. */
export type Point = readonly number[];

export interface MaternParams {
  /** ℓ_j > 0, one per input dimension, in the inputs' units. */
  readonly lengthScales: readonly number[];
  /** σ² > 0: the prior variance k(x, x). */
  readonly signalVariance: number;
}

const SQRT5 = Math.sqrt(5);

/** k as a function of the scaled distance r ≥ 0. */
export function matern52(r: number, signalVariance: number): number {
  const s = SQRT5 * r;
  return signalVariance * (1 + s + (s * s) / 3) * Math.exp(-s);
}

/**
 * g(r) = σ² (5/3)(1 + √5 r) exp(−√5 r), so that ∂k/∂log ℓ_j = g(r)·(Δ_j/ℓ_j)²
 * and ∂k/∂x_j = −g(r)·Δ_j/ℓ_j². Written this way the derivatives carry no
 * 1/r and stay finite at r = 0.
 */
export function matern52DerivFactor(r: number, signalVariance: number): number {
  const s = SQRT5 * r;
  return signalVariance * (5 / 3) * (1 + s) * Math.exp(-s);
}

/** ‖(a − b)/ℓ‖², the squared scaled distance. */
export function scaledSqDist(a: Point, b: Point, lengthScales: readonly number[]): number {
  let q = 0;
  for (let j = 0; j < lengthScales.length; j++) {
    const d = (a[j] - b[j]) / lengthScales[j];
    q += d * d;
  }
  return q;
}

/** k(a, b). */
export function maternKernel(a: Point, b: Point, params: MaternParams): number {
  return matern52(Math.sqrt(scaledSqDist(a, b, params.lengthScales)), params.signalVariance);
}

/** The cross-covariance k(a_i, b_j), row-major [a.length][b.length]. */
export function maternCrossCovariance(a: readonly Point[], b: readonly Point[], params: MaternParams): Float64Array {
  const out = new Float64Array(a.length * b.length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) out[i * b.length + j] = maternKernel(a[i], b[j], params);
  }
  return out;
}
