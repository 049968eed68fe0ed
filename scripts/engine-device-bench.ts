/**
 * The engine on a device next to the engine on the CPU, side by side in one
 * run (scripts/gpu-check.sh runs it on a GPU machine):
 *
 *   Θ          decomposed Θ (true class, weights and biases) of NB201 index
 *              13714 (C=16, N=5) at batch 64, float32: seconds per request
 *   H·v        grasp's Hessian-vector product (weights) of the same network
 *              and batch: seconds per request (dual-number passes)
 *   scoring    the HNAS metric pair (ntk_trace, ntk_cond) through score() on
 *              a seeded sample of NB201 cells at batch 64: architectures per
 *              second, and the projected time for all 15,625 cells
 *   training   images/s of optimiser steps (gradient with BN update + SGD) at
 *              batch 64 for NB201 13714 and the DARTS-V2 proxy (C=16, 5 cells)
 *
 *   node --import tsx scripts/engine-device-bench.ts [--device cuda|cpu] [--cells N] [--cpu-cells N] [--json FILE]
 *
 * --device: the device measured (default cuda); the CPU is always measured
 * beside it for the ratios (on --cpu-cells cells, default 8, as the CPU takes
 * seconds per cell).
 */
import { writeFileSync } from 'node:fs';
import { Network } from '../src/engine/network.js';
import { loadDefaultCifar10 } from '../src/io/defaultData.js';
import { loadProbeBatch } from '../src/score/probeBatch.js';
import { score } from '../src/score/score.js';
import { buildArchitecture } from '../src/spaces/architecture.js';
import { DARTS_V2, formatGenotype } from '../src/spaces/darts/genotype.js';
import { Rng } from '../src/spaces/rng.js';
import { cudaDevices, engineDevice, type ResolvedDevice } from '../src/native/device.js';
import { Sgd } from '../src/train/sgd.js';
import { bestOfAsync } from './timing.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const device = engineDevice(arg('--device', 'cuda'));
const cells = Number(arg('--cells', '256'));
const cpuCells = Number(arg('--cpu-cells', '8'));
const jsonOut = args.includes('--json') ? arg('--json', '') : undefined;
const N = 64;
const TOTAL_CELLS = 15625;

const deviceName = device === 'cuda' ? (cudaDevices()[0]?.name ?? 'cuda') : 'cpu';
console.log(`engine-device-bench: ${deviceName} against the CPU, batch ${N}, float32`);
const cifar = await loadDefaultCifar10();
const batch = await loadProbeBatch('default', { size: N, seed: 0, dtype: 'float32', sampleShape: [3, 32, 32], numClasses: 10 });

// ---- decomposed Θ ---------------------------------------------------------------
const spec = buildArchitecture('nb201', '13714');

/** Best-of-`reps` seconds of one request on NB201 13714, on the CPU and on the device (after a warm-up). */
async function timeOnEachDevice(reps: number, makeRequest: (net: Network) => () => Promise<unknown>): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  for (const d of ['cpu', device] as ResolvedDevice[]) {
    if (seconds[d] !== undefined) continue;
    const net = Network.create(spec, { device: d, name: `13714 on ${d}` });
    const request = makeRequest(net);
    await request(); // warm-up: memory caches
    seconds[d] = await bestOfAsync(reps, request);
    net.dispose();
  }
  return seconds;
}
const sideBySide = (seconds: Record<string, number>) =>
  `cpu ${seconds.cpu.toFixed(4)} s, ${device} ${seconds[device].toFixed(4)} s (${(seconds.cpu / seconds[device]).toFixed(1)}×)`;

const theta = await timeOnEachDevice(5, (net) => () =>
  net.jacobian(batch.input, batch.labels, { mode: 'decomposed', output: 'true_class', params: 'weights_and_biases' }),
);
console.log(`decomposed Θ, NB201 13714: ${sideBySide(theta)}`);

// ---- Hessian-vector product (grasp) -------------------------------------------------
const hvp = await timeOnEachDevice(3, (net) => {
  const size = net.selectParams('weights').reduce((s, p) => s + p.size, 0);
  const vrng = new Rng(7, 1);
  const vector = Float32Array.from({ length: size }, () => vrng.uniform(-1, 1));
  return () => net.hvp(batch.input, batch.labels, vector);
});
console.log(`H·v (grasp), NB201 13714: ${sideBySide(hvp)}`);

// ---- the HNAS metric pair over sampled cells ----------------------------------------
const rng = new Rng(2026, 3);
const sample = Array.from({ length: cells }, () => Math.floor(rng.uniform(0, TOTAL_CELLS)));
async function scoreCells(d: ResolvedDevice, indices: number[]): Promise<{ seconds: number; archsPerSecond: number }> {
  await score(indices[0], { metrics: 'hnas', data: batch, device: d }); // warm-up
  const t = performance.now();
  for (const i of indices) {
    const r = await score(i, { metrics: 'hnas', data: batch, device: d });
    if (r.metrics.ntk_trace == null) throw new Error(`cell ${i} on ${d}: ${JSON.stringify(r.errors)}`);
  }
  const seconds = (performance.now() - t) / 1000;
  return { seconds, archsPerSecond: indices.length / seconds };
}
const scoring: Record<string, { cells: number; seconds: number; archsPerSecond: number }> = {};
scoring.cpu = { cells: cpuCells, ...(await scoreCells('cpu', sample.slice(0, cpuCells))) };
if (device !== 'cpu') scoring[device] = { cells, ...(await scoreCells(device, sample)) };
for (const [d, s] of Object.entries(scoring)) {
  console.log(
    `HNAS pair on ${d}: ${s.archsPerSecond.toFixed(2)} arch/s over ${s.cells} cells; all ${TOTAL_CELLS} cells ≈ ${(TOTAL_CELLS / s.archsPerSecond / 60).toFixed(1)} min`,
  );
}

// ---- training steps ---------------------------------------------------------------------
const trainRows: { network: string; device: string; imagesPerSecond: number }[] = [];
const images = Int32Array.from({ length: N }, (_, i) => i * 7);
const { cifarBatch } = await import('../src/io/cifar.js');
const tb = cifarBatch(cifar, images);
for (const [network, netSpec] of [
  ['NB201 13714 (C=16, N=5)', spec],
  ['DARTS-V2 proxy (C=16, 5 cells)', buildArchitecture('darts', formatGenotype(DARTS_V2), { channels: 16, cells: 5 })],
] as const) {
  for (const d of [...new Set(['cpu', device])] as ResolvedDevice[]) {
    const net = Network.create(netSpec, { device: d, name: network });
    const sgd = new Sgd(net.params.filter((p) => p.trainable).map((p) => ({ offset: p.offset, size: p.size })), net.totalParamSize, net.dtype, {
      momentum: 0.9,
      weightDecay: 3e-4,
      clip: 5,
    });
    const step = async () => {
      const r = await net.gradient(tb.input, tb.labels, { updateRunning: true });
      const params = net.getParams();
      sgd.step(params, r.grad, 1e-4);
      net.setParams(params);
    };
    await step();
    const seconds = await bestOfAsync(5, step);
    trainRows.push({ network, device: d, imagesPerSecond: N / seconds });
    net.dispose();
  }
}
for (const r of trainRows) console.log(`training step, ${r.network} on ${r.device}: ${r.imagesPerSecond.toFixed(0)} images/s`);

if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), device: deviceName, batch: N, theta, hvp, scoring, training: trainRows }, null, 2));
  console.log(`wrote ${jsonOut}`);
}
