/**
 * A small unconstrained minimiser for the GP's marginal-likelihood fit: a
 * handful of smooth parameters (log length-scales and log variance), where
 * L-BFGS converges in tens of iterations. Kept apart from the GP so the GP
 * module holds only the model.
 */

export type Objective = (u: Float64Array) => { value: number; gradient: Float64Array };

/**
 * Limited-memory BFGS with a backtracking Armijo line search; pairs with
 * too little curvature are skipped so the inverse-Hessian estimate stays
 * positive definite. Infinite values (a failed factorisation) backtrack.
 */
export function lbfgsMinimise(
  f: (u: Float64Array) => { value: number; gradient: Float64Array },
  u0: Float64Array,
  maxIterations: number,
  memory = 8,
): { u: Float64Array; value: number } {
  let u = u0;
  let { value, gradient: g } = f(u);
  if (!Number.isFinite(value)) return { u, value };
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  for (let iter = 0; iter < maxIterations; iter++) {
    if (maxAbs(g) < 1e-7) break;
    const q = g.slice();
    const alphas: number[] = [];
    for (let i = ss.length - 1; i >= 0; i--) {
      const a = rhos[i] * dot(ss[i], q);
      alphas[i] = a;
      axpy(-a, ys[i], q);
    }
    const last = ss.length - 1;
    const gamma = last >= 0 ? dot(ss[last], ys[last]) / dot(ys[last], ys[last]) : Math.min(1, 1 / maxAbs(g));
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
    for (let i = 0; i < ss.length; i++) axpy(alphas[i] - rhos[i] * dot(ys[i], q), ss[i], q);
    let dir = q.map((v) => -v);
    let slope = dot(dir, g);
    if (!(slope < 0)) {
      // Not a descent direction: forget the curvature pairs and take a scaled steepest step.
      ss.length = 0;
      ys.length = 0;
      rhos.length = 0;
      const s = Math.min(1, 1 / maxAbs(g));
      dir = g.map((v) => -s * v);
      slope = dot(dir, g);
    }
    let step = 1;
    let next: { value: number; gradient: Float64Array } | undefined;
    let uNext = u;
    for (let ls = 0; ls < 40; ls++) {
      uNext = u.map((v, i) => v + step * dir[i]);
      const trial = f(uNext);
      if (Number.isFinite(trial.value) && trial.value <= value + 1e-4 * step * slope) {
        next = trial;
        break;
      }
      step *= 0.5;
    }
    if (next === undefined) break;
    const s = uNext.map((v, i) => v - u[i]);
    const yv = next.gradient.map((v, i) => v - g[i]);
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (ss.length === memory) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
      ss.push(s);
      ys.push(yv);
      rhos.push(1 / sy);
    }
    const decrease = value - next.value;
    u = uNext;
    value = next.value;
    g = next.gradient;
    if (decrease <= 1e-12 * Math.max(1, Math.abs(value))) break;
  }
  return { u, value };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}
