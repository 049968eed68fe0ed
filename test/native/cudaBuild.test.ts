/**
 * What the build says about CUDA, and device selection; runs on every
 * machine and every build (CPU-only, CUDA, emulated).
 *
 * Whether CUDA should be compiled in follows from facts outside the addon:
 * the HNAS_CUDA setting CMake recorded for the build (build-info.json beside
 * the addon's folder; absent for the node-gyp build, which is CPU-only) and
 * whether nvcc exists on this machine. Which device `auto` picks follows from
 * the CUDA runtime's answer (cudaStatus).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { DeviceUnavailableError, InvalidArgumentError } from '../../src/errors.js';
import { addonCandidates, loadAddon } from '../../src/native/binding.js';
import { buildInfo } from '../../src/native/buildInfo.js';
import { cudaAvailability, cudaDevices, fromDeviceNative, resolveDevice } from '../../src/native/device.js';
import { captureConsole } from '../helpers/cliHarness.js';

interface RecordedBuild {
  builder?: string;
  cuda?: boolean;
  cuda_requested?: string;
  cuda_emulated?: boolean;
  cuda_architectures?: string;
  cuda_compiler?: string;
}

const addonPath = addonCandidates().find((p) => existsSync(p)) as string;
const recordedFile = join(dirname(dirname(addonPath)), 'build-info.json');
const recorded: RecordedBuild | undefined = existsSync(recordedFile) ? (JSON.parse(readFileSync(recordedFile, 'utf8')) as RecordedBuild) : undefined;

/** nvcc as CMake would find it: CUDACXX, PATH, CUDA_PATH/CUDA_HOME, /usr/local/cuda. */
function findNvcc(): string | undefined {
  const candidates = [
    process.env.CUDACXX,
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'nvcc')),
    process.env.CUDA_PATH && join(process.env.CUDA_PATH, 'bin', 'nvcc'),
    process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    '/usr/local/cuda/bin/nvcc',
  ];
  return candidates.find((p): p is string => typeof p === 'string' && p.length > 0 && existsSync(p));
}
const nvcc = findNvcc();

const info = buildInfo();
const status = loadAddon().cudaStatus();
const deviceHere = info.cudaCompiled && status.status === 'available' && status.deviceCount > 0;

describe('CUDA in the build', () => {
  it('is compiled in exactly when the recorded HNAS_CUDA setting and nvcc on this machine say so', () => {
    if (!recorded || recorded.builder !== 'cmake-js') {
      // node-gyp (binding.gyp) builds the CPU sources only.
      expect(info.cudaCompiled).toBe(false);
      expect(info.cudaEmulated).toBe(false);
      return;
    }
    const requested = (recorded.cuda_requested ?? 'OFF').toUpperCase();
    const expected = requested === 'ON' || (requested === 'AUTO' && nvcc !== undefined);
    expect(info.cudaCompiled, `HNAS_CUDA=${requested}, nvcc ${nvcc ?? 'not found'}`).toBe(expected);
    expect(recorded.cuda).toBe(info.cudaCompiled);
    expect(info.cudaEmulated).toBe(requested === 'EMULATE');
  });

  it.runIf(info.cudaCompiled)('reports the static CUDA runtime, nvcc version and architectures it was built with', () => {
    expect(info.cudaRuntimeVersion).toMatch(/^\d+\.\d+$/);
    expect(info.cudaCompilerVersion).toBe(recorded?.cuda_compiler);
    // The runtime linked in is the toolkit's: nvcc's release (e.g. "13.0").
    if (nvcc) {
      const release = /release (\d+\.\d+)/.exec(execFileSync(nvcc, ['--version'], { encoding: 'utf8' }))?.[1];
      expect(info.cudaRuntimeVersion).toBe(release);
    }
    expect(info.cudaArchitectures.length).toBeGreaterThan(0);
    expect(info.cudaArchitectures.join(';')).toBe(recorded?.cuda_architectures);
    for (const a of info.cudaArchitectures) expect(a).toMatch(/^(\d+a?(-real|-virtual)?|native|all|all-major)$/);
  });

  it.runIf(!info.cudaCompiled)('reports no CUDA runtime in a build without CUDA', () => {
    expect(info.cudaRuntimeVersion).toBeUndefined();
    expect(info.cudaArchitectures).toEqual([]);
    expect(loadAddon().cudaStatus().status).toBe('not-compiled');
  });
});

describe('CUDA devices', () => {
  it.runIf(!deviceHere)('lists none when no device can be used (no driver, no device, or no CUDA)', () => {
    expect(cudaDevices()).toEqual([]);
    expect(cudaAvailability().deviceCount).toBe(0);
    expect(['not-compiled', 'no-driver', 'no-device', 'driver-error']).toContain(status.status);
  });

  it.runIf(deviceHere)('lists each device with its capability and memory', () => {
    const devices = cudaDevices();
    expect(devices.length).toBe(status.deviceCount);
    for (const d of devices) {
      expect(d.name.length).toBeGreaterThan(0);
      expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
      expect(d.totalMemoryBytes).toBeGreaterThan(0);
      expect(d.freeMemoryBytes).toBeGreaterThan(0);
      expect(d.freeMemoryBytes).toBeLessThanOrEqual(d.totalMemoryBytes);
    }
  });

  it.runIf(loadAddon().cudaOps !== undefined && !deviceHere && !info.cudaEmulated)(
    'refuses device kernels without a device, with a typed error naming the reason',
    () => {
      const ops = loadAddon().cudaOps as NonNullable<ReturnType<typeof loadAddon>['cudaOps']>;
      let caught: unknown;
      try {
        ops.reluForward(new Float32Array(4), new Float32Array(4));
      } catch (error) {
        caught = error;
      }
      expect((caught as { code?: string }).code).toBe('ERR_HNAS_DEVICE_UNAVAILABLE');
      expect((caught as { reason?: string }).reason).toBe(status.status);
      const typed = fromDeviceNative(caught, 'reluForward');
      expect(typed).toBeInstanceOf(DeviceUnavailableError);
      expect((typed as DeviceUnavailableError).code).toBe('ERR_HNAS_DEVICE_UNAVAILABLE');
      expect((typed as DeviceUnavailableError).reason).toBe(status.status);
    },
  );
});

describe('resolveDevice', () => {
  const saved = process.env.HNAS_DEVICE;
  afterEach(() => {
    if (saved === undefined) delete process.env.HNAS_DEVICE;
    else process.env.HNAS_DEVICE = saved;
  });

  it('auto uses CUDA only when it is compiled in and a device is present', () => {
    expect(resolveDevice('auto')).toBe(deviceHere ? 'cuda' : 'cpu');
    expect(resolveDevice('cpu')).toBe('cpu');
  });

  it.runIf(!deviceHere)('cuda without a usable device throws DeviceUnavailableError naming why', () => {
    const reason = info.cudaCompiled ? status.status : 'not-compiled';
    const words = {
      'not-compiled': /CUDA was not compiled in/,
      'no-driver': /no CUDA driver/,
      'no-device': /no CUDA device/,
      'driver-error': /CUDA driver failed/,
    }[reason as 'not-compiled' | 'no-driver' | 'no-device' | 'driver-error'];
    let caught: unknown;
    try {
      resolveDevice('cuda');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DeviceUnavailableError);
    const e = caught as DeviceUnavailableError;
    expect(e.code).toBe('ERR_HNAS_DEVICE_UNAVAILABLE');
    expect(e.name).toBe('DeviceUnavailableError');
    expect(e.reason).toBe(reason);
    expect(e.message).toMatch(words);
  });

  it.runIf(deviceHere)('cuda with a device resolves to cuda', () => {
    expect(resolveDevice('cuda')).toBe('cuda');
  });

  it('takes the default from HNAS_DEVICE (empty = unset)', () => {
    process.env.HNAS_DEVICE = 'cpu';
    expect(resolveDevice()).toBe('cpu');
    process.env.HNAS_DEVICE = 'auto';
    expect(resolveDevice()).toBe(deviceHere ? 'cuda' : 'cpu');
    process.env.HNAS_DEVICE = 'cuda';
    if (deviceHere) expect(resolveDevice()).toBe('cuda');
    else expect(() => resolveDevice()).toThrow(DeviceUnavailableError);
    // An explicit argument wins over the environment.
    expect(resolveDevice('cpu')).toBe('cpu');
    process.env.HNAS_DEVICE = '';
    expect(resolveDevice()).toBe(deviceHere ? 'cuda' : 'cpu');
    delete process.env.HNAS_DEVICE;
    expect(resolveDevice()).toBe(deviceHere ? 'cuda' : 'cpu');
  });

  it('rejects values that are not a device with InvalidArgumentError', () => {
    for (const bad of ['gpu', 'CUDA', 'cuda:0', '', 0, null, {}]) {
      expect(() => resolveDevice(bad), String(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => resolveDevice('gpu')).toThrow(/device must be one of "auto", "cpu", "cuda", got "gpu"/);
    process.env.HNAS_DEVICE = 'gpu';
    expect(() => resolveDevice()).toThrow(/HNAS_DEVICE must be one of/);
  });
});

describe('hnas info', () => {
  const { logs, errors } = captureConsole();

  it('prints what was built and what was found', async () => {
    await main(['node', 'hnas', 'info']);
    expect(errors).toEqual([]);
    const text = logs.join('\n');
    if (info.cudaCompiled) {
      expect(text).toMatch(new RegExp(`CUDA +compiled in: runtime ${info.cudaRuntimeVersion}`));
      expect(text).toContain(info.cudaArchitectures.join(', '));
      if (!deviceHere) expect(text).toMatch(/CUDA devices +none — no CUDA (device|driver)/);
    } else {
      expect(text).toMatch(/CUDA +not compiled in/);
    }
    expect(text).toMatch(new RegExp(`device +${deviceHere ? 'cuda' : 'cpu'} `));
  });

  it('prints the same facts as JSON', async () => {
    await main(['node', 'hnas', 'info', '--json']);
    const json = JSON.parse(logs.join('\n')) as { cudaCompiled: boolean; cuda: { devices: unknown[]; status: string } };
    expect(json.cudaCompiled).toBe(info.cudaCompiled);
    expect(json.cuda.status).toBe(status.status);
    expect(json.cuda.devices).toHaveLength(deviceHere ? status.deviceCount : 0);
  });
});
