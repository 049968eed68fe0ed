/**
 * Central finite differences of the engine's mean cross-entropy against its
 * analytic gradient (Network.gradient), in float64.
 *
 * The scalar is L(θ, x) = mean_i CE(logits_i, y_i) with fixed seeded labels.
 * The analytic side is gradient(...).grad (laid out like getParams()) and
 * .inputGrad (NCHW). The numeric side perturbs one coordinate by ±h —
 * parameters through setParams, the input directly — and recomputes L in JS
 * from forward() logits (log-sum-exp, computed stably), with the same BN mode
 * and without updating running statistics.
 *
 * Non-differentiable points: every ReLU input and max-pool window of the graph
 * is read back through a probe network (GraphBuilder.probe) and the input is
 * re-drawn until no ReLU input lies within `kinkMargin` of 0 and no max-pool
 * window has its two largest values within `kinkMargin` of each other. A ±h
 * step moves those values by O(h) ≪ kinkMargin, so the loss is smooth on the
 * whole FD stencil and no tolerance has to absorb a kink. (A max-pool window
 * of a ReLU output whose entries are all exactly 0 is not a tie that matters:
 * each entry's pre-activation is negative by ≥ kinkMargin.)
 */
import { Network, type BnMode } from '../../src/engine/network.js';
import type { GraphSpec } from '../../src/engine/graphSpec.js';
import { type GraphBuilder, type KinkSite, Rng } from './singleOpGraph.js';
import { meanCrossEntropy } from '../../src/train/evaluate.js';

/** The library's float64 mean cross-entropy (log-sum-exp with the max subtracted): an independent JS route to the engine's loss. */
export { meanCrossEntropy };

/** n values spread evenly over [-scale, scale] in random order, jittered: pairwise gaps ≥ 1.2·scale/n. */
export function spreadValues(rng: Rng, n: number, scale = 2): Float64Array {
  const perm = rng.permutation(n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * (-1 + (2 * (perm[i] + 0.5 + 0.4 * (rng.uniform() - 0.5))) / n);
  return out;
}

/** The smallest distance to a kink over one site, from the probed tensor [N][C·H·W]. */
function siteMargin(site: KinkSite, values: ArrayLike<number>, n: number): number {
  const [c, h, w] = site.tensor.shape;
  let margin = Infinity;
  if (site.kind === 'relu') {
    for (let i = 0; i < values.length; i++) margin = Math.min(margin, Math.abs(values[i]));
    return margin;
  }
  const { kernel, stride, pads, dilation } = site;
  const ho = Math.floor((h + pads[0] + pads[2] - dilation[0] * (kernel[0] - 1) - 1) / stride[0]) + 1;
  const wo = Math.floor((w + pads[1] + pads[3] - dilation[1] * (kernel[1] - 1) - 1) / stride[1]) + 1;
  for (let s = 0; s < n; s++) {
    for (let ch = 0; ch < c; ch++) {
      const base = s * c * h * w + ch * h * w;
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let first = -Infinity;
          let second = -Infinity;
          for (let ky = 0; ky < kernel[0]; ky++) {
            const y = oy * stride[0] - pads[0] + ky * dilation[0];
            if (y < 0 || y >= h) continue;
            for (let kx = 0; kx < kernel[1]; kx++) {
              const x = ox * stride[1] - pads[1] + kx * dilation[1];
              if (x < 0 || x >= w) continue;
              const v = values[base + y * w + x];
              if (v > first) {
                second = first;
                first = v;
              } else if (v > second) {
                second = v;
              }
            }
          }
          // After a ReLU, a window of exact zeros is clamped: every entry has a
          // zero local gradient on the whole stencil (its pre-activation is
          // itself checked to be ≥ kinkMargin from 0), so the tie is harmless.
          if (site.afterRelu && first === 0) continue;
          if (second > -Infinity) margin = Math.min(margin, first - second);
        }
      }
    }
  }
  return margin;
}

/** The smallest kink margin over all ReLU / max-pool sites for this input. */
export async function kinkMargin(builder: GraphBuilder, input: Float64Array, n: number, bn: BnMode): Promise<number> {
  let margin = Infinity;
  for (const site of builder.kinkSites) {
    const probe = Network.create(builder.probe(site.tensor), { dtype: 'float64', name: `probe ${site.node}` });
    try {
      const values = await probe.forward(input, { bn });
      margin = Math.min(margin, siteMargin(site, values, n));
    } finally {
      probe.dispose();
    }
  }
  return margin;
}

export interface FdOptions {
  bn: BnMode;
  seed: number;
  /** Batch size; default 3 (train-mode BN couples the samples). */
  batch?: number;
  /** Checked entries per parameter tensor and of the input; default 24 each. */
  maxPerTensor?: number;
  /** Relative step: h = step·max(1, |v|); default 1e-6. */
  step?: number;
  /** Minimum distance of ReLU inputs / max-pool top-2 gaps to a kink; default 1e-3. */
  kinkMargin?: number;
}

/** One compared tensor: the analytic and FD values at the checked indices. */
export interface FdTensor {
  /** A parameter name, or `input`. */
  name: string;
  indices: number[];
  analytic: number[];
  fd: number[];
  /** The whole analytic gradient of this tensor. */
  fullAnalytic: Float64Array;
}

export interface FdReport {
  net: Network;
  loss: number;
  input: Float64Array;
  labels: Int32Array;
  tensors: FdTensor[];
  /** Analytic gradient entries of the BN running statistics (must be 0). */
  runningStatGrad: Float64Array;
  /** Kink margin of the chosen input (Infinity without ReLU / max-pool). */
  margin: number;
  /** Inputs redrawn to stay away from kinks. */
  redraws: number;
}

/**
 * Builds the network in float64, draws an input away from kinks and labels,
 * and compares the analytic gradient with central differences on a seeded
 * subset of every trainable parameter tensor and of the input. The caller
 * disposes report.net.
 */
export async function finiteDifferenceCheck(spec: GraphSpec, builder: GraphBuilder, o: FdOptions): Promise<FdReport> {
  const n = o.batch ?? 3;
  const per = o.maxPerTensor ?? 24;
  const rel = o.step ?? 1e-6;
  const wantMargin = o.kinkMargin ?? 1e-3;
  const rng = new Rng(o.seed ^ 0x5eed);
  const [c, h, w] = spec.input.shape;
  const k = spec.output.shape[0];

  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(k);

  let input = spreadValues(rng, n * c * h * w);
  let margin = await kinkMargin(builder, input, n, o.bn);
  let redraws = 0;
  while (margin < wantMargin) {
    if (++redraws > 50) throw new Error(`no input with kink margin ≥ ${wantMargin} after 50 draws (last ${margin})`);
    input = spreadValues(rng, n * c * h * w);
    margin = await kinkMargin(builder, input, n, o.bn);
  }

  const net = Network.create(spec, { dtype: 'float64' });
  const theta0 = Float64Array.from(net.getParams());
  const res = await net.gradient(input, labels, { bn: o.bn, inputGrad: true });
  const grad = Float64Array.from(res.grad);
  const inputGrad = Float64Array.from(res.inputGrad ?? []);
  // gradient() must leave the parameters (running statistics included) alone.
  const after = net.getParams();
  for (let i = 0; i < theta0.length; i++) {
    if (after[i] !== theta0[i]) throw new Error(`gradient() changed parameter entry ${i}: ${theta0[i]} -> ${after[i]}`);
  }
  const lossOf = async (x: Float64Array) => meanCrossEntropy(await net.forward(x, { bn: o.bn }), labels);
  // The JS loss of the unperturbed point must be the engine's loss.
  const base = await lossOf(input);
  if (Math.abs(base - res.loss) > 1e-12 * Math.max(1, Math.abs(res.loss))) {
    throw new Error(`JS mean CE ${base} differs from engine loss ${res.loss}`);
  }

  const tensors: FdTensor[] = [];
  const runningIdx: number[] = [];
  const theta = theta0.slice();
  for (const p of net.params) {
    if (!p.trainable) {
      for (let i = 0; i < p.size; i++) runningIdx.push(p.offset + i);
      continue;
    }
    const indices = rng.subset(p.size, per);
    const analytic: number[] = [];
    const fd: number[] = [];
    for (const i of indices) {
      const j = p.offset + i;
      const v = theta0[j];
      const hh = rel * Math.max(1, Math.abs(v));
      theta[j] = v + hh;
      const plusStep = theta[j];
      net.setParams(theta);
      const lp = await lossOf(input);
      theta[j] = v - hh;
      const minusStep = theta[j];
      net.setParams(theta);
      const lm = await lossOf(input);
      theta[j] = v;
      fd.push((lp - lm) / (plusStep - minusStep));
      analytic.push(grad[j]);
    }
    net.setParams(theta0);
    tensors.push({ name: p.name, indices, analytic, fd, fullAnalytic: grad.slice(p.offset, p.offset + p.size) });
  }

  const indices = rng.subset(input.length, per);
  const analytic: number[] = [];
  const fd: number[] = [];
  const x = input.slice();
  for (const i of indices) {
    const v = input[i];
    const hh = rel * Math.max(1, Math.abs(v));
    x[i] = v + hh;
    const plusStep = x[i];
    const lp = await lossOf(x);
    x[i] = v - hh;
    const minusStep = x[i];
    const lm = await lossOf(x);
    x[i] = v;
    fd.push((lp - lm) / (plusStep - minusStep));
    analytic.push(inputGrad[i]);
  }
  tensors.push({ name: 'input', indices, analytic, fd, fullAnalytic: inputGrad });

  return {
    net,
    loss: res.loss,
    input,
    labels,
    tensors,
    runningStatGrad: Float64Array.from(runningIdx, (j) => grad[j]),
    margin,
    redraws,
  };
}
