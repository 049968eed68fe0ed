/**
 * Builds a GraphSpec op by op, naming tensors and creating (and
 * initialising) parameters as it goes. The search-space builders (NB201,
 * DARTS) use it; the result is what the native engine and the ONNX exporter
 * take.
 */
import type { GraphSpec, NodeSpec, ParamKind, ParamSpec, Pads4 } from '../engine/graphSpec.js';
import { initParam, type InitScheme } from './init.js';
import type { Rng } from './rng.js';

type NodeFields<T extends NodeSpec> = Omit<T, 'name' | 'inputs' | 'outputs' | 'op'>;

export class GraphBuilder {
  readonly params: ParamSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  readonly #shapes = new Map<string, number[]>();
  #counter = 0;
  readonly inputName: string;

  constructor(
    inputShape: number[],
    readonly rng: Rng,
    readonly scheme: InitScheme = 'pytorch',
    inputName = 'input',
  ) {
    this.inputName = inputName;
    this.#shapes.set(inputName, [...inputShape]);
  }

  /** Per-sample shape of a tensor built so far. */
  shape(tensor: string): number[] {
    const s = this.#shapes.get(tensor);
    if (!s) throw new Error(`GraphBuilder: unknown tensor "${tensor}"`);
    return s;
  }

  param(name: string, kind: ParamKind, shape: number[], weightShape?: number[]): string {
    this.params.push({ name, kind, shape, data: initParam(kind, shape, this.rng, this.scheme, weightShape ?? shape) });
    return name;
  }

  #add<T extends NodeSpec>(op: T['op'], scope: string, inputs: string[], fields: NodeFields<T>, outShape: number[]): string {
    const out = `${scope}/${op}_${this.#counter++}`;
    this.nodes.push({ op, name: out, inputs, outputs: [out], ...fields } as unknown as NodeSpec);
    this.#shapes.set(out, outShape);
    return out;
  }

  conv(scope: string, x: string, cout: number, k: number, o: { stride?: number; pad?: number; dilation?: number; groups?: number; bias?: boolean } = {}): string {
    const [cin, h, w] = this.shape(x);
    const stride = o.stride ?? 1, pad = o.pad ?? 0, dil = o.dilation ?? 1, groups = o.groups ?? 1;
    const wShape = [cout, cin / groups, k, k];
    const weight = this.param(`${scope}.weight`, 'conv_weight', wShape);
    const bias = o.bias ? this.param(`${scope}.bias`, 'conv_bias', [cout], wShape) : undefined;
    const span = dil * (k - 1) + 1;
    const ho = Math.floor((h + 2 * pad - span) / stride) + 1;
    const wo = Math.floor((w + 2 * pad - span) / stride) + 1;
    const pads: Pads4 = [pad, pad, pad, pad];
    return this.#add('conv2d', scope, [x], { weight, bias, stride: [stride, stride], pads, dilation: [dil, dil], groups }, [cout, ho, wo]);
  }

  batchNorm(scope: string, x: string, o: { affine?: boolean; eps?: number; momentum?: number } = {}): string {
    const c = this.shape(x)[0];
    const affine = o.affine ?? true;
    const weight = affine ? this.param(`${scope}.weight`, 'bn_weight', [c]) : undefined;
    const bias = affine ? this.param(`${scope}.bias`, 'bn_bias', [c]) : undefined;
    const runningMean = this.param(`${scope}.running_mean`, 'bn_running_mean', [c]);
    const runningVar = this.param(`${scope}.running_var`, 'bn_running_var', [c]);
    return this.#add('batch_norm', scope, [x], { weight, bias, runningMean, runningVar, eps: o.eps ?? 1e-5, momentum: o.momentum ?? 0.1 }, this.shape(x));
  }

  relu(scope: string, x: string): string {
    return this.#add('relu', scope, [x], {}, this.shape(x));
  }

  avgPool(scope: string, x: string, k: number, stride: number, pad: number, countIncludePad: boolean): string {
    const [c, h, w] = this.shape(x);
    const out = [c, Math.floor((h + 2 * pad - k) / stride) + 1, Math.floor((w + 2 * pad - k) / stride) + 1];
    return this.#add('avg_pool2d', scope, [x], { kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad], countIncludePad }, out);
  }

  maxPool(scope: string, x: string, k: number, stride: number, pad: number): string {
    const [c, h, w] = this.shape(x);
    const out = [c, Math.floor((h + 2 * pad - k) / stride) + 1, Math.floor((w + 2 * pad - k) / stride) + 1];
    return this.#add('max_pool2d', scope, [x], { kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad], dilation: [1, 1] }, out);
  }

  globalAvgPool(scope: string, x: string): string {
    return this.#add('global_avg_pool', scope, [x], {}, [this.shape(x)[0]]);
  }

  flatten(scope: string, x: string): string {
    return this.#add('flatten', scope, [x], {}, [this.shape(x).reduce((a, b) => a * b, 1)]);
  }

  linear(scope: string, x: string, out: number, bias = true): string {
    const f = this.shape(x)[0];
    const wShape = [out, f];
    const weight = this.param(`${scope}.weight`, 'linear_weight', wShape);
    const b = bias ? this.param(`${scope}.bias`, 'linear_bias', [out], wShape) : undefined;
    return this.#add('linear', scope, [x], { weight, bias: b }, [out]);
  }

  add(scope: string, a: string, b: string): string {
    return this.#add('add', scope, [a, b], {}, this.shape(a));
  }

  /** Σ of several tensors as a left-leaning chain Add(Add(a, b), c), as PyTorch's sum() exports. */
  sum(scope: string, xs: string[]): string {
    let acc = xs[0];
    for (let i = 1; i < xs.length; i++) acc = this.add(scope, acc, xs[i]);
    return acc;
  }

  /** Concatenation along channels (rank-4) or features (rank-2). */
  concat(scope: string, xs: string[]): string {
    const [, ...spatial] = this.shape(xs[0]);
    const c = xs.reduce((s, x) => s + this.shape(x)[0], 0);
    return this.#add('concat', scope, xs, { axis: 1 }, [c, ...spatial]);
  }

  slice(scope: string, x: string, starts: [number, number], ends: [number, number], steps: [number, number] = [1, 1]): string {
    const [c, h, w] = this.shape(x);
    const eh = Math.min(ends[0], h), ew = Math.min(ends[1], w);
    const out = [c, Math.ceil((eh - starts[0]) / steps[0]), Math.ceil((ew - starts[1]) / steps[1])];
    return this.#add('slice', scope, [x], { starts, ends: [eh, ew], steps }, out);
  }

  mulConst(scope: string, x: string, value: number): string {
    return this.#add('mul_const', scope, [x], { value }, this.shape(x));
  }

  zerosLike(scope: string, x: string): string {
    return this.#add('zeros_like', scope, [x], {}, this.shape(x));
  }

  identity(scope: string, x: string): string {
    return this.#add('identity', scope, [x], {}, this.shape(x));
  }

  /** The finished graph; `output` is the logits tensor. */
  build(output: string): GraphSpec {
    return {
      input: { name: this.inputName, shape: this.shape(this.inputName) },
      output: { name: output, shape: this.shape(output) },
      params: this.params,
      nodes: this.nodes,
    };
  }
}
