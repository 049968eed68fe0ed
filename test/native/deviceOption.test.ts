/**
 * --device / score({ device }) / HNAS_DEVICE on the commands that run the
 * engine: cpu runs on the CPU, auto on CUDA when a device is there (else the
 * CPU), and an explicit cuda that cannot be honoured is a typed error, never
 * a silent CPU fallback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { engineDevice, resolveDevice } from '../../src/native/device.js';
import { score } from '../../src/score/score.js';
import { captureConsole } from '../helpers/cliHarness.js';

const { errors } = captureConsole();
const saved = process.env.HNAS_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.HNAS_DEVICE;
  else process.env.HNAS_DEVICE = saved;
});

/** Here (CI, developers): CUDA may be compiled in, but no device is present. */
const deviceHere = (() => {
  try {
    return resolveDevice('cuda') === 'cuda';
  } catch {
    return false;
  }
})();

describe.skipIf(deviceHere)('engine device selection without a CUDA device', () => {
  it('runs on the CPU for cpu and auto', async () => {
    expect(engineDevice('cpu')).toBe('cpu');
    expect(engineDevice('auto')).toBe('cpu');
    const r = await score(13714, { metrics: 'params', device: 'cpu', batch: 2 });
    expect(r.metrics.params).toBe(1073466);
    expect(r.device).toBe('cpu');
    expect((await score(13714, { metrics: 'params', batch: 2 })).device).toBe('cpu');
  });

  it('refuses an explicit cuda with ERR_HNAS_DEVICE_UNAVAILABLE, from the API, the CLI and HNAS_DEVICE', async () => {
    await expect(score(13714, { metrics: 'params', device: 'cuda' })).rejects.toMatchObject({ code: 'ERR_HNAS_DEVICE_UNAVAILABLE' });
    await main(['node', 'hnas', 'score', '13714', '--metrics', 'params', '--device', 'cuda']);
    expect(errors.join('\n')).toMatch(/ERR_HNAS_DEVICE_UNAVAILABLE/);
    expect(process.exitCode).toBe(1);
    errors.length = 0;
    process.env.HNAS_DEVICE = 'cuda';
    await main(['node', 'hnas', 'hybrid', '--iters', '1', '--log', '/dev/null/never']);
    expect(errors.join('\n')).toMatch(/ERR_HNAS_DEVICE_UNAVAILABLE/);
    errors.length = 0;
    process.env.HNAS_DEVICE = 'gpu';
    await expect(score(13714, { metrics: 'params' })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
  });

  it('rejects an unknown --device value naming the choices', async () => {
    await main(['node', 'hnas', 'bench', '--device', 'tpu']);
    expect(errors.join('\n')).toMatch(/--device must be one of auto, cpu, cuda, got "tpu"/);
  });
});

describe.skipIf(!deviceHere)('engine device selection with a CUDA device', () => {
  it('runs score() on the device for cuda and auto, with the CPU engine\'s numbers', async () => {
    expect(engineDevice('cuda')).toBe('cuda');
    expect(engineDevice('auto')).toBe('cuda');
    expect(engineDevice('cpu')).toBe('cpu');
    const options = { metrics: 'ntk_trace,ntk_cond', batch: 16, architecture: { channels: 8, cells: 1 } };
    const cpu = await score(13714, { ...options, device: 'cpu' });
    const cuda = await score(13714, { ...options, device: 'cuda' });
    expect(cpu.device).toBe('cpu');
    expect(cuda.device).toBe('cuda');
    expect(Math.abs(cuda.metrics.ntk_trace! - cpu.metrics.ntk_trace!)).toBeLessThan(1e-3 * Math.abs(cpu.metrics.ntk_trace!));
    expect(Math.abs(cuda.metrics.ntk_cond! - cpu.metrics.ntk_cond!)).toBeLessThan(1e-2 * Math.abs(cpu.metrics.ntk_cond!));
  });
});
