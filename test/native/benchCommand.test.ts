/** `hnas bench`: one row per metric plus the whole probe, rates consistent with the FLOP model. */
import { describe, expect, it } from 'vitest';
import { needFlops } from '../../src/bench/flopModel.js';
import { main } from '../../src/cli/cli.js';
import type { BenchReport } from '../../src/cli/commands/bench.js';
import { captureConsole } from '../helpers/cliHarness.js';

const { logs, errors } = captureConsole();

describe('hnas bench', () => {
  it('reports arch/s and GFLOP/s per metric and for the probe, as JSON', async () => {
    await main(['node', 'hnas', 'bench', '--sample', '2', '--batch', '4', '--metrics', 'ntk_trace,snip,params', '--format', 'json']);
    expect(errors.filter((e) => e.startsWith('hnas:'))).toEqual([]);
    const report = JSON.parse(logs.join('\n')) as BenchReport;
    expect(report.settings).toMatchObject({ space: 'nb201', batch: 4, dtype: 'float32', device: 'cpu' });
    expect(report.settings.architectures).toHaveLength(2);
    expect(report.rows.map((r) => r.what)).toEqual(['ntk_trace', 'snip', 'params', 'probe']);
    const probeRow = report.rows[3];
    expect(probeRow.needs.sort()).toEqual(['gradient', 'theta_decomposed']);
    for (const row of report.rows) {
      expect(row.archsPerSecond).toBeGreaterThan(0);
      expect(row.secondsPerArch * row.archsPerSecond).toBeCloseTo(1, 10);
    }
    expect(report.rows[2].gflops).toBeNull();
    expect(report.rows[0].gflops).toBeGreaterThan(0);
  });

  it('rejects an unknown metric with a typed error', async () => {
    await main(['node', 'hnas', 'bench', '--metrics', 'ntk_trace,nope']);
    expect(errors.join('\n')).toMatch(/nope.*ERR_HNAS_INVALID_ARGUMENT/);
  });
});

describe('FLOP model', () => {
  const x = { macsPerSample: 1000, batch: 4, thetaParams: 50, teNasParams: 40 };
  it('counts forward 2·MACs·N, backward twice that, Θ 2·N²·P', () => {
    expect(needFlops('gradient', x)).toBe(3 * 8000);
    expect(needFlops('theta_decomposed', x)).toBe(3 * 8000 + 2 * 16 * 50);
    expect(needFlops('theta_exact', x)).toBe(8000 + 4 * 16000 + 2 * 16 * 40);
    expect(needFlops('synflow', x)).toBe(6000);
  });
});
