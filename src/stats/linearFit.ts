/**
 * Least-squares lines for the plots and summaries: y = a + b·x, and the
 * power law log y = a + b·log x (natural logarithms) fitted on the positive
 * pairs only, e.g. a metric against parameter count. The returned a and b are
 * in the fitted space, which is what `scatterSvg`'s `line` overlay expects on
 * log axes.
 */
import { InvalidArgumentError } from '../errors.js';
import { centredMoments } from './rankCorrelation.js';

export interface LinearFit {
  /** Intercept. */
  readonly a: number;
  /** Slope. */
  readonly b: number;
  /**
   * Coefficient of determination 1 − SS_res / SS_tot. When y is constant
   * (SS_tot = 0) the fitted line is exact and R² is 1 (sklearn's convention).
   */
  readonly r2: number;
  /** Pairs fitted. */
  readonly n: number;
}

export interface LogLogFit extends LinearFit {
  /** Pairs dropped because x ≤ 0 or y ≤ 0 (no logarithm). */
  readonly droppedNonPositive: number;
}

function check(x: ArrayLike<number>, y: ArrayLike<number>, fn: string): void {
  if (x.length !== y.length) throw new InvalidArgumentError(`${fn}: x has ${x.length} values but y has ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      throw new InvalidArgumentError(
        `${fn}: pair ${i} is (${x[i]}, ${y[i]}); drop non-finite pairs first (pairwiseFinite)`,
      );
    }
  }
}

function fit(x: ArrayLike<number>, y: ArrayLike<number>, fn: string): LinearFit {
  const n = x.length;
  if (n < 2) throw new InvalidArgumentError(`${fn}: ${n} pairs; at least 2 are needed for a line`);
  const { mx, my, sxx, sxy, syy } = centredMoments(x, y);
  if (sxx === 0) throw new InvalidArgumentError(`${fn}: all ${n} x values are equal; the slope is undefined`);
  const b = sxy / sxx;
  const a = my - b * mx;
  let ssRes = 0;
  for (let i = 0; i < n; i++) {
    const r = y[i] - (a + b * x[i]);
    ssRes += r * r;
  }
  const r2 = syy === 0 ? 1 : Math.max(0, 1 - ssRes / syy);
  return { a, b, r2, n };
}

/** Ordinary least squares y = a + b·x over all pairs (finite values, ≥ 2 pairs, x not constant). */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): LinearFit {
  check(x, y, 'linearFit');
  return fit(x, y, 'linearFit');
}

/**
 * Least squares ln y = a + b·ln x over the pairs with x > 0 and y > 0; the
 * others are dropped and counted. Values must be finite; ≥ 2 positive pairs.
 */
export function logLogFit(x: ArrayLike<number>, y: ArrayLike<number>): LogLogFit {
  check(x, y, 'logLogFit');
  const lx: number[] = [];
  const ly: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] > 0 && y[i] > 0) {
      lx.push(Math.log(x[i]));
      ly.push(Math.log(y[i]));
    }
  }
  const droppedNonPositive = x.length - lx.length;
  const what = droppedNonPositive > 0 ? `logLogFit (${droppedNonPositive} non-positive pairs dropped)` : 'logLogFit';
  return { ...fit(lx, ly, what), droppedNonPositive };
}
