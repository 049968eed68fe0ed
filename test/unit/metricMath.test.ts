/**
 * The metrics' dense math (src/metrics/metricMath.ts) on cases small enough
 * to work out by hand: numpy corrcoef, slogdet, symmetric eigenvalues, the
 * fixtures' singular rule, the ZiCo statistic; and the non-finite rule of
 * metric values.
 */
import { describe, expect, it } from 'vitest';
import {
  FLOAT64_EPS,
  conditionNumber,
  corrcoef,
  isSingular,
  slogdet,
  symmetricEigenvalues,
  trace,
  zicoScore,
} from '../../src/metrics/metricMath.js';
import { metricFailure, metricValue } from '../../src/metrics/metricResult.js';
import { InvalidArgumentError, NonFiniteError, ShapeMismatchError } from '../../src/errors.js';
import { expectAllClose } from '../helpers/allClose.js';

// Tolerances, with the reason for each: everything here is a few float64
// operations on O(1) numbers, so a few ulps.
const ULPS = 1e-14;

describe('corrcoef (numpy semantics)', () => {
  it('matches a hand-computed 3×3 case', () => {
    // Rows (variables) over 3 observations. Centred: r0 = [−1, 0, 1],
    // r1 = [−7/3, −1/3, 8/3], r2 = [1, 0, −1]; so corr(r0, r2) = −1 and
    // corr(r0, r1) = 5 / sqrt(2 · 114/9) = 15 / sqrt(228).
    const c = corrcoef([1, 2, 3, 2, 4, 7, 3, 2, 1], 3, 3);
    const r01 = 15 / Math.sqrt(228);
    expectAllClose(c, [1, r01, -1, r01, 1, -r01, -1, -r01, 1], { atol: ULPS }, 'corrcoef');
    // Symmetric, unit diagonal, within [−1, 1] (numpy clips).
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(c[i * 3 + j]).toBe(c[j * 3 + i]);
    for (const v of c) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });

  it('is invariant to a row’s scale and offset, and clips exact (anti)correlation to ±1', () => {
    const x = [0.1, 0.7, -0.3, 2.2, 0.1 * 3e5 + 7, 0.7 * 3e5 + 7, -0.3 * 3e5 + 7, 2.2 * 3e5 + 7];
    const c = corrcoef(x, 2, 4);
    expect(Math.abs(c[1] - 1)).toBeLessThan(ULPS);
    expect(c[1]).toBeLessThanOrEqual(1);
  });

  it('gives NaN for a constant row, as numpy does', () => {
    const c = corrcoef([1, 1, 1, 1, 2, 3], 2, 3);
    expect(Number.isNaN(c[0])).toBe(true);
    expect(Number.isNaN(c[1])).toBe(true);
    expect(c[3]).toBe(1);
  });

  it('rejects shapes that do not fit', () => {
    expect(() => corrcoef([1, 2, 3], 2, 2)).toThrow(ShapeMismatchError);
    expect(() => corrcoef([], 0, 3)).toThrow(InvalidArgumentError);
  });
});

describe('slogdet', () => {
  it('gives sign and ln|det| of small matrices', () => {
    expect(slogdet([2, 0, 0, 3], 2)).toEqual({ sign: 1, logAbsDet: Math.log(6) });
    const swap = slogdet([0, 1, 1, 0], 2); // a row swap: det = −1
    expect(swap.sign).toBe(-1);
    expect(Math.abs(swap.logAbsDet)).toBeLessThan(ULPS);
    // det [[1,2,3],[4,5,6],[7,8,10]] = 1(50−48) − 2(40−42) + 3(32−35) = −3
    const r = slogdet([1, 2, 3, 4, 5, 6, 7, 8, 10], 3);
    expect(r.sign).toBe(-1);
    expect(Math.abs(r.logAbsDet - Math.log(3))).toBeLessThan(ULPS);
  });

  it('does not overflow where det itself would (64 × 1e10 on the diagonal: det = 1e640)', () => {
    const n = 64;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) a[i * n + i] = 1e10;
    const r = slogdet(a, n);
    expect(r.sign).toBe(1);
    expect(Math.abs(r.logAbsDet - n * Math.log(1e10)) / (n * Math.log(1e10))).toBeLessThan(ULPS);
  });

  it('reports a singular matrix as sign 0 and −Infinity, and NaN input as NaN', () => {
    expect(slogdet([1, 2, 2, 4], 2)).toEqual({ sign: 0, logAbsDet: -Infinity });
    expect(Number.isNaN(slogdet([1, Number.NaN, 0, 1], 2).logAbsDet)).toBe(true);
  });
});

describe('symmetric eigenvalues', () => {
  it('gives ascending eigenvalues of small symmetric matrices', () => {
    expectAllClose(symmetricEigenvalues([2, 1, 1, 2], 2), [1, 3], { atol: ULPS }, '[[2,1],[1,2]]');
    // [[4,1,0],[1,4,1],[0,1,4]]: 4 − √2, 4, 4 + √2.
    expectAllClose(
      symmetricEigenvalues([4, 1, 0, 1, 4, 1, 0, 1, 4], 3),
      [4 - Math.SQRT2, 4, 4 + Math.SQRT2],
      { atol: 4 * ULPS },
      'tridiagonal',
    );
  });

  it('preserves trace and Frobenius norm of a larger symmetric matrix', () => {
    const n = 20;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = Math.sin(i * 7 + j * 3);
    const eig = symmetricEigenvalues(a, n);
    for (let i = 1; i < n; i++) expect(eig[i]).toBeGreaterThanOrEqual(eig[i - 1]);
    let fro = 0;
    for (const v of a) fro += v * v;
    expect(Math.abs(eig.reduce((s, v) => s + v, 0) - trace(a, n))).toBeLessThan(1e-12);
    expect(Math.abs(eig.reduce((s, v) => s + v * v, 0) - fro) / fro).toBeLessThan(1e-12);
  });
});

describe('condition numbers and the singular rule (fixture README §6)', () => {
  it('flags λ_min ≤ √N·eps·λ_max and nothing above it', () => {
    const n = 64;
    const bound = Math.sqrt(n) * FLOAT64_EPS;
    expect(isSingular(bound, 1, n)).toBe(true);
    expect(isSingular(bound * 1.0001, 1, n)).toBe(false);
    expect(isSingular(-1e-20, 1, n)).toBe(true);
    expect(isSingular(0.5, 1, n)).toBe(false);
    // float32's eps, as the fixtures' f32 flags use.
    expect(isSingular(1e-7, 1, 4, 1.1920929e-7)).toBe(true);
  });

  it('gives λ_max/λ_min with the flag', () => {
    const c = conditionNumber([2, 1, 1, 2], 2);
    expect(c.value).toBeCloseTo(3, 14);
    expect(c.singular).toBe(false);
    expect(c.lambdaMin).toBeCloseTo(1, 14);
    expect(c.lambdaMax).toBeCloseTo(3, 14);
    // Rank one: λ_min is rounding noise (or exactly 0), flagged.
    const s = conditionNumber([1, 1, 1, 1], 2);
    expect(s.singular).toBe(true);
  });
});

describe('zico statistic', () => {
  it('sums mean|g|/std(g) per layer over varying parameters and adds the logs of positive sums', () => {
    // 2 samples × 4 parameters; layer A = columns 0–1, layer B = column 2, layer C = column 3.
    // col 0: [1, 3] → mean|g| 2, population std 1 → 2.   col 1: [2, 2] → std 0, skipped.
    // col 2: [−1, 3] → mean|g| 2, mean 1, std 2 → 1.       col 3: [5, 5] → std 0: layer C has nothing.
    const g = [1, 2, -1, 5, 3, 2, 3, 5];
    const layers = [
      { offset: 0, size: 2 },
      { offset: 2, size: 1 },
      { offset: 3, size: 1 },
    ];
    const r = zicoScore(g, 2, 4, layers);
    expect(r.layersCounted).toBe(2);
    expect(Math.abs(r.value - (Math.log(2) + Math.log(1)))).toBeLessThan(ULPS);
  });

  it('uses the population std (ddof 0) and sums inside a layer before the log', () => {
    // 3 samples, one layer of 2 parameters.
    // col 0: [0, 0, 3] → mean|g| 1, mean 1, var (1+1+4)/3 = 2 → 1/√2.
    // col 1: [−2, 2, 2] → mean|g| 2, mean 2/3, var ((8/3)² + 2(4/3)²)/3 = 32/9 → 2/(4√2/3) = 3/(2√2).
    const r = zicoScore([0, -2, 0, 2, 3, 2], 3, 2, [{ offset: 0, size: 2 }]);
    expect(Math.abs(r.value - Math.log(1 / Math.SQRT2 + 3 / (2 * Math.SQRT2)))).toBeLessThan(ULPS);
  });

  it('rejects a layer outside the columns', () => {
    expect(() => zicoScore([1, 2], 1, 2, [{ offset: 1, size: 2 }])).toThrow(ShapeMismatchError);
  });
});

describe('metric values and failures', () => {
  it('turns a non-finite value into ERR_HNAS_NON_FINITE, never a number', () => {
    for (const v of [Number.NaN, Infinity, -Infinity]) {
      const r = metricValue('log_synflow', v);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('ERR_HNAS_NON_FINITE');
    }
    expect(metricValue('snip', 1.5, { x: true })).toEqual({ ok: true, value: 1.5, extras: { x: true } });
  });

  it('keeps an HnasError’s code and calls anything else internal', () => {
    expect(metricFailure(new NonFiniteError('bad'), 'gradient').error).toEqual({
      code: 'ERR_HNAS_NON_FINITE',
      message: 'gradient: bad',
    });
    expect(metricFailure(new TypeError('oops')).error.code).toBe('ERR_HNAS_INTERNAL');
  });
});
