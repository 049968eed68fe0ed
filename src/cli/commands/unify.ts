/**
 * `hnas unify`: the paper's unification as a tool, over scored architectures.
 *  (a) each gradient-based metric against the NTK trace norm: the bound
 *      ratios (metric / bound ≤ 1) and the log–log fit with its R²;
 *  (b) the Spearman/Kendall matrix between metrics;
 *  (c) the HNAS objective μ·|M² − ν| + κ/M for given μ, ν: the best
 *      architectures under it (and, on NB201, its rank correlation with the
 *      ground truth).
 * Tables print as text, JSON or CSV; --svg-dir writes the scatter grid and
 * the correlation heat map.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { truthColumn } from '../../analysis/correlation.js';
import {
  BOUNDED_METRICS,
  CROSS_ENTROPY_BETA,
  checkBounds,
  fitAgainstTrace,
  metricCorrelationMatrix,
  objectiveTable,
  type BoundCheck,
  type CorrelationMatrix,
  type ObjectiveRow,
  type TraceFit,
} from '../../analysis/unification.js';
import { fillWeightNormExtras } from '../../analysis/weightNorms.js';
import { InvalidArgumentError } from '../../errors.js';
import { METRICS, isMetricId } from '../../metrics/registry.js';
import { heatmapSvg, scatterGridSvg, writeSvgAtomic, type ScatterPanel } from '../../plot/index.js';
import { metricColumn, readScoreFiles, type ScoreTable } from '../../score/scoreFile.js';
import { pairwiseFinite, spearman } from '../../stats/index.js';
import { choiceOption } from '../options.js';
import { formatCsv, formatTable, type Cell } from '../tableFormat.js';

interface UnifyOptions {
  scores: string[];
  metrics?: string;
  beta: number;
  mu: number;
  nu: number;
  top: number;
  format: 'table' | 'json' | 'csv';
  svgDir?: string;
}

export interface UnifyReport {
  architectures: number;
  beta: number;
  bounds: BoundCheck[];
  fits: TraceFit[];
  correlations: CorrelationMatrix;
  objective: { mu: number; nu: number; evaluated: number; best: ObjectiveRow[]; spearmanWithC10?: number | null };
}

function positiveNumber(name: string, allowZero: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${value}"`);
    }
    return n;
  };
}

/** Metrics to analyse: the gradient-based ones present (plus ntk_cond), unless the user lists them. */
function chooseMetrics(table: ScoreTable, listed?: string): string[] {
  if (!table.metrics.includes('ntk_trace')) throw new InvalidArgumentError('the scores have no ntk_trace column: score with --metrics ntk_trace,... first');
  if (listed) {
    const ids = listed.split(',').map((m) => m.trim()).filter((m) => m !== '');
    for (const id of ids) if (!table.metrics.includes(id)) throw new InvalidArgumentError(`metric "${id}" is not in the scores`);
    return ids;
  }
  return table.metrics.filter((m) => m === 'ntk_cond' || (isMetricId(m) && METRICS[m].gradientBased));
}

export function unifyAnalysis(table: ScoreTable, metrics: string[], o: Pick<UnifyOptions, 'beta' | 'mu' | 'nu' | 'top'>): UnifyReport {
  const objectives = table.metrics.includes('ntk_cond') ? objectiveTable(table, o.mu, o.nu) : [];
  const report: UnifyReport = {
    architectures: table.rows.length,
    beta: o.beta,
    bounds: checkBounds(table, o.beta, BOUNDED_METRICS.filter((m) => metrics.includes(m))),
    fits: fitAgainstTrace(table, metrics),
    correlations: metricCorrelationMatrix(table, metrics.includes('ntk_trace') ? metrics : ['ntk_trace', ...metrics]),
    objective: { mu: o.mu, nu: o.nu, evaluated: objectives.length, best: objectives.slice(0, o.top) },
  };
  if (objectives.length >= 3 && table.rows.every((r) => r.space === 'nb201')) {
    const byArch = new Map(objectives.map((r) => [r.arch, r.objective]));
    const truth = truthColumn(table, 'c10_test_200');
    const pairs = pairwiseFinite(table.rows.map((r) => (byArch.has(r.arch) ? -byArch.get(r.arch)! : null)), truth);
    const rho = spearman(pairs.x, pairs.y);
    report.objective.spearmanWithC10 = rho.ok ? rho.value : null;
  }
  return report;
}

function printReport(r: UnifyReport, format: 'table' | 'csv'): void {
  const out = (header: string[], rows: Cell[][], digits = 4) => console.log(format === 'csv' ? formatCsv(header, rows) : formatTable(header, rows, digits));
  const section = (title: string) => console.log(format === 'csv' ? `# ${title}` : `\n${title}`);
  section(`(a) bounds by the NTK trace norm M (β = ${r.beta.toPrecision(4)}; holds = rows with metric ≤ bound)`);
  out(['metric', 'bound', 'n', 'holds', 'max_ratio', 'median_ratio', 'worst_arch'],
    r.bounds.map((b) => [b.metric, BOUND_TEXT[b.metric], b.n, b.holds, b.maxRatio, b.medianRatio, b.worstArch]));
  section('(a) log metric = a + b·log M (natural logs, positive values)');
  out(['metric', 'a', 'b', 'r2', 'n'], r.fits.map((f) => [f.metric, f.a, f.b, f.r2, f.n]));
  section('(b) Spearman between metrics');
  out(['metric', ...r.correlations.metrics], r.correlations.metrics.map((m, i) => [m, ...r.correlations.spearman[i]]), 3);
  section(`(c) HNAS objective μ·|M² − ν| + κ/M, μ = ${r.objective.mu}, ν = ${r.objective.nu}: best ${r.objective.best.length} of ${r.objective.evaluated}` +
    (r.objective.spearmanWithC10 !== undefined ? ` (Spearman of −objective with c10_test_200: ${r.objective.spearmanWithC10?.toFixed(3) ?? 'undefined'})` : ''));
  out(['rank', 'index', 'arch', 'objective'], r.objective.best.map((b, i) => [i + 1, b.index, b.arch, b.objective]));
}

const BOUND_TEXT: Record<string, string> = {
  grad_norm_global: 'β·M',
  grad_norm: '√L·β·M',
  snip: 'β·‖θ₀‖·M',
  plain: 'β·‖θ₀‖·M (|plain|)',
  knas: 'β²·M²',
};

async function writeFigures(table: ScoreTable, r: UnifyReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const trace = metricColumn(table, 'ntk_trace');
  const panels: ScatterPanel[] = r.fits.map((fit) => {
    const pairs = pairwiseFinite(trace, metricColumn(table, fit.metric));
    const points = Array.from(pairs.x, (x, i) => ({ x, y: pairs.y[i] })).filter((p) => p.x > 0 && p.y > 0);
    const bound =
      fit.metric === 'grad_norm_global' ? { slope: 1, intercept: Math.log(r.beta), label: 'bound β·M' }
      : fit.metric === 'knas' ? { slope: 2, intercept: 2 * Math.log(r.beta), label: 'bound β²·M²' }
      : undefined;
    return {
      points,
      title: `${fit.metric}: b = ${fit.b.toFixed(2)}, R² = ${fit.r2.toFixed(3)}`,
      xTitle: 'ntk_trace M',
      yTitle: fit.metric,
      logX: true,
      logY: true,
      line: { a: fit.a, b: fit.b, label: 'log-log fit' },
      ...(bound ? { bound } : {}),
    };
  });
  const written: string[] = [];
  if (panels.length > 0) {
    const path = join(dir, 'unify-scatter.svg');
    await writeSvgAtomic(path, await scatterGridSvg({ panels, title: `Metrics against the NTK trace norm (${r.architectures} architectures)` }));
    written.push(path);
  }
  const heat = join(dir, 'unify-correlation.svg');
  await writeSvgAtomic(heat, await heatmapSvg({ labels: r.correlations.metrics, matrix: r.correlations.spearman, title: 'Spearman rank correlation between metrics', valueTitle: 'Spearman' }));
  written.push(heat);
  return written;
}

export function unifyCommand(): Command {
  return new Command('unify')
    .description('the unification as a tool: bounds by the NTK trace norm, log-log fits, metric correlations, the HNAS objective')
    .requiredOption('--scores <files...>', 'JSONL files written by hnas score (need ntk_trace; ntk_cond for the objective)')
    .option('-m, --metrics <list>', 'metrics to analyse (default: the gradient-based ones in the files, and ntk_cond)')
    .option('--beta <β>', 'bound on ‖∂ℓ/∂f‖₂ (√2 for softmax cross-entropy)', positiveNumber('--beta', false), CROSS_ENTROPY_BETA)
    .option('--mu <μ>', 'HNAS objective μ', positiveNumber('--mu', true), 1)
    .option('--nu <ν>', 'HNAS objective ν', positiveNumber('--nu', true), 0)
    .option('--top <k>', 'best architectures to list under the objective', positiveNumber('--top', false), 10)
    .option('--format <format>', 'table | json | csv', choiceOption('--format', ['table', 'json', 'csv'] as const), 'table')
    .option('--svg-dir <dir>', 'write unify-scatter.svg (metrics vs M) and unify-correlation.svg (heat map) here')
    .action(async (o: UnifyOptions) => {
      const table = await readScoreFiles(o.scores);
      const metrics = chooseMetrics(table, o.metrics);
      const rebuilt = fillWeightNormExtras(table);
      if (rebuilt > 0) console.error(`hnas: rebuilt ${rebuilt} networks for ‖θ₀‖ (rows scored before snip/plain/grad_norm recorded it)`);
      const report = unifyAnalysis(table, metrics, o);
      if (o.format === 'json') console.log(JSON.stringify(report, null, 2));
      else printReport(report, o.format);
      if (o.svgDir) {
        const written = await writeFigures(table, report, o.svgDir);
        console.error(`wrote ${written.join(', ')}`);
      }
    });
}
