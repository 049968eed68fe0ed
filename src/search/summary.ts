/**
 * Summaries of finished searches, as the paper's tables report them: the
 * chosen architecture's test accuracies and the search cost, and mean ± std
 * over seeds; plus the best-so-far trace against cost for the figures.
 */
import type { StepRecord } from './history.js';

export interface RunSummary {
  method: string;
  seed: number;
  steps: number;
  /** The chosen architecture (best validation feedback), or null when every evaluation failed. */
  arch: string | null;
  index?: number;
  /** Its validation feedback (the number the search maximised). */
  accuracy: number | null;
  /** Its report (e.g. c10_test_200, c100_test_200, in16_test_200). */
  report: Record<string, number>;
  /** Seconds of the training-based evaluations. */
  evaluationCost: number;
  /** Seconds of training-free scoring charged to the search. */
  scoringCost: number;
  /** evaluationCost + scoringCost. */
  searchCost: number;
  failedSteps: number;
}

export function summariseRun(method: string, seed: number, steps: readonly StepRecord[], scoringCost = 0): RunSummary {
  const last = steps.at(-1);
  const best = last?.bestSoFar ?? null;
  const evaluationCost = last?.cumulativeCost ?? 0;
  return {
    method,
    seed,
    steps: steps.length,
    arch: best?.candidate.arch ?? null,
    ...(best?.candidate.index !== undefined ? { index: best.candidate.index } : {}),
    accuracy: best?.accuracy ?? null,
    report: { ...(best?.report ?? {}) },
    evaluationCost,
    scoringCost,
    searchCost: evaluationCost + scoringCost,
    failedSteps: steps.filter((s) => s.error).length,
  };
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  std: number;
  n: number;
}

export function meanStd(values: readonly number[]): MeanStd | null {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

/** Per method: mean ± std over runs of the accuracy, each report column, and the costs. */
export function aggregateRuns(runs: readonly RunSummary[]): Record<string, Record<string, MeanStd | null>> {
  const out: Record<string, Record<string, MeanStd | null>> = {};
  for (const method of [...new Set(runs.map((r) => r.method))]) {
    const mine = runs.filter((r) => r.method === method);
    const columns = [...new Set(mine.flatMap((r) => Object.keys(r.report)))];
    out[method] = {
      accuracy: meanStd(mine.map((r) => r.accuracy ?? Number.NaN)),
      ...Object.fromEntries(columns.map((c) => [c, meanStd(mine.map((r) => r.report[c] ?? Number.NaN))])),
      evaluationCost: meanStd(mine.map((r) => r.evaluationCost)),
      searchCost: meanStd(mine.map((r) => r.searchCost)),
    };
  }
  return out;
}

/**
 * The best-so-far value of `column` (a report column, or 'accuracy') after
 * each step, against the cumulative search cost, averaged over runs step by
 * step (runs shorter than the longest stop contributing).
 */
export function meanTrace(runs: readonly { steps: readonly StepRecord[]; scoringCosts?: readonly number[] }[], column: string): { x: number; y: number }[] {
  const length = Math.max(0, ...runs.map((r) => r.steps.length));
  const points: { x: number; y: number }[] = [];
  for (let i = 0; i < length; i++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const run of runs) {
      const s = run.steps[i];
      if (!s || !s.bestSoFar) continue;
      const y = column === 'accuracy' ? s.bestSoFar.accuracy : s.bestSoFar.report?.[column];
      if (y === undefined) continue;
      xs.push(s.cumulativeCost + (run.scoringCosts?.[i] ?? 0));
      ys.push(y);
    }
    if (ys.length > 0) points.push({ x: xs.reduce((a, b) => a + b, 0) / xs.length, y: ys.reduce((a, b) => a + b, 0) / ys.length });
  }
  return points;
}
