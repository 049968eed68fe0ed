/**
 * The unification as a tool: on a small NB201 sample scored by `hnas score`,
 * every bound by the NTK trace norm holds, the rebuilt ‖θ₀‖ equals what the
 * metrics recorded, and `hnas unify` / `hnas correlate` write tables that
 * agree with independent computations and SVGs that parse as XML.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { hnasObjective, checkBounds, objectiveTable, BOUNDED_METRICS } from '../../src/analysis/unification.js';
import { fillWeightNormExtras } from '../../src/analysis/weightNorms.js';
import type { CorrelationReport } from '../../src/analysis/correlation.js';
import { main } from '../../src/cli/cli.js';
import type { UnifyReport } from '../../src/cli/commands/unify.js';
import { readScoreFiles, type ScoreTable } from '../../src/score/scoreFile.js';
import { loadNb201Table } from '../../src/spaces/nb201/index.js';
import { captureConsole } from '../helpers/cliHarness.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-unify-'));
const scores = join(dir, 'scores.jsonl');
const { logs, errors } = captureConsole();
const METRICS = 'ntk_trace,ntk_cond,grad_norm_global,grad_norm,snip,plain,knas';
let table: ScoreTable;

/** Spearman by the textbook route (distinct values only): 1 − 6Σd²/(n(n²−1)). */
function naiveSpearman(x: number[], y: number[]): number {
  const ranks = (v: number[]) => {
    const order = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array<number>(v.length);
    order.forEach((i, k) => (r[i] = k + 1));
    return r;
  };
  const rx = ranks(x);
  const ry = ranks(y);
  const n = x.length;
  const d2 = rx.reduce((s, r, i) => s + (r - ry[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

function expectSvg(path: string): void {
  const text = readFileSync(path, 'utf8');
  expect(XMLValidator.validate(text)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false }).parse(text) as Record<string, Record<string, string>>;
  expect(doc.svg).toBeDefined();
  expect(Number(doc.svg['@_width'])).toBeGreaterThan(0);
}

beforeAll(async () => {
  await main(['node', 'hnas', 'score', '--sample', '12', '--seed', '7', '--batch', '16', '--metrics', METRICS, '--out', scores]);
  table = await readScoreFiles([scores]);
});

describe('bounds by the NTK trace norm', () => {
  it('hold on every architecture of the sample', () => {
    expect(table.rows).toHaveLength(12);
    const checks = checkBounds(table);
    expect(checks.map((c) => c.metric)).toEqual([...BOUNDED_METRICS]);
    for (const c of checks) {
      expect(c.n, c.metric).toBe(12);
      expect(c.holds, c.metric).toBe(12);
      expect(c.maxRatio!, c.metric).toBeLessThanOrEqual(1);
      expect(c.maxRatio!, c.metric).toBeGreaterThan(0);
    }
  });

  it('fails a bound that is made too tight (the check can fail)', () => {
    const tight = checkBounds(table, 1e-6);
    for (const c of tight.filter((t) => t.metric !== 'plain')) expect(c.holds, c.metric).toBe(0);
  });

  it('knas is grad_norm_global squared on every row', () => {
    for (const r of table.rows) expect(r.metrics.knas!).toBeCloseTo(r.metrics.grad_norm_global! ** 2, 10);
  });

  it('rebuilds ‖θ₀‖ and the layer count exactly as the metrics recorded them', async () => {
    const stripped = await readScoreFiles([scores]);
    for (const r of stripped.rows) r.extras = {};
    expect(fillWeightNormExtras(stripped)).toBe(12);
    stripped.rows.forEach((r, i) => {
      const recorded = table.rows[i].extras!;
      expect(r.extras!.snip.weight_norm as number).toBeCloseTo(recorded.snip.weight_norm as number, 6);
      expect(r.extras!.plain.weight_norm).toBe(recorded.plain.weight_norm);
      expect(r.extras!.grad_norm.weight_layers).toBe(recorded.grad_norm.weight_layers);
    });
  });
});

describe('HNAS objective', () => {
  it('is μ·|M² − ν| + κ/(M + 1e-6)', () => {
    expect(hnasObjective(3, 10, 2, 5)).toBeCloseTo(2 * 4 + 10 / (3 + 1e-6), 12);
    expect(hnasObjective(2, 0, 1, 4)).toBe(0);
  });

  it('leaves out singular Θ and sorts best first', () => {
    const t: ScoreTable = {
      metrics: ['ntk_trace', 'ntk_cond'],
      tornLines: 0,
      rows: [
        { space: 'nb201', arch: 'a', metrics: { ntk_trace: 2, ntk_cond: 10 } },
        { space: 'nb201', arch: 'b', metrics: { ntk_trace: 1, ntk_cond: 3 }, extras: { ntk_cond: { singular: true } } },
        { space: 'nb201', arch: 'c', metrics: { ntk_trace: 3, ntk_cond: -2.8e15 } },
        { space: 'nb201', arch: 'd', metrics: { ntk_trace: 1, ntk_cond: 1 } },
      ],
    };
    expect(objectiveTable(t, 0, 0).map((r) => r.arch)).toEqual(['d', 'a']);
  });
});

describe('hnas unify and hnas correlate', () => {
  it('unify --format json: bounds, fits, a symmetric correlation matrix, the objective; SVGs parse', async () => {
    const svgDir = join(dir, 'svg');
    await main(['node', 'hnas', 'unify', '--scores', scores, '--mu', '0.01', '--nu', '100', '--top', '3', '--format', 'json', '--svg-dir', svgDir]);
    expect(errors.filter((e) => e.startsWith('hnas:'))).toEqual([]);
    const report = JSON.parse(logs.join('\n')) as UnifyReport;
    expect(report.architectures).toBe(12);
    expect(report.bounds.every((b) => b.holds === b.n && b.n === 12)).toBe(true);
    const fit = report.fits.find((f) => f.metric === 'grad_norm_global')!;
    expect(fit.r2).toBeGreaterThan(0.5);
    const { metrics, spearman } = report.correlations;
    metrics.forEach((_, i) => {
      expect(spearman[i][i]).toBeCloseTo(1, 12);
      metrics.forEach((__, j) => expect(spearman[i][j]).toBe(spearman[j][i]));
    });
    const gi = metrics.indexOf('grad_norm_global');
    const ki = metrics.indexOf('knas');
    expect(spearman[gi][ki]).toBeCloseTo(1, 12); // a monotone transform
    expect(report.objective.best).toHaveLength(3);
    const objectives = report.objective.best.map((b) => b.objective);
    expect([...objectives].sort((a, b) => a - b)).toEqual(objectives);
    expectSvg(join(svgDir, 'unify-scatter.svg'));
    expectSvg(join(svgDir, 'unify-correlation.svg'));
  });

  it('correlate --format json agrees with a textbook Spearman and writes one SVG per metric', async () => {
    const plots = join(dir, 'plots');
    await main(['node', 'hnas', 'correlate', '--scores', scores, '--truth', 'c100_test_200', '--metrics', 'snip,grad_norm', '--format', 'json', '--plots', plots]);
    expect(errors.filter((e) => e.startsWith('hnas:'))).toEqual([]);
    const report = JSON.parse(logs.join('\n')) as CorrelationReport;
    const nb201 = loadNb201Table();
    for (const row of report.rows) {
      const x = table.rows.map((r) => r.metrics[row.metric]!);
      const y = table.rows.map((r) => nb201.row(r.index!).c100_test_200);
      expect(row.n).toBe(12);
      expect(row.spearman!).toBeCloseTo(naiveSpearman(x, y), 12);
      expect(existsSync(join(plots, `${row.metric}.svg`))).toBe(true);
      expectSvg(join(plots, `${row.metric}.svg`));
    }
  });

  it('names a missing truth column or metric in a typed error', async () => {
    await main(['node', 'hnas', 'correlate', '--scores', scores, '--truth', 'accuracy']);
    expect(errors.join('\n')).toMatch(/--truth must be a numeric NB201 column.*ERR_HNAS_INVALID_ARGUMENT/);
    errors.length = 0;
    await main(['node', 'hnas', 'unify', '--scores', join(dir, 'nope.jsonl')]);
    expect(errors.join('\n')).toMatch(/nope\.jsonl.*ERR_HNAS_FILE_NOT_FOUND/);
  });
});
