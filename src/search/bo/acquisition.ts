/**
 * Acquisition functions for Bayesian optimisation that MAXIMISES its target
 * (HNAS maximises validation accuracy): expected improvement, probability of
 * improvement and the upper confidence bound, in closed form from the GP's
 * posterior mean μ and standard deviation σ.
 *
 * The normal cdf goes through an erfc of our own with near-full double
 * precision in both tails (relative error ~1e-15), because EI and PI are
 * compared across thousands of candidates whose values may all lie deep in
 * the lower tail; a crude Φ would make those comparisons noise.
 */

/** Which acquisition, with its one constant. ξ is in the target's units; κ is in standard deviations. */
export type AcquisitionSpec =
  | { readonly kind: 'ei'; readonly xi?: number }
  | { readonly kind: 'pi'; readonly xi?: number }
  | { readonly kind: 'ucb'; readonly kappa?: number };

export type AcquisitionKind = AcquisitionSpec['kind'];

export const DEFAULT_UCB_KAPPA = 2.576;

const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
// Below this the power series of erf (all terms positive) is accurate and
// 1 − erf loses under two digits; above it the continued fraction of erfc
// converges in under ~100 terms.
const SERIES_LIMIT = 1.5;

/** erf(x) = (2/√π) e^{−x²} Σ_n 2ⁿ x^{2n+1} / (2n+1)!!, for 0 ≤ x ≤ SERIES_LIMIT. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
  }
  return 2 * INV_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), for
 * x ≥ SERIES_LIMIT, by the modified Lentz method.
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-x * x) * INV_SQRT_PI) / f;
}

/** The complementary error function, relative error ~1e-15 for all x where it does not underflow. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  const upper = ax < SERIES_LIMIT ? 1 - erfSeries(ax) : ax > 27 ? 0 : erfcContinuedFraction(ax);
  return x >= 0 ? upper : 2 - upper;
}

/** The standard normal density φ(z). */
export function normalPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** The standard normal cdf Φ(z) = erfc(−z/√2)/2, accurate relative to Φ in the lower tail. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * EI(x) = E[max(f(x) − best − ξ, 0)] = I·Φ(I/σ) + σ·φ(I/σ) with I = μ − best − ξ;
 * at σ = 0 it is max(I, 0). Computed as σ(φ(z) + zΦ(z)): for z ≪ 0 the two
 * terms nearly cancel, but Φ's relative accuracy keeps the error ~z²·ε of
 * the result, so only the clamp at 0 is needed.
 */
export function expectedImprovement(mean: number, sd: number, best: number, xi = 0): number {
  const improvement = mean - best - xi;
  if (!(sd > 0)) return Math.max(improvement, 0);
  const z = improvement / sd;
  return Math.max(sd * (normalPdf(z) + z * normalCdf(z)), 0);
}

/** PI(x) = P[f(x) > best + ξ] = Φ((μ − best − ξ)/σ); at σ = 0 it is 1 when μ > best + ξ, else 0. */
export function probabilityOfImprovement(mean: number, sd: number, best: number, xi = 0): number {
  const improvement = mean - best - xi;
  if (!(sd > 0)) return improvement > 0 ? 1 : 0;
  return normalCdf(improvement / sd);
}

/** UCB(x) = μ + κσ. */
export function upperConfidenceBound(mean: number, sd: number, kappa = DEFAULT_UCB_KAPPA): number {
  return mean + kappa * sd;
}

/** The acquisition `spec` names, at one point (best: the largest target observed so far). */
export function acquisitionValue(spec: AcquisitionSpec, mean: number, sd: number, best: number): number {
  switch (spec.kind) {
    case 'ei':
      return expectedImprovement(mean, sd, best, spec.xi ?? 0);
    case 'pi':
      return probabilityOfImprovement(mean, sd, best, spec.xi ?? 0);
    case 'ucb':
      return upperConfidenceBound(mean, sd, spec.kappa ?? DEFAULT_UCB_KAPPA);
  }
}
