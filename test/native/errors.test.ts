/**
 * Bad input never crashes the process: every case below ends in a typed
 * error with a stable code and a message naming the problem.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../src/engine/network.js';
import type { GraphSpec } from '../../src/engine/graphSpec.js';
import { fixtureBatch, fixturePath } from '../helpers/fixtures.js';

const { input, labels } = fixtureBatch();
const x4 = input.slice(0, 4 * 3 * 32 * 32);
const y4 = labels.slice(0, 4);

function tinySpec(overrides: Partial<{ weight: Float32Array; op: string }> = {}): GraphSpec {
  return {
    input: { name: 'x', shape: [2, 4, 4] },
    output: { name: 'y', shape: [3] },
    params: [
      { name: 'c.w', kind: 'conv_weight', shape: [3, 2, 1, 1], data: overrides.weight ?? Float32Array.from([1, 2, 3, 4, 5, 6]) },
    ],
    nodes: [
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      { op: (overrides.op ?? 'conv2d') as any, name: 'c', inputs: ['x'], outputs: ['a'], weight: 'c.w', stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], groups: 1 },
      { op: 'global_avg_pool', name: 'g', inputs: ['a'], outputs: ['y'] },
    ],
  };
}

describe('typed errors', () => {
  let net: Network;
  const dir = mkdtempSync(join(tmpdir(), 'hnas-errors-'));
  beforeAll(async () => {
    net = await Network.fromOnnxFile(fixturePath('1835_seed0', 'model.onnx'));
  });
  afterAll(() => net.dispose());

  it('rejects a truncated or corrupted ONNX file', async () => {
    const bytes = readFileSync(fixturePath('1835_seed0', 'model.onnx'));
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await expect(Network.fromOnnxFile(truncated)).rejects.toMatchObject({ code: 'ERR_HNAS_ONNX_INVALID' });
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, Buffer.from('this is not a protobuf at all, just text\n'.repeat(20)));
    await expect(Network.fromOnnxFile(garbage)).rejects.toMatchObject({ code: 'ERR_HNAS_ONNX_INVALID' });
    await expect(Network.fromOnnxFile(join(dir, 'missing.onnx'))).rejects.toMatchObject({ code: 'ERR_HNAS_FILE_NOT_FOUND' });
  });

  it('rejects an unsupported op, naming the node', () => {
    expect(() => Network.create(tinySpec({ op: 'lstm' }))).toThrow(
      expect.objectContaining({ code: 'ERR_HNAS_UNSUPPORTED', message: expect.stringContaining('"c"') }),
    );
  });

  it('rejects NaN or Inf in the weights, naming the parameter', () => {
    const w = Float32Array.from([1, 2, NaN, 4, 5, 6]);
    expect(() => Network.create(tinySpec({ weight: w }))).toThrow(
      expect.objectContaining({ code: 'ERR_HNAS_NON_FINITE', message: expect.stringContaining('c.w') }),
    );
    const p = net.getParams();
    p[7] = Infinity;
    expect(() => net.setParams(p)).toThrow(expect.objectContaining({ code: 'ERR_HNAS_NON_FINITE' }));
  });

  it('rejects NaN in the input, naming the sample', async () => {
    const bad = x4.slice();
    bad[3 * 3072 + 17] = NaN;
    await expect(net.forward(bad)).rejects.toMatchObject({
      code: 'ERR_HNAS_NON_FINITE',
      message: expect.stringContaining('sample 3'),
    });
    await expect(net.jacobian(bad, y4)).rejects.toMatchObject({ code: 'ERR_HNAS_NON_FINITE' });
  });

  it('rejects a mismatched input shape and label count', async () => {
    await expect(net.forward(x4.subarray(0, 3000))).rejects.toMatchObject({ code: 'ERR_HNAS_SHAPE_MISMATCH' });
    await expect(net.gradient(x4, labels.slice(0, 3))).rejects.toMatchObject({ code: 'ERR_HNAS_SHAPE_MISMATCH' });
    await expect(net.gradient(x4, Int32Array.from([0, 1, 2, 10]))).rejects.toMatchObject({
      code: 'ERR_HNAS_INVALID_ARGUMENT',
      message: expect.stringContaining('label 10'),
    });
  });

  it('rejects bad options with InvalidArgumentError', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await expect(net.forward(x4, { bn: 'sometimes' as any })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await expect(net.jacobian(x4, y4, { mode: 'approximate' as any })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
    await expect(net.jacobian(x4, y4, { params: ['no.such.param'] })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
    await expect(net.hvp(x4, y4, new Float32Array(3))).rejects.toMatchObject({ code: 'ERR_HNAS_SHAPE_MISMATCH' });
  });

  it('throws DisposedError after dispose(), and in-flight work still completes', async () => {
    const other = await Network.fromOnnxFile(fixturePath('1835_seed0', 'model.onnx'));
    const pending = other.forward(x4);
    other.dispose();
    expect((await pending).length).toBe(40);
    await expect(other.forward(x4)).rejects.toMatchObject({ code: 'ERR_HNAS_DISPOSED' });
    expect(() => other.getParams()).toThrow(expect.objectContaining({ code: 'ERR_HNAS_DISPOSED' }));
  });
});

describe('asynchronous calls', () => {
  it('keep the event loop running and serve concurrent requests on one network', async () => {
    const net = await Network.fromOnnxFile(fixturePath('4948_seed0', 'model.onnx'));
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const [a, b, c] = await Promise.all([
        net.jacobian(input, labels),
        net.forward(x4),
        net.gradient(x4, y4),
      ]);
      clearInterval(timer);
      // The event loop ran while the native work was in flight.
      expect(ticks).toBeGreaterThan(0);
      expect(a.rows).toBe(64);
      expect(b.length).toBe(40);
      expect(Number.isFinite(c.loss)).toBe(true);
    } finally {
      net.dispose();
    }
  });
});
