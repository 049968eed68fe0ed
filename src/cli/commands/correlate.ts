/**
 * `hnas correlate`: signed Spearman and Kendall of each scored metric against
 * NAS-Bench-201 ground truth (the bundled table), with the published values
 * beside them for CIFAR-10, and a scatter plot per metric on request.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { TRUTH_COLUMNS, correlateMetrics, truthColumn, type CorrelationReport } from '../../analysis/correlation.js';
import { InvalidArgumentError } from '../../errors.js';
import { metricColumn, readScoreFiles, type ScoreTable } from '../../score/scoreFile.js';
import { isNb201Column } from '../../spaces/nb201/benchmarkTable.js';
import { pairwiseFinite } from '../../stats/index.js';
import { scatterSvg, writeSvgAtomic } from '../../plot/index.js';
import { choiceOption } from '../options.js';
import { formatCsv, formatTable, type Cell } from '../tableFormat.js';

interface CorrelateOptions {
  scores: string[];
  truth: string;
  metrics?: string;
  format: 'table' | 'json' | 'csv';
  plots?: string;
}

const HEADER = ['metric', 'n', 'dropped', 'spearman', 'kendall', 'published_spearman'];

function reportRows(report: CorrelationReport): Cell[][] {
  return report.rows.map((r) => [r.metric, r.n, r.dropped, r.spearman, r.kendall, r.published]);
}

/** One SVG per metric: the metric (log axis when it is positive throughout) against the truth column. */
export async function writeCorrelationPlots(table: ScoreTable, report: CorrelationReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const truth = truthColumn(table, report.truth as Parameters<typeof truthColumn>[1]);
  const written: string[] = [];
  for (const row of report.rows) {
    const pairs = pairwiseFinite(metricColumn(table, row.metric), truth);
    if (pairs.x.length === 0) continue;
    const logX = pairs.x.every((v) => v > 0) && Math.max(...pairs.x) / Math.min(...pairs.x) > 100;
    const rho = row.spearman === null ? 'undefined' : row.spearman.toFixed(3);
    const svg = await scatterSvg({
      points: Array.from(pairs.x, (x, i) => ({ x, y: pairs.y[i] })),
      xTitle: row.metric + (logX ? ' (log)' : ''),
      yTitle: report.truth,
      title: `${row.metric} vs ${report.truth}: Spearman ${rho}, Kendall ${row.kendall?.toFixed(3) ?? 'undefined'} (n = ${row.n})`,
      logX,
    });
    const path = join(dir, `${row.metric}.svg`);
    await writeSvgAtomic(path, svg);
    written.push(path);
  }
  return written;
}

export function correlateCommand(): Command {
  return new Command('correlate')
    .description('rank correlation (signed Spearman, Kendall tau-b) of scored metrics with NAS-Bench-201 ground truth')
    .requiredOption('--scores <files...>', 'JSONL files written by hnas score (merged by architecture)')
    .option('--truth <column>', `ground-truth column of the bundled NB201 table: ${TRUTH_COLUMNS.join(' | ')} (or any numeric column)`, 'c10_test_200')
    .option('-m, --metrics <list>', 'metrics to correlate, comma-separated (default: every metric in the files)')
    .option('--format <format>', 'table | json | csv', choiceOption('--format', ['table', 'json', 'csv'] as const), 'table')
    .option('--plots <dir>', 'write one SVG scatter plot per metric into this folder')
    .action(async (o: CorrelateOptions) => {
      if (!isNb201Column(o.truth)) throw new InvalidArgumentError(`--truth must be a numeric NB201 column such as ${TRUTH_COLUMNS.join(', ')}, got "${o.truth}"`);
      const table = await readScoreFiles(o.scores);
      const metrics = o.metrics?.split(',').map((m) => m.trim()).filter((m) => m !== '');
      const report = correlateMetrics(table, o.truth, metrics);
      if (o.format === 'json') console.log(JSON.stringify(report, null, 2));
      else if (o.format === 'csv') console.log(formatCsv(HEADER, reportRows(report)));
      else {
        console.log(`${report.architectures} architectures against ${report.truth}` + (o.truth === 'c10_test_200' ? ` (published: Abdelfattah et al. 2021; naswot: Mellor et al. 2021)` : ''));
        console.log(formatTable(HEADER, reportRows(report), 3));
      }
      if (table.tornLines > 0) console.error(`hnas: note: skipped ${table.tornLines} torn last line(s) of a file still being written`);
      if (o.plots) {
        const written = await writeCorrelationPlots(table, report, o.plots);
        console.error(`wrote ${written.length} plots to ${o.plots}`);
      }
    });
}
