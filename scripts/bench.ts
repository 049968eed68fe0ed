/**
 * `npm run bench`: the native engine's speed on this machine, with the FMA
 * peak measured in the same run (these machines are shared, so only
 * side-by-side ratios mean much).
 *
 *   GEMM       GFLOP/s on 512³ and on the im2col shapes of NB201 index 13714
 *              (C=16, N=5) at batch 64, fp32 and fp64, as % of the peak
 *   engine     forward, gradient (forward + backward), decomposed Θ and exact
 *              Θ for that network at batch 64: time, achieved GFLOP/s, % of
 *              peak, and time over the FLOP-bound time
 *   training   images/s of training at batch 64 for that network and for a
 *              DARTS proxy network (DARTS-V2, C = 16, 5 cells): one optimiser
 *              step (gradient with BN running-statistics update, then the SGD
 *              update) and a whole epoch through the Trainer (augmentation
 *              built while the engine runs); GFLOP/s counts forward 2·MACs·N
 *              and backward twice that
 *
 * Options: --quick (fewer repetitions, skips exact Θ), --json FILE.
 * Results go into BENCHMARKS.md by hand, with this command.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Network } from '../src/engine/network.js';
import { loadAddon } from '../src/native/binding.js';
import { bestOf, bestOfAsync } from './timing.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = join(root, 'test', 'fixtures', 'nb201');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const addon = loadAddon();
const threads = addon.buildInfo().threads;

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const fmt = (x: number, d = 1) => x.toFixed(d);

// ---- peak ---------------------------------------------------------------------
const peak = {
  f32_1t: addon.measurePeak(1, 0.5, false),
  f32_all: addon.measurePeak(0, 0.5, false),
  f64_all: addon.measurePeak(0, 0.5, true),
};
console.log(`hnas bench — ${addon.buildInfo().gemmKernel} GEMM, ${threads} threads, CPU: ${addon.buildInfo().cpuFeatures}`);
console.log(`FMA peak (measured now): fp32 ${fmt(peak.f32_1t)} GFLOP/s on 1 thread, ${fmt(peak.f32_all)} on ${threads}; fp64 ${fmt(peak.f64_all)} on ${threads}\n`);

// ---- the network and its im2col shapes ---------------------------------------------
const N = 64;
const net32 = await Network.fromOnnxFile(join(fixture, '13714_seed0', 'model.onnx'), { dtype: 'float32' });
const spec = (await import('../src/onnx/importOnnx.js')).readOnnxFile(join(fixture, '13714_seed0', 'model.onnx'));
const graph = await spec;
const shapeOf = new Map<string, number[]>([[graph.input.name, graph.input.shape]]);
const gemmShapes = new Map<string, { m: number; n: number; k: number; count: number }>();
{
  // Per-sample output shapes come from the engine's own shape inference.
  const raw = new addon.Network(graph, { dtype: 'float32' });
  for (const v of raw.describe().values) shapeOf.set(v.name, v.shape);
  raw.dispose();
  for (const node of graph.nodes) {
    if (node.op !== 'conv2d') continue;
    const w = graph.params.find((p) => p.name === node.weight)!.shape;
    const out = shapeOf.get(node.outputs[0])!;
    const m = w[0];
    const k = w[1] * w[2] * w[3];
    const n = N * out[1] * out[2];
    const key = `${m}x${n}x${k}`;
    const e = gemmShapes.get(key);
    if (e) e.count++;
    else gemmShapes.set(key, { m, n, k, count: 1 });
  }
}

// ---- GEMM -----------------------------------------------------------------------
interface GemmRow { shape: string; role: string; f32: number; f64: number; pctF32: number; pctF64: number }
const gemmRows: GemmRow[] = [];
function benchGemm(label: string, role: string, m: number, n: number, k: number, ta = false, tb = false): void {
  const reps = quick ? 3 : 8;
  const r: Record<string, number> = {};
  for (const T of [Float32Array, Float64Array]) {
    const a = new T(m * k).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
    const b = new T(k * n).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
    const c = new T(m * n);
    addon.gemm(ta, tb, m, n, k, 1, a, b, 0, c); // warm-up
    const s = bestOf(reps, () => addon.gemm(ta, tb, m, n, k, 1, a, b, 0, c));
    r[T === Float32Array ? 'f32' : 'f64'] = (2 * m * n * k) / s / 1e9;
  }
  gemmRows.push({ shape: label, role, f32: r.f32, f64: r.f64, pctF32: r.f32 / peak.f32_all, pctF64: r.f64 / peak.f64_all });
}
benchGemm('512×512×512', 'square', 512, 512, 512);
for (const [key, s] of gemmShapes) {
  benchGemm(`${key} (×${s.count})`, 'conv forward: W·col', s.m, s.n, s.k);
}
// The backward shapes of the largest stage: weight gradient (long K) and data gradient (Wᵀ·dy).
const first = [...gemmShapes.values()].find((s) => s.k === 144)!;
benchGemm(`${first.m}×${first.k}×${first.n}`, 'conv weight grad: dy·colᵀ', first.m, first.k, first.n, false, true);
benchGemm(`${first.k}×${first.n}×${first.m}`, 'conv data grad: Wᵀ·dy', first.k, first.n, first.m, true, false);

console.log('GEMM (C = A·B, M×N×K), GFLOP/s and % of the measured peak');
console.log('| shape | role | fp32 | % peak | fp64 | % fp64 peak |');
console.log('|---|---|---|---|---|---|');
for (const g of gemmRows) {
  console.log(`| ${g.shape} | ${g.role} | ${fmt(g.f32)} | ${pct(g.pctF32)} | ${fmt(g.f64)} | ${pct(g.pctF64)} |`);
}

// ---- the engine on NB201 13714, batch 64 ------------------------------------------
const { input, labels } = await (async () => {
  const { readFileSync } = await import('node:fs');
  const x = readFileSync(join(fixture, 'input.bin'));
  const y = readFileSync(join(fixture, 'labels.bin'));
  return {
    input: new Float32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)),
    labels: new Int32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength)),
  };
})();
const macs = net32.macsPerSample;
const P = net32.selectParams('weights_and_biases').reduce((s, p) => s + p.size, 0);
const Pte = net32.selectParams((p) => p.name.includes('weight')).reduce((s, p) => s + p.size, 0);
const F = 2 * macs * N; // one pass of conv + linear arithmetic over the batch

interface EngineRow { what: string; seconds: number; gflop: number }
const rows: EngineRow[] = [];
const reps = quick ? 2 : 5;
await net32.forward(input, { bn: 'eval' }); // warm-up: memory pool, threads
rows.push({ what: 'forward (BN eval)', seconds: await bestOfAsync(reps, () => net32.forward(input, { bn: 'eval' })), gflop: F / 1e9 });
rows.push({ what: 'forward (BN train)', seconds: await bestOfAsync(reps, () => net32.forward(input, { bn: 'train' })), gflop: F / 1e9 });
// Backward: data gradients (one pass, less the stem's) + weight gradients (one pass).
rows.push({ what: 'gradient = forward + backward', seconds: await bestOfAsync(reps, () => net32.gradient(input, labels)), gflop: (3 * F) / 1e9 });
rows.push({
  what: 'decomposed Θ (true class, W+b)',
  seconds: await bestOfAsync(reps, () => net32.jacobian(input, labels, { mode: 'decomposed', output: 'true_class', params: 'weights_and_biases' })),
  gflop: (3 * F + 2 * N * N * P) / 1e9,
});
if (!quick) {
  rows.push({
    what: 'exact Θ (sum of logits, TE-NAS params)',
    seconds: await bestOfAsync(1, () => net32.jacobian(input, labels, { mode: 'exact', output: 'sum', params: (p) => p.name.includes('weight') })),
    gflop: (F + N * 2 * F + 2 * N * N * Pte) / 1e9,
  });
}
net32.dispose();

console.log(`\nNB201 index 13714 (C=16, N=5, ${(macs / 1e6).toFixed(2)} M MACs/sample), batch ${N}, float32, ${threads} threads`);
console.log('FLOPs: forward 2·MACs·N; backward 2× that; Θ adds 2·N²·P (P = selected parameters); exact Θ: one backward per row.');
console.log('| computation | time (s) | GFLOP | GFLOP/s | % fp32 peak | time / FLOP-bound time |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const rate = r.gflop / r.seconds;
  const bound = r.gflop / peak.f32_all;
  console.log(`| ${r.what} | ${r.seconds.toFixed(3)} | ${fmt(r.gflop)} | ${fmt(rate)} | ${pct(rate / peak.f32_all)} | ${(r.seconds / bound).toFixed(2)}× |`);
}

// ---- training throughput ---------------------------------------------------------
const { buildArchitecture } = await import('../src/spaces/architecture.js');
const { DARTS_V2, formatGenotype } = await import('../src/spaces/darts/genotype.js');
const { loadDefaultCifar10 } = await import('../src/io/defaultData.js');
const { Trainer } = await import('../src/train/trainer.js');
const { Sgd } = await import('../src/train/sgd.js');
const cifar = await loadDefaultCifar10();

interface TrainRow { network: string; macsPerSample: number; params: number; what: string; seconds: number; imagesPerSecond: number; gflops: number; pctPeak: number }
const trainRows: TrainRow[] = [];
const trainNets = [
  { network: 'NB201 13714 (C=16, N=5)', spec: graph },
  { network: 'DARTS-V2 proxy (C=16, 5 cells)', spec: buildArchitecture('darts', formatGenotype(DARTS_V2), { channels: 16, cells: 5 }) },
];
for (const { network, spec: trainSpec } of trainNets) {
  const epochImages = quick ? 2 * N : 10 * N;
  const trainer = new Trainer({
    spec: trainSpec,
    name: network,
    train: { set: cifar, rows: Int32Array.from({ length: epochImages }, (_, i) => i * Math.floor(cifar.count / epochImages)) },
    preset: 'search',
    options: { epochs: 2, batchSize: N, dropPath: network.startsWith('DARTS') ? 0.2 : 0 },
  });
  const net = trainer.network;
  const perStep = 3 * 2 * net.macsPerSample * N; // forward + backward (twice the forward)
  const sgd = new Sgd(net.params.filter((p) => p.trainable).map((p) => ({ offset: p.offset, size: p.size })), net.totalParamSize, net.dtype, {
    momentum: 0.9,
    weightDecay: 3e-4,
    clip: 5,
  });
  const step = async () => {
    const r = await net.gradient(input, labels, { updateRunning: true });
    const params = net.getParams();
    sgd.step(params, r.grad, 1e-4);
    net.setParams(params);
  };
  await step(); // warm-up
  const stepSeconds = await bestOfAsync(reps, step);
  const nativeSeconds = await bestOfAsync(reps, () => net.gradient(input, labels, { updateRunning: true }));
  // A whole epoch through the Trainer (the first epoch warms up; the second is timed).
  const result = await trainer.run();
  const epoch = result.history[1];
  const row = (what: string, seconds: number, images: number): TrainRow => {
    const gflops = (perStep * (images / N)) / seconds / 1e9;
    return { network, macsPerSample: net.macsPerSample, params: net.numTrainable, what, seconds, imagesPerSecond: images / seconds, gflops, pctPeak: gflops / peak.f32_all };
  };
  trainRows.push(row('native gradient + BN update (batch 64)', nativeSeconds, N));
  trainRows.push(row('optimiser step: gradient + SGD (batch 64)', stepSeconds, N));
  trainRows.push(row(`Trainer epoch of ${epochImages} images (augmentation, prefetch${network.startsWith('DARTS') ? ', drop-path' : ''})`, epoch.seconds, epochImages));
  trainer.dispose();
}
console.log(`\nTraining throughput, batch ${N}, float32, ${threads} threads (FLOPs per image: forward 2·MACs, backward 2× that)`);
console.log('| network | MACs/image | parameters | measured | time (s) | images/s | GFLOP/s | % fp32 peak |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of trainRows) {
  console.log(`| ${r.network} | ${(r.macsPerSample / 1e6).toFixed(1)} M | ${r.params.toLocaleString('en-US')} | ${r.what} | ${r.seconds.toFixed(3)} | ${fmt(r.imagesPerSecond)} | ${fmt(r.gflops)} | ${pct(r.pctPeak)} |`);
}

if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), threads, peak, gemm: gemmRows, engine: rows, training: trainRows }, null, 2));
  console.log(`\nwrote ${jsonOut}`);
}
