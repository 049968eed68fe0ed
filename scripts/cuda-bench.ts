/**
 * `node --import tsx scripts/cuda-bench.ts`: the CUDA GEMM of native/cuda on
 * this machine's first device, in TFLOP/s (2·M·N·K per GEMM, operands
 * resident on the device, fastest of several runs, host clock around a
 * stream sync), fp32 and fp64, on square sizes and on the im2col GEMM shapes
 * of NB201 index 13714 at batch 64. One large GEMM per precision is also
 * checked against the CPU GEMM in float64 (max |err| / max |ref|).
 *
 * Options: --quick (fewer sizes and runs), --json FILE. Exits 1 without a
 * CUDA device (the reason is printed). Used by scripts/gpu-check.sh.
 */
import { writeFileSync } from 'node:fs';
import { loadAddon } from '../src/native/binding.js';
import { buildInfo } from '../src/native/buildInfo.js';
import { cudaAvailability, cudaDevices, cudaUnavailableReason } from '../src/native/device.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

const addon = loadAddon();
const info = buildInfo();
const availability = cudaAvailability();
const reason = cudaUnavailableReason(availability);
if (reason !== undefined || !addon.cudaOps) {
  console.error(`cuda-bench: no CUDA device to benchmark (${reason ?? 'no cudaOps'}${availability.message ? `: ${availability.message}` : ''})`);
  process.exit(1);
}
const ops = addon.cudaOps;
const device = cudaDevices()[0];
console.log(
  `hnas CUDA GEMM — ${device.name} (compute ${device.computeCapability}, ${device.multiprocessors} SMs, ` +
    `${(device.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB), CUDA runtime ${info.cudaRuntimeVersion}, built for ${info.cudaArchitectures.join(', ')}`,
);

interface Row {
  shape: string;
  role: string;
  dtype: 'fp32' | 'fp64';
  tile: string;
  seconds: number;
  tflops: number;
}

const shapes: { m: number; n: number; k: number; role: string }[] = [
  { m: 1024, n: 1024, k: 1024, role: 'square' },
  ...(quick ? [] : [{ m: 2048, n: 2048, k: 2048, role: 'square' }]),
  { m: 4096, n: 4096, k: 4096, role: 'square' },
  // NB201 13714 (C=16, N=5) at batch 64: conv forward W[Cout, Cin·9] · col[Cin·9, N·H·W]
  { m: 16, n: 64 * 32 * 32, k: 16 * 9, role: 'conv 16→16 @32×32 fwd' },
  { m: 32, n: 64 * 16 * 16, k: 32 * 9, role: 'conv 32→32 @16×16 fwd' },
  { m: 64, n: 64 * 8 * 8, k: 64 * 9, role: 'conv 64→64 @8×8 fwd' },
];
const reps = quick ? 3 : 10;
const rows: Row[] = [];
for (const dtype of ['fp32', 'fp64'] as const) {
  for (const s of shapes) {
    const r = ops.benchGemm(dtype === 'fp64', s.m, s.n, s.k, reps);
    rows.push({ shape: `${s.m}×${s.n}×${s.k}`, role: s.role, dtype, tile: r.tile, seconds: r.seconds, tflops: (2 * s.m * s.n * s.k) / r.seconds / 1e12 });
  }
}
console.log('\n| shape | role | dtype | tile | time (ms) | TFLOP/s |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.shape} | ${r.role} | ${r.dtype} | ${r.tile} | ${(r.seconds * 1e3).toFixed(3)} | ${r.tflops.toFixed(2)} |`);

// One large GEMM per precision against the CPU (float64 reference).
const checks: { dtype: string; size: number; relErr: number }[] = [];
{
  const size = quick ? 512 : 1024;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const a = Float64Array.from({ length: size * size }, () => Math.fround(rnd()));
  const b = Float64Array.from({ length: size * size }, () => Math.fround(rnd()));
  const ref = new Float64Array(size * size);
  addon.gemm(false, false, size, size, size, 1, a, b, 0, ref);
  let maxRef = 0;
  for (const v of ref) maxRef = Math.max(maxRef, Math.abs(v));
  for (const dtype of ['fp32', 'fp64']) {
    const c = dtype === 'fp32' ? new Float32Array(size * size) : new Float64Array(size * size);
    const A = dtype === 'fp32' ? Float32Array.from(a) : a;
    const B = dtype === 'fp32' ? Float32Array.from(b) : b;
    ops.gemm(false, false, size, size, size, 1, A, B, 0, c);
    let maxErr = 0;
    for (let i = 0; i < c.length; i++) maxErr = Math.max(maxErr, Math.abs(c[i] - ref[i]));
    checks.push({ dtype, size, relErr: maxErr / maxRef });
    console.log(`check ${size}³ ${dtype}: max|err| / max|ref| = ${(maxErr / maxRef).toExponential(2)}`);
  }
}
const bad = checks.filter((c) => c.relErr > (c.dtype === 'fp32' ? 1e-5 : 1e-12));
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), device, build: info, gemm: rows, checks }, null, 2));
  console.log(`wrote ${jsonOut}`);
}
if (bad.length > 0) {
  console.error(`cuda-bench: the device GEMM disagrees with the CPU: ${JSON.stringify(bad)}`);
  process.exit(1);
}
