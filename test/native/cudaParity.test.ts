/**
 * Every CUDA op (native/cuda, exposed as addon.cudaOps) against its CPU twin
 * (addon.cpuOps: the very `_cpu` functions the engine runs) on seeded random
 * inputs: the GEMM in every transposition and tile configuration, ReLU, the
 * element-wise ops, BatchNorm (train/eval/identity, affine or not, both
 * parameter-gradient modes), average/max/global-average pooling, Linear and
 * Conv2d (padding, stride, dilation, groups, 1x1) forward and backward, with
 * B = 2 cotangent copies and the per-sample gradient rows.
 *
 * The reference is the CPU op in float64 on the same input values: inputs are
 * drawn as float32-representable numbers, so the float32 and float64 device
 * runs see exactly the inputs the reference saw. Outputs that backward ops
 * accumulate into start from random values, so `+=` is checked too. Each
 * comparison is |device − ref| ≤ atol + rtol·|ref| per element
 * (expectAllClose), with the tolerances of TOLERANCE below.
 *
 * Runs on a CUDA device, and on the HNAS_CUDA=EMULATE build (the same kernel
 * sources run by the host emulator; see native/cuda/emulator): the test
 * project `cuda-emulated` (vitest.config.ts) runs this file against that
 * build on every machine, CI included. Against an addon with neither the
 * device suite is skipped with the reason. In every build with cpuOps the
 * harness itself also runs with the CPU float32 ops as the "device": this
 * shows the tolerance table is met by a correct float32 implementation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon, type FloatArray, type RawGradRows, type RawKernelOps, type RawShape } from '../../src/native/binding.js';
import { Rng } from '../../src/spaces/rng.js';
import { expectAllClose, type Tolerance } from '../helpers/allClose.js';

const addon = loadAddon();
const info = addon.buildInfo();
const status = addon.cudaStatus();
const cpuOps = addon.cpuOps;
const cudaOps = addon.cudaOps;
const hasDevice = status.status === 'available' && status.deviceCount > 0 && cudaOps !== undefined;
const canRun = cudaOps !== undefined && cpuOps !== undefined && (hasDevice || info.cudaEmulated);
const skipReason = !info.cudaCompiled && !info.cudaEmulated
  ? 'CUDA is not compiled into this addon (HNAS_CUDA=OFF or no nvcc)'
  : `no CUDA device (${status.status}: ${status.message})`;
if (!canRun) {
  console.log(`cudaParity: device parity tests skipped — ${skipReason}. They run on a GPU machine (scripts/gpu-check.sh) and, in the cuda-emulated test project, on the HNAS_CUDA=EMULATE build.`);
}

type DType = 'f32' | 'f64';

/**
 * Tolerances by kind of op, for float32 device results against the float64
 * reference, and for float64 device results.
 *  exact       ReLU and max-pool forward select an input value: no rounding.
 *  elementwise one or two roundings per element (add, scale, a single +=):
 *              a few float32 ulps (ulp(1) = 1.2e-7).
 *  window      sums of up to ~50 terms of magnitude ≤ 2 (pooling windows,
 *              max-pool gradients gathered from overlapping windows, global
 *              average over a plane): 1e-6 absolute and relative.
 *  gemm        sums of K products of values in [-1, 1): float32 accumulation
 *              error grows with K — the CPU GEMM's own test tolerance
 *              (rtol 1e-4, atol 2e-6·K) with K the longest dot product.
 *  reduction   BN: statistics in double, but float32 inputs to dx = γ/σ·(dy −
 *              mean(dy) − x̂·mean(dy·x̂)) cancel; 1e-5 relative to the O(1)
 *              terms.
 * float64 results differ from the reference only in summation order and
 * FMA contraction: 1e-12 (gemm: 1e-12·K), 1e-14 element-wise.
 * The worst error seen, as a fraction of its tolerance, is printed at the end.
 */
const TOLERANCE = {
  exact: { kind: 'exact', f32: { atol: 0, rtol: 0 }, f64: { atol: 0, rtol: 0 } },
  elementwise: { kind: 'elementwise', f32: { atol: 2e-7, rtol: 5e-7 }, f64: { atol: 1e-15, rtol: 1e-14 } },
  window: { kind: 'window', f32: { atol: 1e-6, rtol: 1e-6 }, f64: { atol: 1e-14, rtol: 1e-14 } },
  gemm: (k: number) => ({ kind: 'gemm', f32: { atol: 2e-6 * k, rtol: 1e-4 }, f64: { atol: 1e-12 * k, rtol: 1e-12 } }),
  reduction: { kind: 'reduction', f32: { atol: 1e-5, rtol: 1e-5 }, f64: { atol: 1e-12, rtol: 1e-12 } },
};
type TolPair = { kind: string; f32: Tolerance; f64: Tolerance };

/** Seeded inputs, float32-representable, in [-1, 1). */
class Inputs {
  readonly #rng: Rng;
  constructor(seed: number) {
    this.#rng = new Rng(seed, 7);
  }
  values(n: number, lo = -1, hi = 1): number[] {
    return Array.from({ length: n }, () => Math.fround(this.#rng.uniform(lo, hi)));
  }
}

const make = (dtype: DType, values: number[]): FloatArray => (dtype === 'f32' ? Float32Array.from(values) : Float64Array.from(values));
const zeros = (dtype: DType, n: number): FloatArray => (dtype === 'f32' ? new Float32Array(n) : new Float64Array(n));
const numel = (s: RawShape) => s[0] * s[1] * s[2] * s[3];
const windowOut = (n: number, k: number, s: number, p0: number, p1: number, d = 1) => Math.floor((n + p0 + p1 - d * (k - 1) - 1) / s) + 1;

/** One parity case: `run` calls the op on `ops` in `dtype` and returns the named outputs. */
interface Case {
  name: string;
  tol: TolPair;
  run(ops: RawKernelOps, dtype: DType): Record<string, FloatArray>;
}

const cases: Case[] = [];

// ---- GEMM ---------------------------------------------------------------------------
const gemmSizes: [number, number, number][] = [[1, 1, 1], [7, 33, 19], [64, 130, 257], [16, 300, 144], [130, 70, 9], [33, 129, 0]];
for (const [m, n, k] of gemmSizes) {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const g = new Inputs(m * 1000 + n * 10 + k);
      const a = g.values(m * k), b = g.values(k * n), c = g.values(m * n);
      for (const beta of [0, 0.5]) {
        cases.push({
          name: `gemm ${m}x${n}x${k} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} beta=${beta}`,
          tol: TOLERANCE.gemm(Math.max(k, 1)),
          run(ops, dtype) {
            // beta = 0 must not read C: NaN there must not reach the result.
            const C = make(dtype, beta === 0 ? c.map(() => NaN) : c);
            ops.gemm(ta, tb, m, n, k, 1.5, make(dtype, a), make(dtype, b), beta, C);
            return { C };
          },
        });
      }
    }
  }
}

// ---- ReLU and element-wise ------------------------------------------------------------------
{
  const g = new Inputs(11);
  const shape: RawShape = [3, 4, 5, 5];
  const x = g.values(numel(shape)).map((v, i) => (i % 17 === 0 ? 0 : i % 29 === 0 ? NaN : v));
  const dy = g.values(2 * numel(shape)), dx0 = g.values(2 * numel(shape));
  const a = g.values(1000), b = g.values(1000);
  cases.push({
    name: 'relu forward (zeros and NaN map to 0)',
    tol: TOLERANCE.exact,
    run(ops, dtype) {
      const y = zeros(dtype, x.length);
      ops.reluForward(y, make(dtype, x));
      return { y };
    },
  });
  cases.push({
    name: 'relu backward, 2 copies, accumulating',
    tol: TOLERANCE.elementwise,
    run(ops, dtype) {
      const dx = make(dtype, dx0);
      ops.reluBackward(dx, make(dtype, dy), make(dtype, x), shape, 2);
      return { dx };
    },
  });
  cases.push({
    name: 'add forward',
    tol: TOLERANCE.elementwise,
    run(ops, dtype) {
      const y = zeros(dtype, a.length);
      ops.addForward(y, make(dtype, a), make(dtype, b));
      return { y };
    },
  });
  for (const scale of [1, -0.375]) {
    cases.push({
      name: `scale accumulate (scale ${scale})`,
      tol: TOLERANCE.elementwise,
      run(ops, dtype) {
        const dx = make(dtype, a);
        ops.scaleAccumulate(dx, make(dtype, b), scale);
        return { dx };
      },
    });
  }
  cases.push({
    name: 'mul const forward',
    tol: TOLERANCE.elementwise,
    run(ops, dtype) {
      const y = zeros(dtype, a.length);
      ops.mulConstForward(y, make(dtype, a), 0.2);
      return { y };
    },
  });
}

// ---- BatchNorm ------------------------------------------------------------------------------
for (const shape of [[4, 6, 5, 5], [3, 5, 1, 1], [2, 40, 21, 21]] as RawShape[]) {
  const g = new Inputs(numel(shape));
  const c = shape[0];
  // Channels with an offset and scale, like real activations; one constant channel.
  const x = g.values(numel(shape)).map((v, i) => {
    const ch = Math.floor(i / (numel(shape) / c));
    return ch === 1 ? 0.25 : Math.fround(v * (1 + ch) + 0.5 * ch);
  });
  const gamma = g.values(c, 0.5, 1.5), beta = g.values(c);
  const runMean = g.values(c), runVar = g.values(c, 0.5, 2);
  // The large shape (N·H·W = 17,640: two partial-sum chunks per channel) runs forward only.
  const forwardOnly = numel(shape) > 10_000;
  for (const mode of ['train', 'eval', 'identity'] as const) {
    for (const affine of [true, false]) {
      cases.push({
        name: `batch norm forward ${mode}${affine ? '' : ' non-affine'} [${shape}]`,
        tol: TOLERANCE.reduction,
        run(ops, dtype): Record<string, FloatArray> {
          const y = zeros(dtype, x.length), mean = zeros(dtype, c), rstd = zeros(dtype, c);
          ops.batchNormForward(y, mean, rstd, make(dtype, x), affine ? make(dtype, gamma) : null, affine ? make(dtype, beta) : null, make(dtype, runMean), make(dtype, runVar), shape, mode, 1e-5);
          // identity mode leaves the statistics untouched
          return mode === 'identity' ? { y } : { y, mean, rstd };
        },
      });
    }
    if (forwardOnly) continue;
    // Backward: statistics from the float64 CPU forward, rounded to float32.
    const mean = new Float64Array(c), rstd = new Float64Array(c);
    loadAddon().cpuOps?.batchNormForward(new Float64Array(x.length), mean, rstd, Float64Array.from(x), null, null, Float64Array.from(runMean), Float64Array.from(runVar), shape, mode === 'identity' ? 'train' : mode, 1e-5);
    const sm = Array.from(mean, Math.fround), sr = Array.from(rstd, Math.fround);
    for (const copies of [1, 2]) {
      for (const pmode of ['sum', 'perSample'] as const) {
        const rows = pmode === 'sum' ? copies : copies * shape[1];
        const stride = c + 3; // rows padded: rowStride is honoured
        const dy = g.values(copies * numel(shape)), dx0 = g.values(copies * numel(shape));
        const dg0 = g.values(rows * stride), db0 = g.values(rows * stride);
        cases.push({
          name: `batch norm backward ${mode} ${pmode} copies=${copies} [${shape}]`,
          tol: TOLERANCE.reduction,
          run(ops, dtype) {
            const dx = make(dtype, dx0), dgamma = make(dtype, dg0), dbeta = make(dtype, db0);
            const rowsOf = (data: FloatArray): RawGradRows => ({ data, rowStride: stride });
            ops.batchNormBackward(dx, rowsOf(dgamma), rowsOf(dbeta), make(dtype, dy), make(dtype, x), make(dtype, sm), make(dtype, sr), make(dtype, gamma), shape, mode, copies, pmode);
            return { dx, dgamma, dbeta };
          },
        });
      }
    }
  }
}

// ---- Pooling --------------------------------------------------------------------------------
{
  const pools = [
    { kh: 3, kw: 3, strideH: 1, strideW: 1, padT: 1, padL: 1, padB: 1, padR: 1 },
    { kh: 3, kw: 3, strideH: 1, strideW: 1, padT: 1, padL: 1, padB: 1, padR: 1, countIncludePad: true },
    { kh: 2, kw: 2, strideH: 2, strideW: 2 },
    { kh: 3, kw: 2, strideH: 2, strideW: 3, padT: 1, padL: 0, padB: 0, padR: 1 },
  ];
  const shape: RawShape = [3, 2, 7, 6];
  const g = new Inputs(5);
  const x = g.values(numel(shape));
  for (const [i, p] of pools.entries()) {
    const ho = windowOut(shape[2], p.kh, p.strideH, p.padT ?? 0, p.padB ?? 0), wo = windowOut(shape[3], p.kw, p.strideW, p.padL ?? 0, p.padR ?? 0);
    const outN = shape[0] * shape[1] * ho * wo;
    const dy = g.values(2 * outN), dx0 = g.values(2 * numel(shape));
    cases.push({
      name: `avg pool forward #${i}`,
      tol: TOLERANCE.window,
      run(ops, dtype) {
        const y = zeros(dtype, outN);
        ops.avgPool2dForward(y, make(dtype, x), shape, p);
        return { y };
      },
    });
    cases.push({
      name: `avg pool backward #${i}, 2 copies`,
      tol: TOLERANCE.window,
      run(ops, dtype) {
        const dx = make(dtype, dx0);
        ops.avgPool2dBackward(dx, make(dtype, dy), shape, p, 2);
        return { dx };
      },
    });
  }
  const maxPools = [...pools.slice(0, 1), pools[2], pools[3], { kh: 3, kw: 3, strideH: 2, strideW: 1, padT: 1, padL: 1, padB: 1, padR: 1, dilH: 2, dilW: 2 }];
  for (const [i, p] of maxPools.entries()) {
    const d = (p as { dilH?: number }).dilH ?? 1;
    const ho = windowOut(shape[2], p.kh, p.strideH, p.padT ?? 0, p.padB ?? 0, d), wo = windowOut(shape[3], p.kw, p.strideW, p.padL ?? 0, p.padR ?? 0, d);
    const outN = shape[0] * shape[1] * ho * wo;
    const dy = g.values(2 * outN), dx0 = g.values(2 * numel(shape));
    cases.push({
      name: `max pool forward #${i}`,
      tol: TOLERANCE.exact,
      run(ops, dtype) {
        const y = zeros(dtype, outN);
        ops.maxPool2dForward(y, make(dtype, x), shape, p);
        return { y };
      },
    });
    cases.push({
      name: `max pool backward #${i}, 2 copies`,
      tol: TOLERANCE.window,
      run(ops, dtype) {
        const dx = make(dtype, dx0);
        ops.maxPool2dBackward(dx, make(dtype, dy), make(dtype, x), shape, p, 2);
        return { dx };
      },
    });
  }
  const dyg = g.values(2 * shape[0] * shape[1]), dxg = g.values(2 * numel(shape));
  cases.push({
    name: 'global average pool forward',
    tol: TOLERANCE.window,
    run(ops, dtype) {
      const y = zeros(dtype, shape[0] * shape[1]);
      ops.globalAvgPoolForward(y, make(dtype, x), shape);
      return { y };
    },
  });
  cases.push({
    name: 'global average pool backward, 2 copies',
    tol: TOLERANCE.window,
    run(ops, dtype) {
      const dx = make(dtype, dxg);
      ops.globalAvgPoolBackward(dx, make(dtype, dyg), shape, 2);
      return { dx };
    },
  });
}

// ---- shape ops, drop-path scaling, BN running statistics (the engine's) -----------------------
{
  const g = new Inputs(23);
  const shape: RawShape = [3, 4, 7, 6];
  const x = g.values(numel(shape));
  const dy2 = g.values(2 * numel(shape)), dx2 = g.values(2 * numel(shape));
  cases.push({
    name: 'flatten forward',
    tol: TOLERANCE.exact,
    run(ops, dtype) {
      const y = zeros(dtype, x.length);
      ops.flattenForward(y, make(dtype, x), shape);
      return { y };
    },
  });
  cases.push({
    name: 'flatten backward, 2 copies, accumulating',
    tol: TOLERANCE.elementwise,
    run(ops, dtype) {
      const dx = make(dtype, dx2);
      ops.flattenBackward(dx, make(dtype, dy2), shape, 2);
      return { dx };
    },
  });
  const scale = [0, 1 / 0.7, 1 / 0.7, 0];
  cases.push({
    name: 'sample scale (drop-path), 2 copies',
    tol: TOLERANCE.elementwise,
    run(ops, dtype) {
      const v = make(dtype, dy2);
      ops.sampleScale(v, make(dtype, scale), shape, 2);
      return { v };
    },
  });
  const runMean = g.values(shape[0]), runVar = g.values(shape[0], 0.5, 2);
  cases.push({
    name: 'batch norm running-statistics update (unbiased variance, momentum 0.1)',
    tol: TOLERANCE.reduction,
    run(ops, dtype) {
      const m = make(dtype, runMean), v = make(dtype, runVar);
      ops.batchNormUpdateRunning(m, v, make(dtype, x), shape, 0.1);
      return { m, v };
    },
  });
  for (const slice of [[1, 1, 7, 6, 1, 1], [0, 1, 7, 5, 2, 3]]) {
    const out = shape[0] * shape[1] * Math.ceil((slice[2] - slice[0]) / slice[4]) * Math.ceil((slice[3] - slice[1]) / slice[5]);
    const dys = g.values(2 * out);
    cases.push({
      name: `slice forward [${slice.join(',')}]`,
      tol: TOLERANCE.exact,
      run(ops, dtype) {
        const y = zeros(dtype, out);
        ops.sliceForward(y, make(dtype, x), shape, slice);
        return { y };
      },
    });
    cases.push({
      name: `slice backward [${slice.join(',')}], 2 copies, accumulating`,
      tol: TOLERANCE.elementwise,
      run(ops, dtype) {
        const dx = make(dtype, dx2);
        ops.sliceBackward(dx, make(dtype, dys), shape, slice, 2);
        return { dx };
      },
    });
  }
}

// ---- Linear -----------------------------------------------------------------------------------
{
  const [f, k, n] = [37, 10, 6];
  const g = new Inputs(3);
  const x = g.values(f * n), w = g.values(k * f), bias = g.values(k);
  for (const withBias of [true, false]) {
    cases.push({
      name: `linear forward${withBias ? '' : ' without bias'}`,
      tol: TOLERANCE.gemm(f),
      run(ops, dtype) {
        const y = zeros(dtype, k * n);
        ops.linearForward(y, make(dtype, x), make(dtype, w), withBias ? make(dtype, bias) : null, f, k, n);
        return { y };
      },
    });
  }
  for (const copies of [1, 2]) {
    for (const pmode of ['sum', 'perSample'] as const) {
      const rows = pmode === 'sum' ? copies : copies * n;
      const dy = g.values(k * n * copies), dx0 = g.values(f * n * copies);
      const dw0 = g.values(rows * k * f), db0 = g.values(rows * (k + 1));
      cases.push({
        name: `linear backward ${pmode} copies=${copies}`,
        tol: TOLERANCE.gemm(Math.max(k, n)),
        run(ops, dtype) {
          const dx = make(dtype, dx0), dw = make(dtype, dw0), dbias = make(dtype, db0);
          ops.linearBackward(dx, { data: dw, rowStride: k * f }, { data: dbias, rowStride: k + 1 }, make(dtype, dy), make(dtype, x), make(dtype, w), f, k, n, copies, pmode);
          return { dx, dw, dbias };
        },
      });
    }
  }
}

// ---- Conv2d -----------------------------------------------------------------------------------
{
  const convs: { name: string; shape: RawShape; cout: number; p: Record<string, number> }[] = [
    { name: '3x3 pad 1', shape: [4, 3, 8, 7], cout: 6, p: { kh: 3, kw: 3, padT: 1, padL: 1, padB: 1, padR: 1 } },
    { name: '1x1 (x is the column matrix)', shape: [5, 3, 6, 6], cout: 7, p: {} },
    { name: '3x3 stride 2 pad 1', shape: [3, 2, 9, 8], cout: 4, p: { kh: 3, kw: 3, strideH: 2, strideW: 2, padT: 1, padL: 1, padB: 1, padR: 1 } },
    { name: '3x3 dilation 2 pad 2', shape: [2, 2, 9, 9], cout: 3, p: { kh: 3, kw: 3, dilH: 2, dilW: 2, padT: 2, padL: 2, padB: 2, padR: 2 } },
    { name: '1x3 groups 2, asymmetric pad, stride [2,1]', shape: [4, 3, 7, 6], cout: 6, p: { kh: 1, kw: 3, strideH: 2, padL: 1, padR: 0, groups: 2 } },
    { name: '3x3 depthwise', shape: [4, 2, 6, 5], cout: 4, p: { kh: 3, kw: 3, padT: 1, padL: 1, padB: 1, padR: 1, groups: 4 } },
  ];
  for (const [i, cv] of convs.entries()) {
    const { shape, cout, p } = cv;
    const g = new Inputs(100 + i);
    const groups = p.groups ?? 1;
    const kh = p.kh ?? 1, kw = p.kw ?? 1;
    const wsize = cout * (shape[0] / groups) * kh * kw;
    const ho = windowOut(shape[2], kh, p.strideH ?? 1, p.padT ?? 0, p.padB ?? 0, p.dilH ?? 1);
    const wo = windowOut(shape[3], kw, p.strideW ?? 1, p.padL ?? 0, p.padR ?? 0, p.dilW ?? 1);
    const outN = cout * shape[1] * ho * wo;
    const x = g.values(numel(shape)), w = g.values(wsize), bias = g.values(cout);
    const kdot = (shape[0] / groups) * kh * kw;
    cases.push({
      name: `conv2d forward ${cv.name}`,
      tol: TOLERANCE.gemm(kdot),
      run(ops, dtype) {
        const y = zeros(dtype, outN);
        ops.conv2dForward(y, make(dtype, x), make(dtype, w), make(dtype, bias), shape, cout, p);
        return { y };
      },
    });
    for (const pmode of ['sum', 'perSample'] as const) {
      const copies = 2;
      const rows = pmode === 'sum' ? copies : copies * shape[1];
      const dy = g.values(copies * outN), dx0 = g.values(copies * numel(shape));
      const dw0 = g.values(rows * (wsize + 2)), db0 = g.values(rows * cout);
      cases.push({
        name: `conv2d backward ${cv.name} ${pmode} copies=2`,
        // dx sums cout/groups·kh·kw terms, dW sums N·Ho·Wo (Ho·Wo per sample), dbias likewise.
        tol: TOLERANCE.gemm(Math.max(kdot, (pmode === 'sum' ? shape[1] : 1) * ho * wo)),
        run(ops, dtype) {
          const dx = make(dtype, dx0), dw = make(dtype, dw0), dbias = make(dtype, db0);
          ops.conv2dBackward(dx, { data: dw, rowStride: wsize + 2 }, { data: dbias, rowStride: cout }, make(dtype, dy), make(dtype, x), make(dtype, w), shape, cout, p, copies, pmode);
          return { dx, dw, dbias };
        },
      });
    }
  }
}

// ---- the checks ---------------------------------------------------------------------------------
const references = new Map<string, Record<string, FloatArray>>();
function reference(c: Case): Record<string, FloatArray> {
  let r = references.get(c.name);
  if (!r) {
    r = c.run(cpuOps as RawKernelOps, 'f64');
    references.set(c.name, r);
  }
  return r;
}

// The largest |got − ref| / (atol + rtol·|ref|) seen per backend and dtype
// (printed at the end: the headroom of the tolerance table).
const headroom = new Map<string, { ratio: number; where: string }>();
function record(label: string, dtype: DType, kind: string, what: string, got: FloatArray, ref: FloatArray, tol: Tolerance): void {
  const { atol = 0, rtol = 0 } = tol;
  const key = `${label.split(' ')[0]} ${dtype} ${kind}`;
  const entry = headroom.get(key) ?? { ratio: 0, where: '' };
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i])) continue;
    const bound = atol + rtol * Math.abs(ref[i]);
    const diff = Math.abs(got[i] - ref[i]);
    const ratio = bound > 0 ? diff / bound : diff > 0 || Number.isNaN(got[i]) ? Infinity : 0;
    if (ratio > entry.ratio) {
      entry.ratio = ratio;
      entry.where = what;
    }
  }
  headroom.set(key, entry);
}
afterAll(() => {
  for (const [key, { ratio, where }] of headroom) {
    console.log(`cudaParity: ${key}: worst error ${(100 * ratio).toFixed(1)}% of its tolerance (${where})`);
  }
});

function compare(c: Case, ops: RawKernelOps, dtype: DType, label: string): void {
  const ref = reference(c);
  const got = c.run(ops, dtype);
  expect(Object.keys(got)).toEqual(Object.keys(ref));
  for (const [key, value] of Object.entries(got)) {
    const what = `${label} ${c.name}: ${key} (${dtype})`;
    record(label, dtype, c.tol.kind, what, value, ref[key], c.tol[dtype]);
    expectAllClose(value, ref[key], c.tol[dtype], what);
  }
}

describe.runIf(cpuOps !== undefined)('parity harness: the CPU float32 ops meet the float32 tolerances', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    compare(c, cpuOps as RawKernelOps, 'f32', 'cpu');
  });
});

describe.skipIf(!canRun)(`CUDA ops match their CPU twins (${info.cudaEmulated ? 'host emulator' : 'device'})`, () => {
  const ops = cudaOps as NonNullable<typeof cudaOps>;
  const gemmTiles = ['auto', '128x128', '64x64', '32x128'];

  it.each(cases.filter((c) => !c.name.startsWith('gemm')).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    compare(c, ops, 'f32', 'cuda');
    compare(c, ops, 'f64', 'cuda');
  });

  it.each(gemmTiles)('gemm with the %s tile, every size and transposition', (tile) => {
    try {
      ops.forceGemmTile(tile);
      for (const c of cases.filter((c) => c.name.startsWith('gemm'))) {
        compare(c, ops, 'f32', `cuda tile ${tile}`);
        if (tile === 'auto') compare(c, ops, 'f64', 'cuda');
      }
    } finally {
      ops.forceGemmTile('auto');
    }
  });

  it('is deterministic: the same inputs give the same bits (no atomics)', () => {
    for (const c of cases.filter((c) => /conv2d backward|batch norm backward train|max pool backward/.test(c.name)).slice(0, 6)) {
      const a = c.run(ops, 'f32'), b = c.run(ops, 'f32');
      for (const key of Object.keys(a)) expect(Buffer.from(a[key].buffer).equals(Buffer.from(b[key].buffer)), `${c.name} ${key}`).toBe(true);
    }
  });

  it('rejects bad arguments like the CPU ops (shared validation)', () => {
    expect(() => ops.reluForward(new Float32Array(4), new Float64Array(4))).toThrow(TypeError);
    expect(() => ops.gemm(false, false, 2, 2, 2, 1, new Float32Array(4), new Float32Array(3), 0, new Float32Array(4))).toThrow(RangeError);
    expect(() => ops.forceGemmTile('256x256')).toThrow(/unknown tile/);
  });
});

describe.runIf(!canRun)('CUDA parity', () => {
  it.skip(`skipped: ${skipReason}`, () => {});
});
