/** `hnas export` end to end: the written model loads in onnxruntime and the native engine and agrees with the builder. */
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { captureConsole } from '../helpers/cliHarness.js';
import { Network } from '../../src/engine/network.js';
import { OrtModel } from '../../src/onnx/ortSession.js';
import { DARTS_V2, formatGenotype } from '../../src/spaces/darts/genotype.js';
import { maxRelToMax } from '../helpers/allClose.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-cli-'));
const { logs, errors } = captureConsole();

const run = (...args: string[]) => main(['node', 'hnas', ...args]);

describe('hnas export', () => {
  it('writes an NB201 network by benchmark index that onnxruntime and the engine agree on', async () => {
    const out = join(dir, 'nb201-13714.onnx');
    await run('export', '13714', '--space', 'nb201', '--out', out);
    expect(process.exitCode ?? 0).toBe(0);
    expect(logs.join('\n')).toContain('1,073,466 parameters');
    const ort = await OrtModel.load(out);
    const net = await Network.fromOnnxFile(out);
    try {
      const x = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i));
      const a = await ort.run(x, 2);
      const b = await net.forward(x, { bn: 'eval' });
      expect(maxRelToMax(b, a)).toBeLessThan(1e-5);
      expect(net.numTrainable).toBe(1073466);
    } finally {
      ort.dispose();
      net.dispose();
    }
  });

  it('writes a DARTS genotype at the search-proxy size, ImageNet16-120 preset', async () => {
    const out = join(dir, 'darts.onnx');
    await run('export', formatGenotype(DARTS_V2), '--space', 'darts', '--channels', '16', '--cells', '5', '--dataset', 'imagenet16-120', '--out', out);
    expect(errors).toEqual([]);
    const ort = await OrtModel.load(out);
    try {
      expect(ort.numClasses).toBe(120);
      const y = await ort.run(new Float32Array(3 * 16 * 16), 1);
      expect(y.length).toBe(120);
    } finally {
      ort.dispose();
    }
  });

  it('reports malformed architectures and options as one line with the error code, and writes nothing', async () => {
    const out = join(dir, 'bad.onnx');
    await run('export', '|nor_conv_3x3~0|+|oops~0|', '--out', out);
    expect(process.exitCode).toBe(1);
    expect(errors.join('\n')).toMatch(/ERR_HNAS_INVALID_ARCHITECTURE/);
    process.exitCode = undefined;
    await run('export', '15625', '--out', out);
    expect(errors.join('\n')).toMatch(/15625/);
    await run('export', "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2, 3, 4, 5], reduce=[], reduce_concat=[2, 3, 4, 5])", '--space', 'darts', '--out', out);
    expect(errors.join('\n')).toMatch(/normal cell/);
    await run('export', '13714', '--channels', 'many', '--out', out);
    expect(errors.join('\n')).toMatch(/--channels/);
    expect(existsSync(out)).toBe(false);
  });
});
