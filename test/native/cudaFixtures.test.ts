/**
 * Every training-free metric probed on the CUDA device against the PyTorch
 * fixtures (test/fixtures/nb201): the same checks and tolerances as the CPU
 * engine's (test/native/metrics.test.ts, README §8 of the fixtures): float64
 * on the device to the float64-engine tolerances, float32 on the device to
 * the float32-engine ones, for all seven fixtures.
 *
 * Needs a real CUDA device (scripts/gpu-check.sh runs it): the fixtures are
 * full NB201 networks (C=16, N=5) at batch 64 — 119 s on the host emulator
 * for the NTK trace and GradNorm of 13714 alone — so an HNAS_CUDA=EMULATE
 * build skips it too (the emulator runs the engine parity suite on small
 * networks instead). Skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Network } from '../../src/engine/network.js';
import { probe, type ProbeOutcome } from '../../src/metrics/index.js';
import { loadAddon } from '../../src/native/binding.js';
import { expected, fixturePath, FIXTURES } from '../helpers/fixtures.js';
import {
  TE_NAS_FIXTURES,
  batch32,
  batch64,
  checkMetric,
  fixtureMetrics,
  reportWorstDeviations,
} from '../helpers/fixtureMetrics.js';

const addon = loadAddon();
const status = addon.cudaStatus();
const hasDevice = status.status === 'available' && status.deviceCount > 0 && addon.buildInfo().cudaEmulated !== true;
if (!hasDevice) {
  console.log(
    `cudaFixtures: skipped — ${addon.buildInfo().cudaEmulated ? 'an emulated CUDA build (far too slow for full-size networks)' : `no CUDA device (${status.status}: ${status.message})`}. ` +
      'It runs on a GPU machine (scripts/gpu-check.sh).',
  );
}

afterAll(reportWorstDeviations);

describe.skipIf(!hasDevice)('the fixtures probed on the CUDA device', () => {
  for (const precision of ['f64', 'f32'] as const) {
    describe.each(FIXTURES)(`fixture %s, ${precision === 'f64' ? 'float64' : 'float32'} on the device`, (name) => {
      const exp = expected(name);
      const { core, kernel } = fixtureMetrics(name, TE_NAS_FIXTURES.has(name));
      let out: ProbeOutcome;

      beforeAll(async () => {
        const dtype = precision === 'f64' ? 'float64' : 'float32';
        const net = await Network.fromOnnxFile(fixturePath(name, 'model.onnx'), { dtype, device: 'cuda' });
        try {
          // synflow's float64 copy is built on the probed network's device.
          out = await probe(net, precision === 'f64' ? batch64 : batch32, [...core, ...kernel], {
            synflowNetwork: fixturePath(name, 'model.onnx'),
          });
        } finally {
          net.dispose();
        }
      }, 600_000);

      it.each([...core, ...kernel])(`%s matches the reference (${precision} tolerances)`, (id) =>
        checkMetric(name, exp, id, out.results[id], precision),
      );
    });
  }
});
