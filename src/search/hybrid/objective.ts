/**
 * The theory-derived objective the hybrid search minimises over
 * architectures (HNAS, Shu et al. 2022, eq. 10):
 *   score(A; μ, ν) = μ·|M(A)² − ν| + κ(A)/(M(A) + 1e-6)
 * with M a gradient-based metric (the NTK trace norm by default) and κ the
 * NTK condition number. Bayesian optimisation works on c = log10 μ and
 * t ∈ [0, 1] with ν = (t·scale)², in per-space ranges.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { SpaceName } from '../../spaces/architecture.js';

export interface ObjectiveSpaceSettings {
  /** Range of c = log10 μ. */
  cRange: readonly [number, number];
  /** ν = (t·scale)². */
  scale: number;
  /** c of the initial design (t swept over [0, 1] there). */
  initialC: number;
}

/** The paper's settings: NB201 c ∈ [−4, 0], scale 5e3, initial c = −2; DARTS c ∈ [−4, 1], scale 1e2, c at mid-range. */
export const OBJECTIVE_DEFAULTS: Readonly<Record<SpaceName, ObjectiveSpaceSettings>> = Object.freeze({
  nb201: { cRange: [-4, 0], scale: 5e3, initialC: -2 },
  darts: { cRange: [-4, 1], scale: 1e2, initialC: -1.5 },
});

export interface ObjectiveWeights {
  c: number;
  t: number;
  mu: number;
  nu: number;
}

export function objectiveWeights(c: number, t: number, scale: number): ObjectiveWeights {
  if (!Number.isFinite(c) || !Number.isFinite(t) || !(scale > 0)) {
    throw new InvalidArgumentError(`objective weights need finite c and t and a positive scale, got c=${c}, t=${t}, scale=${scale}`);
  }
  return { c, t, mu: 10 ** c, nu: (t * scale) ** 2 };
}

/**
 * The objective of one architecture; +∞ when κ is unknown (a singular Θ has
 * an unbounded condition number), so such a cell is picked only when nothing
 * else is left.
 */
export function hybridObjective(m: number, kappa: number | null, w: Pick<ObjectiveWeights, 'mu' | 'nu'>): number {
  if (kappa === null || !Number.isFinite(m)) return Number.POSITIVE_INFINITY;
  return w.mu * Math.abs(m * m - w.nu) + kappa / (m + 1e-6);
}
