/**
 * Every op's backward against central finite differences, in float64, on
 * small seeded shapes (batch 3, C 2–4, H/W 5–7), over the attribute
 * combinations the engine supports; plus a few NB201-like multi-op chains.
 * Conv2d is the full grid kernel {1x1, 3x3, 5x5, 1x3} × stride {1, 2, [2,1]}
 * × pads {0, 1, [1,0,0,1]} × dilation {1, 2} × groups {1, 2, depthwise,
 * depthwise ×2 channel multiplier} × bias {with, without} (504 cases on
 * [4,7,6]; the 72 of 5x5 dilation 2, span 9, get the smallest input holding
 * one window). BN-bearing cases run in all three BN modes.
 *
 * The scalar is the engine's mean cross-entropy (gradient() default objective
 * `mean_loss`) with fixed seeded labels; analytic = result.grad and
 * result.inputGrad; numeric = (L(v+h) − L(v−h)) / 2h with L recomputed in JS
 * from forward() logits (see test/helpers/finiteDifference.ts). Up to 24
 * seeded entries of every trainable parameter tensor and of the input are
 * checked. Inputs are re-drawn until no ReLU input / max-pool top-2 gap is
 * within 1e-3 of a kink, so no tolerance absorbs a non-differentiability.
 *
 * Tolerance |fd − analytic| ≤ ATOL + RTOL·|analytic| with ATOL = 1e-8,
 * RTOL = 1e-6. Justification: L ≈ log K ≤ 7, so each float64 evaluation of L
 * carries a rounding error of a few ulps, ~1e-15 absolute; divided by the
 * 2h = 2e-6 stencil that is ~1e-9 in the difference quotient. The truncation
 * error of the central difference is h²/6·|∂³L| ~ 1e-13 for these O(1)
 * networks. Observed: the largest |fd − analytic| over the whole file is
 * 1.9e-9 (on an entry of 0.16, K = 336 classes), at most 0.15 of the
 * tolerance — printed after the run. ATOL = 1e-8 leaves ~5× headroom for
 * other GEMM kernels / summation orders, and RTOL = 1e-6 covers the relative
 * rounding of large entries.
 * Every compared tensor that is not known to have a zero gradient must have
 * max |fd| ≥ SENSITIVITY = 1e-4, i.e. ≥ 1e4·ATOL, so a sign flip, a missing
 * factor or a dropped term of a checked entry is far outside the tolerance
 * (the "mutation" test below verifies that a 0.1% error fails).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { BnMode } from '../../src/engine/network.js';
import type { Pads4 } from '../../src/engine/graphSpec.js';
import { expectAllClose } from '../helpers/allClose.js';
import { finiteDifferenceCheck, type FdReport } from '../helpers/finiteDifference.js';
import { type ConvOptions, type GraphBuilder, type Tensor, singleOpGraph } from '../helpers/singleOpGraph.js';

const ATOL = 1e-8;
const RTOL = 1e-6;
const SENSITIVITY = 1e-4;

interface OpCase {
  name: string;
  shape: [number, number, number];
  body: (b: GraphBuilder, x: Tensor) => Tensor;
  /** BN modes to run the network in; default ['train']. */
  bnModes?: BnMode[];
  /**
   * Tensors (parameter names or `input`) whose whole analytic gradient must
   * be exactly 0, for the given BN mode (FD is still compared).
   */
  zeroGrad?: (param: string, bn: BnMode) => boolean;
  /**
   * Parameters whose gradient is 0 mathematically but not structurally (a conv
   * bias before train-mode BN, removed by the batch mean): compared with FD
   * like any other, but exempt from the sensitivity floor.
   */
  invariant?: (param: string, bn: BnMode) => boolean;
}

const ALL_BN: BnMode[] = ['train', 'eval', 'identity'];
let worstError = 0;
let worstRatio = 0;
let caseCount = 0;
let worstWhere = '';

async function runCase(c: OpCase, bn: BnMode, seed: number): Promise<FdReport> {
  const { spec, builder } = singleOpGraph(c.shape, seed, c.body);
  const report = await finiteDifferenceCheck(spec, builder, { bn, seed });
  try {
    caseCount++;
    expect(report.runningStatGrad.every((g) => g === 0)).toBe(true);
    for (const t of report.tensors) {
      const what = `${c.name} [bn ${bn}] d/d${t.name} @ ${t.indices.join(',')}`;
      for (let i = 0; i < t.fd.length; i++) {
        const err = Math.abs(t.fd[i] - t.analytic[i]);
        if (err > worstError) worstWhere = `${what} #${t.indices[i]}: fd ${t.fd[i]} analytic ${t.analytic[i]}`;
        worstError = Math.max(worstError, err);
        worstRatio = Math.max(worstRatio, err / (ATOL + RTOL * Math.abs(t.analytic[i])));
      }
      expectAllClose(t.analytic, t.fd, { atol: ATOL, rtol: RTOL }, what);
      if (c.zeroGrad?.(t.name, bn)) {
        expectAllClose(t.fullAnalytic, new Float64Array(t.fullAnalytic.length), { atol: 0 }, `${what} (must be 0)`);
      } else if (!(t.name !== 'input' && c.invariant?.(t.name, bn))) {
        const scale = t.fd.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(scale, `${what}: gradient too small to be a sensitive check`).toBeGreaterThanOrEqual(SENSITIVITY);
      }
    }
  } finally {
    report.net.dispose();
  }
  return report;
}

function defineCases(group: string, cases: OpCase[]): void {
  describe(group, () => {
    const rows = cases.flatMap((c, i) => (c.bnModes ?? ['train']).map((bn) => ({ c, bn, seed: 1000 * (i + 1) + hash(group) })));
    it.each(rows)('$c.name [bn $bn]', async ({ c, bn, seed }) => {
      await runCase(c, bn, seed);
    });
  });
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h % 100000;
}

// ---------------------------------------------------------------- conv2d

const CONV_IN: [number, number, number] = [4, 7, 6];
const STRIDES: [number, number][] = [
  [1, 1],
  [2, 2],
  [2, 1],
];
const PADS: Pads4[] = [
  [0, 0, 0, 0],
  [1, 1, 1, 1],
  [1, 0, 0, 1],
];
const DILATIONS: [number, number][] = [
  [1, 1],
  [2, 2],
];
const GROUPS: { label: string; groups: number; cout: number }[] = [
  { label: 'g1', groups: 1, cout: 3 },
  { label: 'g2', groups: 2, cout: 6 },
  { label: 'depthwise', groups: 4, cout: 4 },
  { label: 'multiplier2', groups: 4, cout: 8 },
];
const KERNELS: [number, number][] = [
  [1, 1],
  [3, 3],
  [5, 5],
  [1, 3],
];

const convCases: OpCase[] = [];
for (const kernel of KERNELS) {
  for (const stride of STRIDES) {
    for (const pads of PADS) {
      for (const dilation of DILATIONS) {
        for (const g of GROUPS) {
          for (const bias of [true, false]) {
            // The only windows that do not fit [7, 6] are 5x5 dilation 2 (span 9):
            // those get the smallest input that holds one window.
            const spanH = dilation[0] * (kernel[0] - 1) + 1;
            const spanW = dilation[1] * (kernel[1] - 1) + 1;
            const shape: [number, number, number] = [
              CONV_IN[0],
              Math.max(CONV_IN[1], spanH - pads[0] - pads[2]),
              Math.max(CONV_IN[2], spanW - pads[1] - pads[3]),
            ];
            const o: ConvOptions = { cout: g.cout, kernel, stride, pads, dilation, groups: g.groups, bias };
            convCases.push({
              name: `conv k${kernel.join('x')} s${stride.join(',')} p${pads.join(',')} d${dilation.join(',')} ${g.label} ${bias ? 'bias' : 'nobias'} in ${shape.join('x')}`,
              shape,
              body: (b, x) => b.conv(x, o),
            });
          }
        }
      }
    }
  }
}
defineCases('conv2d', convCases);

// ---------------------------------------------------------------- batch_norm

const bnCases: OpCase[] = [];
for (const affine of [true, false]) {
  bnCases.push({
    name: `batch_norm ${affine ? 'affine' : 'non-affine'}`,
    shape: [3, 5, 6],
    bnModes: ALL_BN,
    body: (b, x) => b.batchNorm(x, { affine }),
    zeroGrad: (p, bn) => bn === 'identity' && p.startsWith('bn'),
  });
  bnCases.push({
    name: `conv -> batch_norm ${affine ? 'affine' : 'non-affine'}`,
    shape: [2, 6, 5],
    bnModes: ALL_BN,
    body: (b, x) => b.batchNorm(b.conv(x, { cout: 3, kernel: [3, 3], pads: [1, 1, 1, 1] }), { affine }),
    zeroGrad: (p, bn) => bn === 'identity' && p.startsWith('bn'),
    // A per-channel constant before train-mode BN is removed by the batch mean.
    invariant: (p, bn) => bn === 'train' && p === 'conv0.bias',
  });
  bnCases.push({
    name: `batch_norm ${affine ? 'affine' : 'non-affine'} -> conv 1x1 -> gap -> linear`,
    shape: [4, 5, 5],
    bnModes: ALL_BN,
    body: (b, x) => b.linear(b.globalAvgPool(b.conv(b.batchNorm(x, { affine }), { cout: 3, kernel: [1, 1] })), { out: 5 }),
    zeroGrad: (p, bn) => bn === 'identity' && p.startsWith('bn'),
  });
}
defineCases('batch_norm', bnCases);

// ---------------------------------------------------------------- relu, pools, gap, linear

defineCases('relu', [
  { name: 'relu', shape: [3, 6, 5], body: (b, x) => b.relu(x) },
  { name: 'conv -> relu', shape: [2, 5, 6], body: (b, x) => b.relu(b.conv(x, { cout: 3, kernel: [3, 3], pads: [1, 1, 1, 1] })) },
]);

const AVG_POOLS: { label: string; kernel: [number, number]; stride: [number, number]; pads: Pads4 }[] = [
  { label: '3x3 s1 p1', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1] },
  { label: '2x2 s2 p0', kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
  { label: '3x3 s2 p1', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] },
  { label: '3x3 s1 asym p[1,0,0,1]', kernel: [3, 3], stride: [1, 1], pads: [1, 0, 0, 1] },
];
defineCases(
  'avg_pool2d',
  AVG_POOLS.flatMap((p) =>
    [true, false].map(
      (countIncludePad): OpCase => ({
        name: `avg_pool2d ${p.label} count_include_pad=${countIncludePad}`,
        shape: [3, 7, 6],
        body: (b, x) => b.avgPool(x, { kernel: p.kernel, stride: p.stride, pads: p.pads, countIncludePad }),
      }),
    ),
  ),
);

const MAX_POOLS: { label: string; kernel: [number, number]; stride: [number, number]; pads: Pads4; dilation: [number, number] }[] = [
  { label: '3x3 s1 p1', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1] },
  { label: '2x2 s2 p0', kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], dilation: [1, 1] },
  { label: '3x3 s2 p1', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1] },
  { label: '3x3 s1 p1 dilation 2', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [2, 2] },
  { label: '3x3 s2 p1 dilation 2', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [2, 2] },
];
defineCases('max_pool2d', [
  ...MAX_POOLS.map(
    (p): OpCase => ({
      name: `max_pool2d ${p.label}`,
      shape: [3, 7, 6],
      body: (b, x) => b.maxPool(x, { kernel: p.kernel, stride: p.stride, pads: p.pads, dilation: p.dilation }),
    }),
  ),
  {
    name: 'conv -> max_pool2d 3x3 s2 p1',
    shape: [2, 6, 6],
    body: (b, x) => b.maxPool(b.conv(x, { cout: 3, kernel: [3, 3] }), { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] }),
  },
]);

defineCases('global_avg_pool', [
  { name: 'global_avg_pool', shape: [4, 5, 7], body: (b, x) => b.globalAvgPool(x) },
  { name: 'conv -> global_avg_pool', shape: [3, 6, 5], body: (b, x) => b.globalAvgPool(b.conv(x, { cout: 4, kernel: [3, 3] })) },
]);

defineCases(
  'linear',
  [true, false].flatMap((bias): OpCase[] => [
    {
      name: `global_avg_pool -> linear ${bias ? 'bias' : 'nobias'}`,
      shape: [4, 5, 6],
      body: (b, x) => b.linear(b.globalAvgPool(x), { out: 5, bias }),
    },
    {
      name: `flatten -> linear ${bias ? 'bias' : 'nobias'}`,
      shape: [2, 5, 5],
      body: (b, x) => b.linear(b.flatten(x), { out: 7, bias }),
    },
    {
      name: `flatten -> linear -> linear ${bias ? 'bias' : 'nobias'}`,
      shape: [2, 5, 6],
      body: (b, x) => b.linear(b.linear(b.flatten(x), { out: 6, bias }), { out: 4, bias }),
    },
  ]),
);

// ---------------------------------------------------------------- add, concat

const same3x3: ConvOptions = { cout: 3, kernel: [3, 3], pads: [1, 1, 1, 1] };
defineCases('add', [
  { name: 'add(x, relu(x))', shape: [3, 6, 5], body: (b, x) => b.add(x, b.relu(x)) },
  { name: 'add(x, conv(x))', shape: [3, 5, 6], body: (b, x) => b.add(x, b.conv(x, same3x3)) },
  { name: 'add(conv(x), x)', shape: [3, 5, 6], body: (b, x) => b.add(b.conv(x, same3x3), x) },
  { name: 'add(x, x)', shape: [2, 6, 6], body: (b, x) => b.add(x, x) },
  {
    name: 'add(c, c) of c = conv(x)',
    shape: [3, 5, 5],
    body: (b, x) => {
      const c = b.conv(x, same3x3);
      return b.add(c, c);
    },
  },
]);

defineCases('concat', [
  { name: 'concat(x, relu(x))', shape: [2, 6, 5], body: (b, x) => b.concat(x, b.relu(x)) },
  {
    name: 'concat(x[3ch], conv(x)[2ch])',
    shape: [3, 5, 6],
    body: (b, x) => b.concat(x, b.conv(x, { cout: 2, kernel: [3, 3], pads: [1, 1, 1, 1] })),
  },
  {
    name: 'concat(conv(x)[4ch], x[2ch])',
    shape: [2, 5, 6],
    body: (b, x) => b.concat(b.conv(x, { cout: 4, kernel: [1, 1] }), x),
  },
  { name: 'concat(x, x)', shape: [2, 5, 5], body: (b, x) => b.concat(x, x) },
  {
    name: 'concat(x[3ch], conv(x)[1ch], relu(x)[3ch])',
    shape: [3, 5, 6],
    body: (b, x) => b.concat(x, b.conv(x, { cout: 1, kernel: [3, 3], pads: [1, 1, 1, 1] }), b.relu(x)),
  },
  { name: 'concat(x, x, x)', shape: [2, 5, 5], body: (b, x) => b.concat(x, x, x) },
  {
    name: 'concat(conv(x)[2ch], conv(x)[4ch], x[2ch]) -> conv',
    shape: [2, 6, 6],
    body: (b, x) =>
      b.conv(
        b.concat(b.conv(x, { cout: 2, kernel: [3, 3], pads: [1, 1, 1, 1] }), b.conv(x, { cout: 4, kernel: [1, 1] }), x),
        { cout: 3, kernel: [3, 3], stride: [2, 2] },
      ),
  },
]);

// ---------------------------------------------------------------- slice, mul_const, flatten, zeros_like, identity

const SLICES: { label: string; starts: [number, number]; ends: [number, number]; steps: [number, number] }[] = [
  { label: 'H[1:H]', starts: [1, 0], ends: [7, 6], steps: [1, 1] },
  { label: 'W[1:W]', starts: [0, 1], ends: [7, 6], steps: [1, 1] },
  { label: 'H[0:H:2]', starts: [0, 0], ends: [7, 6], steps: [2, 1] },
  { label: 'W[1:W:2]', starts: [0, 1], ends: [7, 6], steps: [1, 2] },
  { label: 'H[1:H:2] W[1:W:2]', starts: [1, 1], ends: [7, 6], steps: [2, 2] },
  { label: 'H[1:5] W[2:5]', starts: [1, 2], ends: [5, 5], steps: [1, 1] },
  { label: 'H[1:7:3] W[0:6:2] (ends 100, clamped)', starts: [1, 0], ends: [100, 100], steps: [3, 2] },
];
defineCases(
  'slice',
  SLICES.flatMap((s): OpCase[] => [
    { name: `slice ${s.label}`, shape: [2, 7, 6], body: (b, x) => b.slice(x, s) },
    {
      name: `conv -> slice ${s.label}`,
      shape: [2, 7, 6],
      body: (b, x) => b.slice(b.conv(x, { cout: 3, kernel: [3, 3], pads: [1, 1, 1, 1] }), s),
    },
  ]),
);

defineCases(
  'mul_const',
  [0.5, -2, 0].flatMap((v): OpCase[] => [
    { name: `mul_const ${v}`, shape: [3, 5, 5], body: (b, x) => b.mulConst(x, v), zeroGrad: () => v === 0 },
    {
      name: `conv -> mul_const ${v} -> add(x)`,
      shape: [3, 5, 6],
      body: (b, x) => b.add(b.mulConst(b.conv(x, same3x3), v), x),
      zeroGrad: (p) => v === 0 && p.startsWith('conv'),
    },
  ]),
);

defineCases('flatten', [
  { name: 'flatten', shape: [3, 5, 7], body: (b, x) => b.flatten(x) },
  { name: 'conv s2 -> flatten -> linear', shape: [2, 6, 5], body: (b, x) => b.linear(b.flatten(b.conv(x, { cout: 3, kernel: [3, 3], stride: [2, 2] })), { out: 4 }) },
]);

defineCases('zeros_like', [
  {
    // conv0 feeds only zeros_like: its gradient is exactly 0.
    name: 'add(zeros_like(conv0(x)), conv1(x))',
    shape: [3, 5, 6],
    body: (b, x) => b.add(b.zerosLike(b.conv(x, same3x3)), b.conv(x, same3x3)),
    zeroGrad: (p) => p.startsWith('conv0.'),
  },
  {
    name: 'add(zeros_like(x), x)',
    shape: [2, 5, 5],
    body: (b, x) => b.add(b.zerosLike(x), x),
  },
  {
    name: 'concat(zeros_like(relu(conv0(x))), conv1(x)) -> bn',
    shape: [2, 6, 5],
    bnModes: ALL_BN,
    body: (b, x) =>
      b.batchNorm(b.concat(b.zerosLike(b.relu(b.conv(x, same3x3))), b.conv(x, { cout: 2, kernel: [1, 1] }))),
    zeroGrad: (p, bn) => p.startsWith('conv0.') || (bn === 'identity' && p.startsWith('bn')),
    invariant: (p, bn) => bn === 'train' && p === 'conv3.bias',
  },
]);

defineCases('identity', [
  { name: 'identity', shape: [3, 5, 6], body: (b, x) => b.identity(x) },
  { name: 'add(identity(x), conv(x))', shape: [3, 5, 6], body: (b, x) => b.add(b.identity(x), b.conv(x, same3x3)) },
]);

// ---------------------------------------------------------------- chains (tiny NB201 pieces)

defineCases('chains', [
  {
    name: 'conv -> bn -> relu -> avgpool(cip off) -> conv s2 -> bn -> relu -> gap -> linear',
    shape: [3, 7, 7],
    bnModes: ALL_BN,
    body: (b, x) => {
      let t = b.relu(b.batchNorm(b.conv(x, { cout: 4, kernel: [3, 3], pads: [1, 1, 1, 1], bias: false })));
      t = b.avgPool(t, { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false });
      t = b.relu(b.batchNorm(b.conv(t, { cout: 4, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], bias: false })));
      return b.linear(b.globalAvgPool(t), { out: 5 });
    },
    zeroGrad: (p, bn) => bn === 'identity' && p.startsWith('bn'),
  },
  {
    // An NB201 cell: node1 = rcb3x3(x); node2 = avgpool(x) + rcb1x1(node1);
    // node3 = skip(x) + none(node1) + rcb3x3(node2); then BN, ReLU, GAP, linear.
    name: 'NB201 cell (rcb3x3, avgpool, rcb1x1, skip, none) -> bn -> relu -> gap -> linear',
    shape: [3, 6, 6],
    bnModes: ALL_BN,
    body: (b, x) => {
      const rcb = (t: Tensor, k: number): Tensor =>
        b.batchNorm(b.conv(b.relu(t), { cout: 3, kernel: [k, k], pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], bias: false }));
      const n1 = rcb(x, 3);
      const n2 = b.add(b.avgPool(x, { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false }), rcb(n1, 1));
      const n3 = b.add(b.add(b.identity(x), b.zerosLike(n1)), rcb(n2, 3));
      return b.linear(b.globalAvgPool(b.relu(b.batchNorm(n3))), { out: 4 });
    },
    zeroGrad: (p, bn) => bn === 'identity' && p.startsWith('bn'),
    // bn13 (of rcb3x3(node2)) adds a per-channel constant to node3, which the
    // final train-mode BN removes.
    invariant: (p, bn) => bn === 'train' && p === 'bn13.bias',
  },
  {
    name: 'stem conv s2 -> bn -> relu -> maxpool 3x3 s2 p1 -> concat(t, mul_const(t,-0.5)) -> slice -> flatten -> linear',
    shape: [3, 7, 6],
    bnModes: ALL_BN,
    body: (b, x) => {
      let t = b.relu(b.batchNorm(b.conv(x, { cout: 4, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1] })));
      t = b.maxPool(t, { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] });
      t = b.concat(t, b.mulConst(t, -0.5));
      t = b.slice(t, { starts: [1, 0], ends: [4, 3], steps: [1, 2] });
      return b.linear(b.flatten(t), { out: 6, bias: false });
    },
    zeroGrad: (p, bn) => bn === 'identity' && p.startsWith('bn'),
    invariant: (p, bn) => bn === 'train' && p === 'conv0.bias',
  },
]);

// ---------------------------------------------------------------- the check itself is sensitive

describe('finite-difference check sensitivity', () => {
  it('a 0.1% error or a sign flip of one analytic entry fails the tolerance', async () => {
    const { spec, builder } = singleOpGraph([3, 5, 6], 77, (b, x) => b.relu(b.batchNorm(b.conv(x, same3x3))));
    const report = await finiteDifferenceCheck(spec, builder, { bn: 'train', seed: 77 });
    report.net.dispose();
    for (const t of report.tensors) {
      if (t.name.endsWith('.bias') && t.name.startsWith('conv')) continue; // removed by train-mode BN
      expectAllClose(t.analytic, t.fd, { atol: ATOL, rtol: RTOL }, t.name);
      const i = t.analytic.reduce((best, v, j) => (Math.abs(v) > Math.abs(t.analytic[best]) ? j : best), 0);
      const scaled = [...t.analytic];
      scaled[i] *= 1.001;
      expect(() => expectAllClose(scaled, t.fd, { atol: ATOL, rtol: RTOL }, t.name)).toThrow();
      const flipped = [...t.analytic];
      flipped[i] = -flipped[i];
      expect(() => expectAllClose(flipped, t.fd, { atol: ATOL, rtol: RTOL }, t.name)).toThrow();
    }
  });

  it('a backward of a neighbouring op (wrong attribute or BN mode) fails against FD', async () => {
    // Analytic gradients of one variant against FD of another, with the same
    // seed (same parameters, input and labels): what a backward that ignores
    // count_include_pad, or the batch coupling of train-mode BN, would return.
    const pair = async (
      shape: [number, number, number],
      seed: number,
      fdBody: (b: GraphBuilder, x: Tensor) => Tensor,
      fdBn: BnMode,
      wrongBody: (b: GraphBuilder, x: Tensor) => Tensor,
      wrongBn: BnMode,
    ): Promise<[FdReport, FdReport]> => {
      const a = singleOpGraph(shape, seed, fdBody);
      const b = singleOpGraph(shape, seed, wrongBody);
      const ra = await finiteDifferenceCheck(a.spec, a.builder, { bn: fdBn, seed });
      const rb = await finiteDifferenceCheck(b.spec, b.builder, { bn: wrongBn, seed });
      ra.net.dispose();
      rb.net.dispose();
      expect(Array.from(rb.input)).toEqual(Array.from(ra.input));
      return [ra, rb];
    };
    const pool = (countIncludePad: boolean) => (b: GraphBuilder, x: Tensor) =>
      b.avgPool(x, { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], countIncludePad });
    const [off, on] = await pair([3, 6, 5], 5, pool(false), 'train', pool(true), 'train');
    const input = (r: FdReport) => r.tensors.find((t) => t.name === 'input')!;
    expectAllClose(input(off).analytic, input(off).fd, { atol: ATOL, rtol: RTOL }, 'cip off');
    expect(() => expectAllClose(input(on).analytic, input(off).fd, { atol: ATOL, rtol: RTOL }, 'cip on vs off')).toThrow();

    const bn = (b: GraphBuilder, x: Tensor) => b.linear(b.globalAvgPool(b.batchNorm(b.conv(x, same3x3))), { out: 4 });
    const [train, evalMode] = await pair([3, 5, 5], 6, bn, 'train', bn, 'eval');
    for (let i = 0; i < train.tensors.length; i++) {
      const t = train.tensors[i];
      if (t.name === 'conv0.bias') continue; // 0 in train mode
      expectAllClose(t.analytic, t.fd, { atol: ATOL, rtol: RTOL }, t.name);
      expect(() => expectAllClose(evalMode.tensors[i].analytic, t.fd, { atol: ATOL, rtol: RTOL }, t.name)).toThrow();
    }
  });
});

afterAll(() => {
  console.log(
    `opsFiniteDifference: ${caseCount} cases; worst |fd − analytic| = ${worstError.toExponential(2)}, ` +
      `worst error / tolerance = ${worstRatio.toExponential(2)} (${worstWhere})`,
  );
});
