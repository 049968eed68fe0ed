/**
 * The theory as numbers (HNAS, Shu et al. 2022, §3–4): every gradient-based
 * metric is bounded by the NTK trace norm M = sqrt(tr Θ / N). With the
 * per-sample loss gradient g_i = Σ_k (∂ℓ/∂f_k) ∇f_k(x_i) and
 * β ≥ ‖∂ℓ/∂f‖₂ (√2 for softmax cross-entropy):
 *   grad_norm_global = ‖(1/N) Σ_i g_i‖ ≤ β·M
 *   grad_norm = Σ_l ‖∇_l L‖ ≤ √L·‖∇L‖ ≤ √L·β·M        (Cauchy–Schwarz over L layers)
 *   snip = Σ|θ ⊙ ∇L| ≤ ‖θ₀‖·‖∇L‖ ≤ β‖θ₀‖·M
 *   |plain| = |θᵀ∇L| ≤ β‖θ₀‖·M
 *   knas = ‖∇L‖² ≤ β²·M²
 * hnas's M is built from the true-class logit's gradients (as HNAS and NASI
 * compute it); the rigorous bound uses the trace over all logits, which is
 * larger, so a ratio above 1 would show where the true-class proxy is loose.
 * This module evaluates the ratios, the log–log fit of each metric against M,
 * the rank-correlation matrix between metrics, and the HNAS objective
 * μ·|M² − ν| + κ/(M + 1e-6).
 */
import { InvalidArgumentError } from '../errors.js';
import { metricColumn, type ScoreRecord, type ScoreTable } from '../score/scoreFile.js';
import { hybridObjective } from '../search/hybrid/objective.js';
import { kendall, logLogFit, pairwiseFinite, spearman } from '../stats/index.js';

export const CROSS_ENTROPY_BETA = Math.SQRT2;

/** The metrics with a bound in terms of M, and the bound's factor in front of M (or M² for knas). */
export const BOUNDED_METRICS = ['grad_norm_global', 'grad_norm', 'snip', 'plain', 'knas'] as const;
export type BoundedMetric = (typeof BOUNDED_METRICS)[number];

/** The bound of `metric` for one row, or null when a needed quantity is missing. */
export function boundOf(metric: BoundedMetric, row: ScoreRecord, beta: number): number | null {
  const m = row.metrics.ntk_trace;
  if (typeof m !== 'number' || !Number.isFinite(m) || row.errors?.ntk_trace) return null;
  const extra = (id: string, key: string): number | null => {
    const v = row.extras?.[id]?.[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  switch (metric) {
    case 'grad_norm_global':
      return beta * m;
    case 'knas':
      return beta * beta * m * m;
    case 'grad_norm': {
      const layers = extra('grad_norm', 'weight_layers');
      return layers === null ? null : Math.sqrt(layers) * beta * m;
    }
    case 'snip':
    case 'plain': {
      const norm = extra(metric, 'weight_norm');
      return norm === null ? null : beta * norm * m;
    }
  }
}

export interface BoundCheck {
  metric: BoundedMetric;
  /** Rows where both the metric and its bound are known. */
  n: number;
  /** Rows where metric ≤ bound (|plain| for plain). */
  holds: number;
  /** Largest metric / bound over the rows: ≤ 1 when the bound holds everywhere. */
  maxRatio: number | null;
  medianRatio: number | null;
  /** The architecture with the largest ratio. */
  worstArch: string | null;
}

export function checkBounds(table: ScoreTable, beta = CROSS_ENTROPY_BETA, metrics: readonly BoundedMetric[] = BOUNDED_METRICS): BoundCheck[] {
  if (!(beta > 0) || !Number.isFinite(beta)) throw new InvalidArgumentError(`beta must be a positive number, got ${beta}`);
  return metrics
    .filter((metric) => table.metrics.includes(metric))
    .map((metric) => {
      const column = metricColumn(table, metric);
      const ratios: { ratio: number; arch: string }[] = [];
      table.rows.forEach((row, i) => {
        const v = column[i];
        const bound = boundOf(metric, row, beta);
        if (v === null || bound === null) return;
        const lhs = metric === 'plain' ? Math.abs(v) : v;
        ratios.push({ ratio: bound > 0 ? lhs / bound : lhs === 0 ? 0 : Infinity, arch: row.arch });
      });
      const sorted = ratios.map((r) => r.ratio).sort((a, b) => a - b);
      const worst = ratios.reduce<{ ratio: number; arch: string } | null>((w, r) => (w === null || r.ratio > w.ratio ? r : w), null);
      return {
        metric,
        n: ratios.length,
        holds: ratios.filter((r) => r.ratio <= 1).length,
        maxRatio: worst?.ratio ?? null,
        medianRatio: sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null,
        worstArch: worst?.arch ?? null,
      };
    });
}

export interface TraceFit {
  metric: string;
  /** log M_metric = a + b·log ntk_trace, natural logs, on positive pairs. */
  a: number;
  b: number;
  r2: number;
  n: number;
}

/** The log–log fit of each metric against ntk_trace (metrics with fewer than 3 positive pairs are left out). */
export function fitAgainstTrace(table: ScoreTable, metrics: readonly string[]): TraceFit[] {
  const trace = metricColumn(table, 'ntk_trace');
  const fits: TraceFit[] = [];
  for (const metric of metrics) {
    if (metric === 'ntk_trace') continue;
    const pairs = pairwiseFinite(trace, metricColumn(table, metric));
    const positive = Array.from(pairs.x.keys()).filter((i) => pairs.x[i] > 0 && pairs.y[i] > 0);
    if (positive.length < 3) continue;
    const fit = logLogFit(pairs.x, pairs.y);
    fits.push({ metric, a: fit.a, b: fit.b, r2: fit.r2, n: fit.n });
  }
  return fits;
}

export interface CorrelationMatrix {
  metrics: string[];
  spearman: (number | null)[][];
  kendall: (number | null)[][];
}

/** Pairwise rank correlations between metrics, each pair over the rows where both are finite. */
export function metricCorrelationMatrix(table: ScoreTable, metrics: readonly string[]): CorrelationMatrix {
  const columns = metrics.map((m) => metricColumn(table, m));
  const n = metrics.length;
  const s: (number | null)[][] = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
  const k: (number | null)[][] = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const pairs = pairwiseFinite(columns[i], columns[j]);
      if (pairs.x.length < 3) continue;
      const rs = spearman(pairs.x, pairs.y);
      const rk = kendall(pairs.x, pairs.y);
      s[i][j] = s[j][i] = rs.ok ? rs.value : null;
      k[i][j] = k[j][i] = rk.ok ? rk.value : null;
    }
  }
  return { metrics: [...metrics], spearman: s, kendall: k };
}

/** HNAS objective (lower is better): μ·|M² − ν| + κ/(M + 1e-6). */
export function hnasObjective(m: number, kappa: number, mu: number, nu: number): number {
  return hybridObjective(m, kappa, { mu, nu });
}

export interface ObjectiveRow {
  arch: string;
  index?: number;
  objective: number;
}

/**
 * κ of a row, or null when Θ is singular: the metric failed, the row's
 * extras flag it `singular`, or the value is not a positive finite number
 * (files written before the flag existed carry λmax/λmin of rounding noise,
 * which can be negative). A singular Θ has an unbounded condition number.
 */
export function conditionOf(row: ScoreRecord, metricId = 'ntk_cond'): number | null {
  const v = row.metrics[metricId];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || row.errors?.[metricId]) return null;
  return row.extras?.[metricId]?.singular === true ? null : v;
}

/**
 * The objective of every row with finite M (metric `metricId`, default
 * ntk_trace) and a regular Θ (see conditionOf); singular rows are left out,
 * their objective being +∞. Sorted best first.
 */
export function objectiveTable(table: ScoreTable, mu: number, nu: number, metricId = 'ntk_trace'): ObjectiveRow[] {
  if (!Number.isFinite(mu) || mu < 0) throw new InvalidArgumentError(`mu must be a finite number >= 0, got ${mu}`);
  if (!Number.isFinite(nu) || nu < 0) throw new InvalidArgumentError(`nu must be a finite number >= 0, got ${nu}`);
  const m = metricColumn(table, metricId);
  const out: ObjectiveRow[] = [];
  table.rows.forEach((row, i) => {
    const mi = m[i];
    const ki = conditionOf(row);
    if (mi === null || ki === null) return;
    out.push({ arch: row.arch, ...(row.index !== undefined ? { index: row.index } : {}), objective: hnasObjective(mi, ki, mu, nu) });
  });
  return out.sort((a, b) => a.objective - b.objective);
}
