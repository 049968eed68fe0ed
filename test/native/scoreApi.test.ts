/**
 * The library's score() and `hnas score --onnx`: the shared PyTorch fixtures
 * (their ONNX models, input.bin, labels.bin) scored through the public entry
 * points must give the fixture's float64 reference metrics.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import type { ScoreRow } from '../../src/cli/commands/score.js';
import { score, scoreMany } from '../../src/index.js';
import { loadNb201Table } from '../../src/spaces/nb201/index.js';
import { captureConsole } from '../helpers/cliHarness.js';
import { FIXTURE_ROOT, expected, fixtureBatch, fixturePath } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-score-api-'));
const { logs, errors } = captureConsole();
const METRICS = ['ntk_trace', 'grad_norm', 'snip', 'synflow', 'naswot', 'params'] as const;
const F64_RTOL = 1e-8;

function expectRel(actual: number | null | undefined, reference: number, rtol: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - reference)).toBeLessThanOrEqual(rtol * Math.abs(reference));
}

describe('score() (library)', () => {
  it('scores a fixture ONNX model on the fixture batch with the float64 reference values', async () => {
    const ref = expected('13714_seed0');
    const result = await score({ onnx: fixturePath('13714_seed0', 'model.onnx') }, { metrics: [...METRICS], data: fixtureBatch(), dtype: 'float64' });
    expect(result.errors).toEqual({});
    for (const id of ['grad_norm', 'snip', 'synflow', 'naswot'] as const) expectRel(result.metrics[id], ref.metrics[id].f64, F64_RTOL);
    expect(result.metrics.params).toBe(ref.num_params);
    expect(result.seconds).toBeGreaterThan(0);
    expect(result.timings.gradient).toBeGreaterThan(0);
  });

  it('gives the same values for the space architecture as for its exported model', async () => {
    const table = loadNb201Table();
    const options = { metrics: 'ntk_trace,grad_norm,params', batch: 8 } as const;
    const [byIndex, byString] = await scoreMany([13714, table.archAt(13714)], options);
    expect(byIndex.metrics).toEqual(byString.metrics);
    expect(byIndex.metrics.params).toBe(1073466);
  });

  it('reports a failed metric as a typed entry, not a throw', async () => {
    const result = await score('|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|none~2|', { metrics: 'ntk_cond,params', batch: 8 });
    expect(result.metrics.params).toBeGreaterThan(0);
    expect(result.metrics.ntk_cond).toBeNull();
    expect(result.errors.ntk_cond?.code).toMatch(/^ERR_HNAS_/);
  });

  it('rejects bad data with typed errors naming the problem', async () => {
    await expect(score(13714, { data: { input: new Float32Array(10), labels: new Int32Array(1) } })).rejects.toMatchObject({ code: 'ERR_HNAS_SHAPE_MISMATCH' });
    const bad = fixtureBatch();
    bad.input[5] = Number.NaN;
    await expect(score(13714, { data: bad })).rejects.toMatchObject({ code: 'ERR_HNAS_NON_FINITE' });
    const labels = fixtureBatch();
    labels.labels[0] = 10;
    await expect(score(13714, { data: labels })).rejects.toMatchObject({ code: 'ERR_HNAS_DATA_FORMAT' });
    await expect(score({ onnx: join(dir, 'missing.onnx') })).rejects.toMatchObject({ code: 'ERR_HNAS_FILE_NOT_FOUND' });
  });
});

describe('hnas score --onnx', () => {
  const run = (...args: string[]) => main(['node', 'hnas', 'score', ...args]);
  const input = join(FIXTURE_ROOT, 'input.bin');
  const labels = join(FIXTURE_ROOT, 'labels.bin');

  it('scores a user model on raw tensors, matching the fixture reference', async () => {
    const ref = expected('4948_seed0');
    const model = fixturePath('4948_seed0', 'model.onnx');
    const out = join(dir, 'onnx.jsonl');
    await run('--onnx', model, '--input', input, '--labels', labels, '--input-shape', '64,3,32,32', '--dtype', 'float64', '--metrics', 'grad_norm,snip,ntk_trace', '--out', out);
    expect(errors.filter((e) => e.startsWith('hnas:'))).toEqual([]);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ScoreRow);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ space: 'onnx', arch: model, settings: { batch: 64, data: `raw:${input}` } });
    expectRel(rows[0].metrics.grad_norm, ref.metrics.grad_norm.f64, F64_RTOL);
    expectRel(rows[0].metrics.snip, ref.metrics.snip.f64, F64_RTOL);
  });

  it('refuses a shape that contradicts the model, truncated tensors and a lone --input', async () => {
    const model = fixturePath('4948_seed0', 'model.onnx');
    await run('--onnx', model, '--input', input, '--labels', labels, '--input-shape', '64,3,16,16');
    expect(errors.join('\n')).toMatch(/--input-shape \[3, 16, 16\] differs from the model's input \[3, 32, 32\].*ERR_HNAS_SHAPE_MISMATCH/);
    const truncated = join(dir, 'truncated.bin');
    writeFileSync(truncated, readFileSync(input).subarray(0, 1000));
    errors.length = 0;
    await run('--onnx', model, '--input', truncated, '--labels', labels);
    expect(errors.join('\n')).toMatch(/1000 bytes is not a whole number of float32 \[3, 32, 32\] samples.*ERR_HNAS_SHAPE_MISMATCH/);
    errors.length = 0;
    await run('--onnx', model, '--input', input);
    expect(errors.join('\n')).toMatch(/--input and --labels go together/);
    expect(logs).toEqual([]);
  });
});
