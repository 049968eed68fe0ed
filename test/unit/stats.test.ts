/**
 * Rank correlations and least-squares fits against values worked out by hand
 * and against scipy; Knight's O(n log n) Kendall against a naive O(n²) count.
 *
 * scipy references: Debian's python3-scipy 1.10.1 under /usr/bin/python3, with
 * `scipy.stats.pearsonr(x, y)[0]`, `spearmanr(x, y)[0]`, `kendalltau(x, y)[0]`
 * (variant 'b'), `rankdata(x)`, and `linregress` (intercept, slope,
 * rvalue**2; for the log-log case on np.log of the positive pairs), printed
 * with repr() and pasted here.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { Rng } from '../../src/spaces/rng.js';
import {
  type Correlation,
  kendall,
  linearFit,
  logLogFit,
  pairwiseFinite,
  pearson,
  rank,
  spearman,
} from '../../src/stats/index.js';
import { expectAllClose } from '../helpers/allClose.js';

// Tolerances: every coefficient is a few sums of ≤ 20,000 doubles, so agreement
// is to rounding; 1e-12 absolute leaves three orders of magnitude over it.
const TOL = { atol: 1e-12, rtol: 0 };

function value(c: Correlation): number {
  if (!c.ok) throw new Error(`correlation undefined: ${c.reason}`);
  return c.value;
}

/** tau-b by definition: every pair classified, O(n²). */
function naiveKendall(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  let tx = 0;
  let ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[i] - x[j]);
      const dy = Math.sign(y[i] - y[j]);
      s += dx * dy;
      if (dx === 0) tx++;
      if (dy === 0) ty++;
    }
  }
  const n0 = (n * (n - 1)) / 2;
  return s / Math.sqrt((n0 - tx) * (n0 - ty));
}

// 12 pairs with ties on both sides, and pairs tied in x and y together: (0.5, 4.0) twice.
const X12 = [3.1, 0.5, 2.2, 2.2, 7.0, -1.4, 4.8, 2.2, 0.5, 6.3, 5.0, -0.2];
const Y12 = [10.0, 4.0, 7.5, 9.0, 13.0, 1.0, 7.5, 6.0, 4.0, 20.0, 7.5, 3.0];

describe('rank', () => {
  it('gives 1-based ranks with ties averaged', () => {
    // 5 < 10 < 20 = 20 = 20: the three 20s share ranks 3, 4, 5 → 4.
    expect(Array.from(rank([10, 20, 20, 5, 20]))).toEqual([2, 4, 4, 1, 4]);
    expect(Array.from(rank([]))).toEqual([]);
    expect(Array.from(rank([7]))).toEqual([1]);
  });

  it('matches scipy rankdata', () => {
    expect(Array.from(rank(X12))).toEqual([8, 3.5, 6, 6, 12, 1, 9, 6, 3.5, 11, 10, 2]);
    expect(Array.from(rank(Y12))).toEqual([10, 3.5, 7, 9, 11, 1, 7, 5, 3.5, 12, 7, 2]);
  });

  it('rejects non-finite values', () => {
    expect(() => rank([1, Number.NaN])).toThrow(InvalidArgumentError);
  });
});

describe('pearson / spearman / kendall', () => {
  it('hand-checked example without ties', () => {
    const x = [1, 2, 3, 4, 5];
    const y = [2, 1, 4, 3, 5];
    // Spearman: d = (−1, 1, −1, 1, 0), Σd² = 4, ρ = 1 − 6·4 / (5·24) = 0.8.
    // y is its own rank vector, so Pearson is the same 0.8.
    // Kendall: of 10 pairs, (1,2) and (3,4) are discordant: τ = (8 − 2) / 10 = 0.6.
    expect(value(spearman(x, y))).toBeCloseTo(0.8, 14);
    expect(value(pearson(x, y))).toBeCloseTo(0.8, 14);
    expect(value(kendall(x, y))).toBeCloseTo(0.6, 14);
    expect(kendall(x, y).n).toBe(5);
  });

  it('hand-checked example with a tie in x', () => {
    const x = [1, 2, 2, 3];
    const y = [1, 3, 2, 4];
    // Kendall tau-b: 5 concordant pairs, 0 discordant, the pair (2,3) tied in x:
    // n₀ = 6, n₁ = 1, n₂ = 0 → 5 / √(5·6) = 0.912870929175277 (scipy agrees).
    expect(value(kendall(x, y))).toBeCloseTo(5 / Math.sqrt(30), 14);
    // Spearman: ranks x = (1, 2.5, 2.5, 4), y = (1, 3, 2, 4); Sxy = 4.5, Sxx = 4.5,
    // Syy = 5 → 4.5 / √22.5 = 3/√10 = 0.9486832980505139 (scipy agrees).
    expect(value(spearman(x, y))).toBeCloseTo(3 / Math.sqrt(10), 14);
  });

  it('matches scipy on data with ties', () => {
    expectAllClose([value(pearson(X12, Y12))], [0.8445210318311668], TOL, 'pearson');
    expectAllClose([value(spearman(X12, Y12))], [0.8932384341637012], TOL, 'spearman');
    expectAllClose([value(kendall(X12, Y12))], [0.7903225806451613], TOL, 'kendall');
  });

  it('is exactly ±1 for perfectly (anti-)monotone data', () => {
    const x = [0.1, 0.5, 2, 8, 100, 1e4];
    const up = x.map((v) => Math.exp(v / 1000) * 3 + v); // monotone increasing, not linear
    const down = up.map((v) => -v);
    for (const f of [spearman, kendall]) {
      expect(value(f(x, up))).toBe(1);
      expect(value(f(x, down))).toBe(-1);
    }
    expect(value(pearson([1, 2, 3, 4], [3, 5, 7, 9]))).toBeCloseTo(1, 15);
    expect(value(pearson([1, 2, 3, 4], [9, 7, 5, 3]))).toBeCloseTo(-1, 15);
  });

  it('is symmetric in its arguments', () => {
    for (const f of [pearson, spearman, kendall]) {
      expectAllClose([value(f(Y12, X12))], [value(f(X12, Y12))], TOL, f.name);
    }
  });

  it('reports a constant side as undefined, not NaN', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toEqual({ ok: false, reason: 'constant_x', n: 3 });
    expect(kendall([1, 2, 3], [4, 4, 4])).toEqual({ ok: false, reason: 'constant_y', n: 3 });
    expect(pearson([2, 2, 2], [4, 4, 4])).toEqual({ ok: false, reason: 'constant_xy', n: 3 });
  });

  it('throws InvalidArgumentError on bad input', () => {
    for (const f of [pearson, spearman, kendall]) {
      expect(() => f([1, 2, 3], [1, 2])).toThrow(InvalidArgumentError);
      expect(() => f([1, 2], [1, 2])).toThrow(/at least 3/);
      expect(() => f([1, Number.NaN, 3], [1, 2, 3])).toThrow(InvalidArgumentError);
      expect(() => f([1, 2, 3], [1, Number.POSITIVE_INFINITY, 3])).toThrow(InvalidArgumentError);
    }
  });

  it('Knight O(n log n) Kendall equals the naive O(n²) count on random data with ties', () => {
    const rng = new Rng(20_250);
    const cases = [
      { n: 3, levels: 2 },
      { n: 17, levels: 4 },
      { n: 500, levels: 10 }, // heavy ties on both sides
      { n: 2000, levels: 50 },
      { n: 2000, levels: 0 }, // continuous: no ties
      { n: 3001, levels: 3 }, // odd length, very heavy ties
    ];
    for (const { n, levels } of cases) {
      for (let rep = 0; rep < 3; rep++) {
        const x = new Float64Array(n);
        const y = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          x[i] = levels > 0 ? rng.int(levels) : rng.normal();
          // Correlated with x so that τ is away from 0; ties in y from rounding.
          const t = x[i] + 2 * rng.normal();
          y[i] = levels > 0 ? Math.round(t) : t;
        }
        if (new Set(x).size < 2 || new Set(y).size < 2) continue;
        expectAllClose([value(kendall(x, y))], [naiveKendall(x, y)], TOL, `kendall n=${n} levels=${levels}`);
      }
    }
  });

  it('Kendall handles a whole NB201-sized column (15,625 values)', () => {
    const rng = new Rng(7);
    const n = 15_625;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.round(rng.normal() * 100) / 10; // ~100 distinct levels
      y[i] = x[i] + rng.normal();
    }
    expectAllClose([value(kendall(x, y))], [naiveKendall(x, y)], TOL, 'kendall n=15625');
  });
});

describe('pairwiseFinite', () => {
  it('drops pairs with null, undefined, NaN or ±Infinity on either side', () => {
    const x = [1, null, 3, 4, Number.NaN, 6, 7, undefined];
    const y = [10, 20, Number.POSITIVE_INFINITY, 40, 50, Number.NEGATIVE_INFINITY, 70, 80];
    const p = pairwiseFinite(x, y);
    expect(Array.from(p.x)).toEqual([1, 4, 7]);
    expect(Array.from(p.y)).toEqual([10, 40, 70]);
    expect(Array.from(p.kept)).toEqual([0, 3, 6]);
    expect(p.dropped).toBe(5);
  });

  it('keeps everything when all values are finite, and rejects a length mismatch', () => {
    const p = pairwiseFinite(X12, Y12);
    expect(p.dropped).toBe(0);
    expect(Array.from(p.x)).toEqual(X12);
    expect(() => pairwiseFinite([1, 2], [1])).toThrow(InvalidArgumentError);
  });
});

describe('linearFit / logLogFit', () => {
  it('recovers an exact line', () => {
    const f = linearFit([0, 1, 2, 3], [1, 3, 5, 7]);
    expectAllClose([f.a, f.b, f.r2], [1, 2, 1], TOL, 'fit');
    expect(f.n).toBe(4);
  });

  it('hand-checked fit with residuals', () => {
    // x̄ = 2, ȳ = 5/3; Sxy = 1, Sxx = 2 → b = 1/2, a = 5/3 − 1 = 2/3.
    // Residuals (−1/6, 1/3, −1/6): SS_res = 1/6; SS_tot = 2/3 → R² = 1 − 1/4 = 0.75.
    const f = linearFit([1, 2, 3], [1, 2, 2]);
    expectAllClose([f.a, f.b, f.r2], [2 / 3, 0.5, 0.75], TOL, 'fit');
  });

  it('matches scipy linregress', () => {
    const f = linearFit(X12, Y12);
    expectAllClose(
      [f.a, f.b, f.r2],
      [3.3570840732879965, 1.621583575172175, 0.7132157732051786],
      TOL,
      'linregress',
    );
  });

  it('gives R² = 1 for a constant y (the line is exact)', () => {
    const f = linearFit([1, 2, 3], [5, 5, 5]);
    expect([f.a, f.b, f.r2]).toEqual([5, 0, 1]);
  });

  it('log-log: recovers a power law and counts the non-positive pairs dropped', () => {
    // y = 3·x² on the positive pairs; (0, 5), (−1, 2) and (3, −1) have no logarithm.
    const f = logLogFit([1, 2, 4, 8, 0, -1, 3], [3, 12, 48, 192, 5, 2, -1]);
    expectAllClose([f.a, f.b, f.r2], [Math.log(3), 2, 1], TOL, 'loglog');
    expect(f.n).toBe(4);
    expect(f.droppedNonPositive).toBe(3);
  });

  it('log-log matches scipy linregress on np.log of the positive pairs', () => {
    const x = [0.5, 1.5, 3.0, 10.0, 40.0, 0.0, -2.0, 7.0];
    const y = [0.3, 2.0, 8.5, 95.0, 1500.0, 4.0, 1.0, -3.0];
    const f = logLogFit(x, y);
    expectAllClose(
      [f.a, f.b, f.r2],
      [0.03098876150275398, 1.9612790017478277, 0.9991518793834646],
      TOL,
      'loglog linregress',
    );
    expect([f.n, f.droppedNonPositive]).toEqual([5, 3]);
  });

  it('throws InvalidArgumentError on bad input', () => {
    expect(() => linearFit([1, 2], [1])).toThrow(InvalidArgumentError);
    expect(() => linearFit([1], [1])).toThrow(/at least 2/);
    expect(() => linearFit([2, 2, 2], [1, 2, 3])).toThrow(/x values are equal/);
    expect(() => linearFit([1, Number.NaN], [1, 2])).toThrow(InvalidArgumentError);
    expect(() => logLogFit([1, 2, 3], [1, Number.POSITIVE_INFINITY, 3])).toThrow(InvalidArgumentError);
    expect(() => logLogFit([1, 0, -1], [1, 2, 3])).toThrow(/2 non-positive pairs dropped/);
  });
});
