/** The seeded generator: deterministic, distinct per seed and stream, and statistically sane. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/spaces/rng.js';

describe('Rng', () => {
  it('is deterministic per (seed, stream) and differs across them', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(43)));
    const d = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42, 7)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(d);
    expect(new Rng(0).next()).not.toBe(new Rng(2 ** 32).next());
  });

  it('gives uniform [0, 1) and standard normal values', () => {
    const r = new Rng(7);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let lo = 1;
    let hi = 0;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.next();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      buckets[Math.floor(u * 10)]++;
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // χ² with 9 degrees of freedom: 27.9 is the 0.999 quantile.
    const chi2 = buckets.reduce((acc, c) => acc + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(27.9);
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.01);
  });

  it('int(n) covers [0, n) and rejects bad n', () => {
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(7));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => r.int(0)).toThrow(RangeError);
  });
});
