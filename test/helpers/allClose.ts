/**
 * The one numeric comparison of the test suite: |a − e| ≤ atol + rtol·|e| per
 * element, reporting the worst element when it fails.
 */
export interface Tolerance {
  atol?: number;
  rtol?: number;
}

export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 0, rtol = 0 }: Tolerance,
  what = 'value',
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} differs from expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (Number.isNaN(a) !== Number.isNaN(e) || excess > worstExcess || Number.isNaN(excess)) {
      if (Number.isNaN(a) && Number.isNaN(e)) continue;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      worst = i;
    }
  }
  if (worst >= 0 && worstExcess > 0) {
    const a = actual[worst];
    const e = expected[worst];
    throw new Error(
      `${what}: element ${worst} is ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(3)} > ` +
        `atol ${atol} + rtol ${rtol}·|e| = ${(atol + rtol * Math.abs(e)).toExponential(3)})`,
    );
  }
}

/** Relative difference |a − e| / |e| of two scalars (|e| = 0: |a|). */
export function relDiff(a: number, e: number): number {
  return e === 0 ? Math.abs(a) : Math.abs(a - e) / Math.abs(e);
}

/** max|a − e| / max|e| over arrays, the fixtures' logit measure. */
export function maxRelToMax(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < e.length; i++) {
    d = Math.max(d, Math.abs(a[i] - e[i]));
    m = Math.max(m, Math.abs(e[i]));
  }
  return d / m;
}

/** max |a_i| (spread-free: safe for arrays of millions). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
