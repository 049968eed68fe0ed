/**
 * Small seeded GraphSpecs for per-op gradient checks: `input [C,H,W] -> ops
 * under test -> flatten -> output`. Every parameter value comes from a
 * deterministic PRNG (mulberry32), never Math.random, so a failing case
 * reproduces exactly.
 *
 * GraphBuilder tracks per-sample shapes (the engine's own rules: floor-mode
 * windows, ceil-mode slices) so that linear weights and flatten sizes can be
 * derived, and records every ReLU and max-pool input ("kink sites") so that
 * the finite-difference check can verify that no sample lies within a margin
 * of a non-differentiable point (see test/helpers/finiteDifference.ts).
 */
import type { GraphSpec, NodeSpec, Pads4, ParamKind, ParamSpec } from '../../src/engine/graphSpec.js';

/** mulberry32: a 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return this.#next();
  }
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.#next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.#next() * n));
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = this.#next();
    while (u <= 1e-300) u = this.#next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#next());
  }
  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
  /** k distinct indices of 0..n-1 in ascending order (all of them when k ≥ n). */
  subset(n: number, k: number): number[] {
    if (k >= n) return Array.from({ length: n }, (_, i) => i);
    return this.permutation(n).slice(0, k).sort((a, b) => a - b);
  }
}

/** A tensor of the graph under construction with its per-sample shape [C, H, W]. */
export interface Tensor {
  name: string;
  shape: [number, number, number];
}

export type KinkSite =
  | { kind: 'relu'; node: string; tensor: Tensor }
  | {
      kind: 'max_pool';
      node: string;
      tensor: Tensor;
      kernel: [number, number];
      stride: [number, number];
      pads: Pads4;
      dilation: [number, number];
      /** The pooled tensor is a ReLU output: windows of exact zeros are clamped, not ties. */
      afterRelu: boolean;
    };

/** The engine's output size of a sliding window (floor mode). */
export function windowOut(size: number, k: number, stride: number, padBegin: number, padEnd: number, dil: number): number {
  const span = dil * (k - 1) + 1;
  const out = Math.floor((size + padBegin + padEnd - span) / stride) + 1;
  if (out <= 0) throw new Error(`window of ${k} (dilation ${dil}) does not fit size ${size} with pads ${padBegin}/${padEnd}`);
  return out;
}

export interface ConvOptions {
  cout: number;
  kernel: [number, number];
  stride?: [number, number];
  pads?: Pads4;
  dilation?: [number, number];
  groups?: number;
  bias?: boolean;
}

export interface PoolOptions {
  kernel: [number, number];
  stride?: [number, number];
  pads?: Pads4;
}

export class GraphBuilder {
  readonly rng: Rng;
  readonly input: Tensor;
  readonly params: ParamSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  readonly kinkSites: KinkSite[] = [];
  /** Producer node index of each tensor (-1 for the graph input). */
  readonly #producer = new Map<string, number>();
  readonly #reluOutputs = new Set<string>();
  #count = 0;

  constructor(inputShape: [number, number, number], seed: number) {
    this.rng = new Rng(seed);
    this.input = { name: 'input', shape: [...inputShape] };
    this.#producer.set('input', -1);
  }

  #fresh(prefix: string): string {
    return `${prefix}${this.#count++}`;
  }

  #param(name: string, kind: ParamKind, shape: number[], fill: () => number): string {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(size);
    for (let i = 0; i < size; i++) data[i] = fill();
    this.params.push({ name, kind, shape, data });
    return name;
  }

  #node(node: NodeSpec, shape: [number, number, number]): Tensor {
    this.nodes.push(node);
    this.#producer.set(node.outputs[0], this.nodes.length - 1);
    return { name: node.outputs[0], shape };
  }

  conv(x: Tensor, o: ConvOptions): Tensor {
    const [c, h, w] = x.shape;
    const stride = o.stride ?? [1, 1];
    const pads = o.pads ?? [0, 0, 0, 0];
    const dilation = o.dilation ?? [1, 1];
    const groups = o.groups ?? 1;
    if (c % groups !== 0 || o.cout % groups !== 0) throw new Error(`conv: groups ${groups} do not divide ${c}/${o.cout}`);
    const name = this.#fresh('conv');
    const [kh, kw] = o.kernel;
    const fanIn = (c / groups) * kh * kw;
    const scale = 1 / Math.sqrt(fanIn);
    const weight = this.#param(`${name}.weight`, 'conv_weight', [o.cout, c / groups, kh, kw], () => scale * this.rng.normal());
    const bias = o.bias === false ? undefined : this.#param(`${name}.bias`, 'conv_bias', [o.cout], () => 0.5 * this.rng.normal());
    const out: [number, number, number] = [
      o.cout,
      windowOut(h, kh, stride[0], pads[0], pads[2], dilation[0]),
      windowOut(w, kw, stride[1], pads[1], pads[3], dilation[1]),
    ];
    return this.#node(
      { op: 'conv2d', name, inputs: [x.name], outputs: [`${name}.out`], weight, bias, stride, pads, dilation, groups },
      out,
    );
  }

  /** BatchNorm2d; `affine: false` omits γ and β. Running variance is random and positive. */
  batchNorm(x: Tensor, o: { affine?: boolean; eps?: number; momentum?: number } = {}): Tensor {
    const c = x.shape[0];
    const name = this.#fresh('bn');
    const affine = o.affine ?? true;
    const weight = affine ? this.#param(`${name}.weight`, 'bn_weight', [c], () => this.rng.range(0.5, 1.5)) : undefined;
    const bias = affine ? this.#param(`${name}.bias`, 'bn_bias', [c], () => 0.5 * this.rng.normal()) : undefined;
    const runningMean = this.#param(`${name}.running_mean`, 'bn_running_mean', [c], () => 0.3 * this.rng.normal());
    const runningVar = this.#param(`${name}.running_var`, 'bn_running_var', [c], () => this.rng.range(0.5, 2));
    return this.#node(
      {
        op: 'batch_norm',
        name,
        inputs: [x.name],
        outputs: [`${name}.out`],
        weight,
        bias,
        runningMean,
        runningVar,
        eps: o.eps ?? 1e-5,
        momentum: o.momentum ?? 0.1,
      },
      [...x.shape],
    );
  }

  relu(x: Tensor): Tensor {
    const name = this.#fresh('relu');
    this.kinkSites.push({ kind: 'relu', node: name, tensor: x });
    this.#reluOutputs.add(`${name}.out`);
    return this.#node({ op: 'relu', name, inputs: [x.name], outputs: [`${name}.out`] }, [...x.shape]);
  }

  avgPool(x: Tensor, o: PoolOptions & { countIncludePad: boolean }): Tensor {
    const [c, h, w] = x.shape;
    const stride = o.stride ?? o.kernel;
    const pads = o.pads ?? [0, 0, 0, 0];
    const name = this.#fresh('avgpool');
    return this.#node(
      {
        op: 'avg_pool2d',
        name,
        inputs: [x.name],
        outputs: [`${name}.out`],
        kernel: o.kernel,
        stride,
        pads,
        countIncludePad: o.countIncludePad,
      },
      [c, windowOut(h, o.kernel[0], stride[0], pads[0], pads[2], 1), windowOut(w, o.kernel[1], stride[1], pads[1], pads[3], 1)],
    );
  }

  maxPool(x: Tensor, o: PoolOptions & { dilation?: [number, number] }): Tensor {
    const [c, h, w] = x.shape;
    const stride = o.stride ?? o.kernel;
    const pads = o.pads ?? [0, 0, 0, 0];
    const dilation = o.dilation ?? [1, 1];
    const name = this.#fresh('maxpool');
    this.kinkSites.push({
      kind: 'max_pool',
      node: name,
      tensor: x,
      kernel: o.kernel,
      stride,
      pads,
      dilation,
      afterRelu: this.#reluOutputs.has(x.name),
    });
    return this.#node(
      { op: 'max_pool2d', name, inputs: [x.name], outputs: [`${name}.out`], kernel: o.kernel, stride, pads, dilation },
      [
        c,
        windowOut(h, o.kernel[0], stride[0], pads[0], pads[2], dilation[0]),
        windowOut(w, o.kernel[1], stride[1], pads[1], pads[3], dilation[1]),
      ],
    );
  }

  globalAvgPool(x: Tensor): Tensor {
    const name = this.#fresh('gap');
    return this.#node({ op: 'global_avg_pool', name, inputs: [x.name], outputs: [`${name}.out`] }, [x.shape[0], 1, 1]);
  }

  /** y = x·Wᵀ + b; x must already be [F] (H = W = 1). */
  linear(x: Tensor, o: { out: number; bias?: boolean }): Tensor {
    const [f, h, w] = x.shape;
    if (h !== 1 || w !== 1) throw new Error(`linear: input ${x.name} is not flat`);
    const name = this.#fresh('linear');
    const scale = 1 / Math.sqrt(f);
    const weight = this.#param(`${name}.weight`, 'linear_weight', [o.out, f], () => scale * this.rng.normal());
    const bias = o.bias === false ? undefined : this.#param(`${name}.bias`, 'linear_bias', [o.out], () => 0.5 * this.rng.normal());
    return this.#node({ op: 'linear', name, inputs: [x.name], outputs: [`${name}.out`], weight, bias }, [o.out, 1, 1]);
  }

  add(a: Tensor, b: Tensor): Tensor {
    const name = this.#fresh('add');
    return this.#node({ op: 'add', name, inputs: [a.name, b.name], outputs: [`${name}.out`] }, [...a.shape]);
  }

  concat(...xs: Tensor[]): Tensor {
    const name = this.#fresh('concat');
    const c = xs.reduce((s, x) => s + x.shape[0], 0);
    return this.#node(
      { op: 'concat', name, axis: 1, inputs: xs.map((x) => x.name), outputs: [`${name}.out`] },
      [c, xs[0].shape[1], xs[0].shape[2]],
    );
  }

  slice(x: Tensor, o: { starts: [number, number]; ends: [number, number]; steps?: [number, number] }): Tensor {
    const [c, h, w] = x.shape;
    const steps = o.steps ?? [1, 1];
    const ends: [number, number] = [Math.min(o.ends[0], h), Math.min(o.ends[1], w)];
    const name = this.#fresh('slice');
    return this.#node(
      { op: 'slice', name, inputs: [x.name], outputs: [`${name}.out`], starts: o.starts, ends, steps },
      [c, Math.ceil((ends[0] - o.starts[0]) / steps[0]), Math.ceil((ends[1] - o.starts[1]) / steps[1])],
    );
  }

  mulConst(x: Tensor, value: number): Tensor {
    const name = this.#fresh('mul');
    return this.#node({ op: 'mul_const', name, inputs: [x.name], outputs: [`${name}.out`], value }, [...x.shape]);
  }

  flatten(x: Tensor): Tensor {
    const name = this.#fresh('flatten');
    const [c, h, w] = x.shape;
    return this.#node({ op: 'flatten', name, inputs: [x.name], outputs: [`${name}.out`] }, [c * h * w, 1, 1]);
  }

  zerosLike(x: Tensor): Tensor {
    const name = this.#fresh('zeros');
    return this.#node({ op: 'zeros_like', name, inputs: [x.name], outputs: [`${name}.out`] }, [...x.shape]);
  }

  identity(x: Tensor): Tensor {
    const name = this.#fresh('identity');
    return this.#node({ op: 'identity', name, inputs: [x.name], outputs: [`${name}.out`] }, [...x.shape]);
  }

  /** The GraphSpec whose output is `out` (flattened first unless it is already [K]). */
  build(out: Tensor): GraphSpec {
    const o = out.shape[1] === 1 && out.shape[2] === 1 ? out : this.flatten(out);
    return this.#spec(this.nodes.length, o);
  }

  /**
   * A spec that outputs flatten(t) for tensor `t` of the graph built so far,
   * with the same parameters: forward() of it reads an intermediate tensor
   * ([N][C·H·W], feature index c·H·W + h·W + w). Used for kink margins.
   */
  probe(t: Tensor): GraphSpec {
    const upTo = (this.#producer.get(t.name) ?? -2) + 1;
    if (upTo < 0) throw new Error(`probe: unknown tensor ${t.name}`);
    const nodes = this.nodes.slice(0, upTo);
    const [c, h, w] = t.shape;
    nodes.push({ op: 'flatten', name: '__probe', inputs: [t.name], outputs: ['__probe.out'] });
    return this.#specOf(nodes, { name: '__probe.out', shape: [c * h * w] });
  }

  #spec(upTo: number, out: Tensor): GraphSpec {
    return this.#specOf(this.nodes.slice(0, upTo), { name: out.name, shape: [out.shape[0]] });
  }

  #specOf(nodes: NodeSpec[], output: { name: string; shape: number[] }): GraphSpec {
    return {
      input: { name: this.input.name, shape: [...this.input.shape] },
      output,
      params: this.params.map((p) => ({ ...p, shape: [...p.shape], data: p.data.slice() })),
      nodes: nodes.map((n) => ({ ...n })),
    };
  }
}

/**
 * input [C,H,W] -> `body` (the op(s) under test) -> flatten -> output, with
 * parameters drawn from `seed`.
 */
export function singleOpGraph(
  inputShape: [number, number, number],
  seed: number,
  body: (b: GraphBuilder, x: Tensor) => Tensor,
): { spec: GraphSpec; builder: GraphBuilder } {
  const builder = new GraphBuilder(inputShape, seed);
  const out = body(builder, builder.input);
  return { spec: builder.build(out), builder };
}
