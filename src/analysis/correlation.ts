/**
 * How well each training-free metric ranks architectures: signed Spearman
 * and Kendall (tau-b) of every metric column against a NAS-Bench-201
 * ground-truth column, over the architectures where the metric succeeded.
 */
import { InvalidArgumentError } from '../errors.js';
import { isMetricId, METRICS } from '../metrics/registry.js';
import { metricColumn, type ScoreTable } from '../score/scoreFile.js';
import { isNb201Column, loadNb201Table, type Nb201Column, type Nb201Table } from '../spaces/nb201/benchmarkTable.js';
import { MIN_CORRELATION_PAIRS, kendall, pairwiseFinite, spearman, type Correlation } from '../stats/index.js';

/** Truth columns offered by `hnas correlate` (any numeric NB201 column is accepted). */
export const TRUTH_COLUMNS = ['c10_test_200', 'c100_test_200', 'in16_test_200', 'c10v_valid_12'] as const;

/**
 * Published signed Spearman ρ against CIFAR-10 test accuracy on NAS-Bench-201:
 * Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021,
 * Table 1 (all 15,625 cells); naswot from Mellor et al., ICML 2021 (≈0.78).
 */
export const PUBLISHED_SPEARMAN_C10: Readonly<Partial<Record<string, number>>> = Object.freeze({
  grad_norm: 0.59,
  snip: 0.6,
  grasp: 0.51,
  synflow: 0.74,
  jacob_cov: 0.73,
  naswot: 0.78,
});

export interface MetricCorrelation {
  metric: string;
  /** Architectures with a finite value of the metric and of the truth. */
  n: number;
  /** Architectures left out (metric failed or missing). */
  dropped: number;
  spearman: number | null;
  kendall: number | null;
  /** Why a coefficient is undefined (a constant column), when it is. */
  undefinedReason?: string;
  published?: number;
  higherIsBetter?: boolean;
}

export interface CorrelationReport {
  truth: string;
  architectures: number;
  rows: MetricCorrelation[];
}

/** The truth value of each score row (NB201 only): by the row's index, else its architecture string. */
export function truthColumn(table: ScoreTable, truth: Nb201Column, nb201: Nb201Table = loadNb201Table()): number[] {
  return table.rows.map((r, i) => {
    if (r.space !== 'nb201') throw new InvalidArgumentError(`row ${i + 1} is from space "${r.space}"; ground truth exists for nb201 rows only`);
    const index = r.index ?? nb201.indexOf(r.arch);
    return nb201.row(index)[truth];
  });
}

const value = (c: Correlation): number | null => (c.ok ? c.value : null);

export function correlateMetrics(table: ScoreTable, truth: string, metrics: readonly string[] = table.metrics): CorrelationReport {
  if (!isNb201Column(truth)) throw new InvalidArgumentError(`unknown ground-truth column "${truth}" (e.g. ${TRUTH_COLUMNS.join(', ')})`);
  const y = truthColumn(table, truth);
  const rows = metrics.map((metric): MetricCorrelation => {
    if (!table.metrics.includes(metric)) throw new InvalidArgumentError(`metric "${metric}" is not in the scores (have: ${table.metrics.join(', ')})`);
    const pairs = pairwiseFinite(metricColumn(table, metric), y);
    const known = isMetricId(metric) ? { higherIsBetter: METRICS[metric].higherIsBetter } : {};
    const published = truth === 'c10_test_200' ? PUBLISHED_SPEARMAN_C10[metric] : undefined;
    const base = { metric, n: pairs.x.length, dropped: pairs.dropped, ...known, ...(published !== undefined ? { published } : {}) };
    if (pairs.x.length < MIN_CORRELATION_PAIRS) return { ...base, spearman: null, kendall: null, undefinedReason: 'too_few_pairs' };
    const s = spearman(pairs.x, pairs.y);
    const k = kendall(pairs.x, pairs.y);
    return { ...base, spearman: value(s), kendall: value(k), ...(!s.ok ? { undefinedReason: s.reason } : {}) };
  });
  return { truth, architectures: table.rows.length, rows };
}
